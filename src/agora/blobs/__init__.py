"""Agora blobs."""
