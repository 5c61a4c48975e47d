"""Agora api."""
