"""Agora bus."""
