"""Agora uploads."""
