"""The canary router's per-user choice and its comparison groups (no registry reads)."""

from __future__ import annotations

from typing import Any

from agora.mlops.canary import CanaryRouter
from agora.mlops.registry import Deployment


def _dep(share: float | None, challenger: str | None = "2") -> Deployment:
    return Deployment("reco-ease", "1", challenger, share, None, 1)


def _router() -> CanaryRouter:
    registry: Any = None  # choose/compared take the deployment row; no registry read
    return CanaryRouter(registry, default_share=0.05)


def test_comparison_groups_are_the_challengers_share_and_an_equal_champion_slice() -> None:
    router, dep = _router(), _dep(0.1)
    users = [f"u{k}" for k in range(5000)]
    compared = [u for u in users if router.compared(dep, u)]
    challenger = [u for u in users if router.serves_challenger(dep, u)]
    assert set(challenger) <= set(compared)
    champion = len(compared) - len(challenger)
    assert 400 <= len(challenger) <= 600 and 400 <= champion <= 600  # ~10% each
    everyone = _dep(0.6)
    assert all(router.compared(everyone, u) for u in users[:200])  # 2 x share > 1


def test_no_canary_no_user_or_the_default_share() -> None:
    router = _router()
    assert not router.compared(_dep(0.1, challenger=None), "u1")
    assert not router.compared(None, "u1")
    assert not router.compared(_dep(0.1), None)
    default = [u for u in (f"u{k}" for k in range(4000)) if router.compared(_dep(None), u)]
    assert 280 <= len(default) <= 520  # 2 x the router's default 5%
