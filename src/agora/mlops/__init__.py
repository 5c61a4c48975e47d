"""Agora mlops."""
