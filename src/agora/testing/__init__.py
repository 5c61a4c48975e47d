"""Agora testing."""
