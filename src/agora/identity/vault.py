"""Keyed hashing and encryption of eKYC data (seed 001's privacy rule).

From the operator's secret (``ekyc.key``) HKDF-SHA256 derives two independent
keys: one for HMAC-SHA256 (the embedding's keyed hash: lets a later match of
the same face embedding be recognised without storing the embedding in
clear, and is useless to anyone without the key) and one for AES-256-GCM
(the encrypted embedding and, when the operator keeps them, the encrypted
original photos). Every ciphertext is ``nonce (12 bytes) || ciphertext+tag``
with a fresh random nonce and the record's purpose as associated data, so a
ciphertext moved to another purpose fails to decrypt.

Example:
    >>> vault = Vault("x" * 32)
    >>> box = vault.encrypt(b"embedding", purpose="embedding")
    >>> vault.decrypt(box, purpose="embedding")
    b'embedding'
    >>> len(vault.keyed_hash(b"embedding"))
    64
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from agora.errors import AgoraError

MIN_KEY_CHARS = 32
NONCE_BYTES = 12


class VaultError(AgoraError):
    """A ciphertext does not decrypt (wrong key, tampered, or moved to another purpose)."""

    status = 500
    title = "Encrypted eKYC data does not decrypt"


def _derive(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


class Vault:
    """HMAC and AES-GCM under keys derived from one operator secret."""

    def __init__(self, secret: str) -> None:
        if len(secret) < MIN_KEY_CHARS:
            raise ValueError(f"the eKYC key needs at least {MIN_KEY_CHARS} characters")
        raw = secret.encode()
        self._mac_key = _derive(raw, b"agora.ekyc.hmac")
        self._aead = AESGCM(_derive(raw, b"agora.ekyc.aes-gcm"))
        # Which key encrypted a record, without revealing it (for key rotation).
        self.key_id = hashlib.sha256(self._mac_key).hexdigest()[:16]

    def keyed_hash(self, data: bytes) -> str:
        """HMAC-SHA256 of ``data`` under the derived MAC key, hex."""
        return hmac.new(self._mac_key, data, hashlib.sha256).hexdigest()

    def encrypt(self, data: bytes, *, purpose: str) -> bytes:
        """``nonce || AES-GCM(data)`` bound to ``purpose``."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data, purpose.encode())

    def decrypt(self, box: bytes, *, purpose: str) -> bytes:
        """The plaintext of ``encrypt(..., purpose=purpose)``; ``VaultError`` otherwise."""
        try:
            return self._aead.decrypt(box[:NONCE_BYTES], box[NONCE_BYTES:], purpose.encode())
        except (InvalidTag, ValueError) as exc:
            raise VaultError("eKYC ciphertext does not decrypt with this key") from exc
