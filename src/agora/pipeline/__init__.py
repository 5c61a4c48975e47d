"""Agora pipeline."""
