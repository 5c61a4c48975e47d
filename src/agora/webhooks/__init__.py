"""Agora webhooks."""
