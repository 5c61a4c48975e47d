"""Agora governance."""
