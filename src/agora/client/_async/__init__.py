"""The asynchronous client: the source of truth. ``agora.client._sync`` is
generated from this package by ``scripts/gen-sync-client`` (unasync): edit
here, regenerate, commit both (a test checks they match)."""
