"""eKYC building blocks: the vault, the liveness challenge's measures, the score, the
in-memory multipart parser."""

from __future__ import annotations

import numpy as np
import pytest

from agora.api.memory_form import parse_memory_form
from agora.errors import InvalidInput, MalformedRequest
from agora.identity.liveness import (
    challenge_liveness,
    challenge_scores,
    eye_aspect_ratio,
    frame_signals,
)
from agora.identity.service import match_score
from agora.identity.vault import Vault, VaultError

KEY = "k" * 40


def test_vault_round_trips_binds_purpose_and_refuses_short_keys() -> None:
    vault = Vault(KEY)
    box = vault.encrypt(b"\x00embedding", purpose="a")
    assert b"embedding" not in box and len(box) == 12 + 10 + 16
    assert vault.decrypt(box, purpose="a") == b"\x00embedding"
    assert vault.encrypt(b"x", purpose="a") != vault.encrypt(b"x", purpose="a")  # fresh nonce
    with pytest.raises(VaultError):
        vault.decrypt(box, purpose="b")
    with pytest.raises(VaultError):
        Vault("z" * 40).decrypt(box, purpose="a")
    assert vault.keyed_hash(b"v") == Vault(KEY).keyed_hash(b"v") != Vault("z" * 40).keyed_hash(b"v")
    with pytest.raises(ValueError, match="32 characters"):
        Vault("short")


def _landmarks(ear: float, yaw: float) -> np.ndarray:
    """68 points with two eyes of the given aspect ratio and a nose at the given yaw."""
    pts = np.zeros((68, 2))
    for start, cx in ((36, 100.0), (42, 160.0)):
        h = ear * 30.0  # eye width 30: EAR = (2h) / (2 * 30)
        pts[start : start + 6] = [
            (cx - 15, 100), (cx - 5, 100 - h / 2), (cx + 5, 100 - h / 2),
            (cx + 15, 100), (cx + 5, 100 + h / 2), (cx - 5, 100 + h / 2),
        ]  # fmt: skip
    pts[30] = (130.0 + yaw * 60.0, 130.0)
    return pts


def test_challenge_measures_tell_a_still_from_a_blink_and_a_turn() -> None:
    assert eye_aspect_ratio(_landmarks(0.3, 0)[36:42]) == pytest.approx(0.3)
    ear, yaw = frame_signals(_landmarks(0.28, 0.2))
    assert ear == pytest.approx(0.28) and yaw == pytest.approx(0.2)
    still = [frame_signals(_landmarks(0.3, 0.01 * (i % 2))) for i in range(6)]
    scores = challenge_scores([e for e, _ in still], [y for _, y in still])
    assert challenge_liveness(scores, "blink_and_turn") == 0.0
    blink = [0.3, 0.31, 0.29, 0.1, 0.3, 0.3]
    turn = [0.0, 0.1, 0.25, 0.3, 0.1, 0.0]
    scores = challenge_scores(blink, turn)
    assert scores["blink"] == 1.0 and scores["turn"] == 1.0
    assert challenge_liveness(scores, "blink_and_turn") == 1.0
    only_blink = challenge_scores(blink, [0.0] * 6)
    assert challenge_liveness(only_blink, "blink") == 1.0
    assert challenge_liveness(only_blink, "blink_and_turn") == 0.0


def test_score_is_monotone_and_half_at_the_threshold() -> None:
    scores = [match_score(d, 0.55, 0.05) for d in (0.2, 0.5, 0.55, 0.6, 0.9)]
    assert scores == sorted(scores, reverse=True) and scores[2] == pytest.approx(0.5)


def test_memory_form_parses_binary_parts_without_spooling() -> None:
    payload = bytes(range(256)) * 8000  # 2 MB: Starlette would spool it to disk
    body = (
        b'--xyz\r\nContent-Disposition: form-data; name="selfie"; filename="s.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n" + payload + b"\r\n"
        b'--xyz\r\nContent-Disposition: form-data; name="frames"\r\n\r\nf1\r\n'
        b'--xyz\r\nContent-Disposition: form-data; name="frames"\r\n\r\nf2\r\n--xyz--\r\n'
    )
    form = parse_memory_form(body, "multipart/form-data; boundary=xyz")
    assert form["selfie"] == [payload] and form["frames"] == [b"f1", b"f2"]
    with pytest.raises(InvalidInput):
        parse_memory_form(body, "application/json")
    with pytest.raises(MalformedRequest):
        parse_memory_form(b"--xyz\r\nbroken", "multipart/form-data; boundary=abc")
