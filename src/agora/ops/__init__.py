"""Agora ops."""
