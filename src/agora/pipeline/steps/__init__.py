"""Agora pipeline/steps."""
