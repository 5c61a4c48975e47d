"""Agora api/routers."""
