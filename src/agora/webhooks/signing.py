"""Webhook signatures (the Stripe scheme).

Every delivery carries a header::

    Agora-Signature: t=1714550400,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff...d8bd

where ``v1`` is the hex HMAC-SHA256, keyed by the subscription's secret, of
``f"{t}.{raw_body}"``. Signing the timestamp with the body lets a receiver
reject replays: ``verify`` refuses a signature older (or newer) than
``tolerance_s`` (5 minutes by default). Several ``v1=`` entries may appear
(during a secret rotation); one valid entry is enough. Receivers must verify
against the raw request bytes, before any JSON re-serialisation.

Example:
    >>> header = sign("whsec_test", 1714550400, b'{"id": "e1"}')
    >>> header.startswith("t=1714550400,v1=")
    True
    >>> verify("whsec_test", header, b'{"id": "e1"}', now=1714550410)
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Agora-Signature"
EVENT_HEADER = "Agora-Event"
DELIVERY_HEADER = "Agora-Delivery"
DEFAULT_TOLERANCE_S = 300


class InvalidSignature(ValueError):
    """The signature header is missing, malformed, stale, or does not match."""


def _digest(secret: str, timestamp: int, body: bytes | str) -> str:
    raw = body.encode() if isinstance(body, str) else body
    signed = str(timestamp).encode() + b"." + raw
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes | str) -> str:
    """The ``Agora-Signature`` header value for ``body`` sent at ``timestamp`` (Unix s)."""
    return f"t={int(timestamp)},v1={_digest(secret, int(timestamp), body)}"


def verify(
    secret: str,
    header: str | None,
    body: bytes | str,
    *,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> None:
    """Raise ``InvalidSignature`` unless ``header`` signs ``body`` with ``secret``
    within ``tolerance_s`` seconds of ``now`` (default: the current time)."""
    if not header:
        raise InvalidSignature(f"missing {SIGNATURE_HEADER} header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError as exc:
                raise InvalidSignature(f"malformed timestamp {value!r}") from exc
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise InvalidSignature("signature header needs t=<timestamp> and v1=<hex digest>")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise InvalidSignature(
            f"timestamp {timestamp} is outside the {tolerance_s:g} s tolerance (replay?)"
        )
    expected = _digest(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise InvalidSignature("no v1 signature matches the body and secret")
