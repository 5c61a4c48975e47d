"""Stripe-style webhook signatures: sign, verify, tolerance, tampering."""

from __future__ import annotations

import hashlib
import hmac
import random

import pytest

from agora.webhooks.dispatch import backoff_delay
from agora.webhooks.signing import InvalidSignature, sign, verify

SECRET = "whsec_unit_test_secret"
BODY = b'{"id":"e1","type":"asset.processed","data":{"asset_id":"a1"}}'
TS = 1_714_550_400


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{TS}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, TS, BODY) == f"t={TS},v1={expected}"
    assert sign(SECRET, TS, BODY.decode()) == sign(SECRET, TS, BODY)


def test_verify_accepts_a_fresh_valid_signature() -> None:
    verify(SECRET, sign(SECRET, TS, BODY), BODY, now=TS + 10)


@pytest.mark.parametrize(
    ("header", "body", "secret", "message"),
    [
        (None, BODY, SECRET, "missing"),
        ("garbage", BODY, SECRET, "needs t="),
        (f"t=abc,v1={'0' * 64}", BODY, SECRET, "malformed timestamp"),
        (sign(SECRET, TS, BODY), BODY + b" ", SECRET, "no v1 signature matches"),
        (sign(SECRET, TS, BODY), BODY, "whsec_other", "no v1 signature matches"),
        (sign(SECRET, TS - 301, BODY), BODY, SECRET, "tolerance"),
        (sign(SECRET, TS + 301, BODY), BODY, SECRET, "tolerance"),
    ],
)
def test_verify_rejects(header, body, secret, message) -> None:
    with pytest.raises(InvalidSignature, match=message):
        verify(secret, header, body, now=TS)


def test_verify_accepts_any_matching_v1_during_rotation() -> None:
    good = sign(SECRET, TS, BODY).split("v1=")[1]
    header = f"t={TS},v1={'f' * 64},v1={good}"
    verify(SECRET, header, BODY, now=TS)


def test_tolerance_is_configurable() -> None:
    header = sign(SECRET, TS - 1000, BODY)
    verify(SECRET, header, BODY, now=TS, tolerance_s=2000)
    with pytest.raises(InvalidSignature):
        verify(SECRET, header, BODY, now=TS, tolerance_s=10)


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    rng = random.Random(7)
    for attempts in range(1, 12):
        ceiling = min(60.0, 1.0 * 2 ** (attempts - 1))
        delay = backoff_delay(attempts, 1.0, 60.0, rng)
        assert ceiling / 2 <= delay <= ceiling
    delays = {round(backoff_delay(5, 1.0, 60.0, rng), 6) for _ in range(20)}
    assert len(delays) > 1  # jittered, so retries from one outage spread out
