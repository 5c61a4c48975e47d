"""Agora storage."""
