"""API keys, scopes and rate limits."""

from agora.security.keys import ApiKeyStore, Principal

__all__ = ["ApiKeyStore", "Principal"]
