"""Agora cli."""
