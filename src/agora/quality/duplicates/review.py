"""A held duplicate as a moderation queue item, with the original linked.

The moderation queue's ``sync`` reads the recorded ``duplicates`` results that
held their asset and queues each once (by job). The item's reasons name the
original asset, its seller and how the copy was made, so the moderator sees
both sides; approving releases the upload, rejecting bans it.

Example:
    >>> out = {"held": True, "original": "a1", "exact": [], "near": [{"asset_id": "a1",
    ...        "seller_id": "s1", "kind": "flip", "transform": "flip_h", "similarity": 0.97}]}
    >>> queue_fields("a2", "s2", out, "duplicates@1.0")["reasons"][0]["detail"]
    'copy of asset a1 of seller s1 (flip_h, similarity 0.97)'
"""

from __future__ import annotations

from typing import Any

RISK = 0.8  # a copy of someone else's work is a serious, but reviewable, claim


def queue_fields(
    asset_id: str, seller_id: str | None, output: dict[str, Any], model: str
) -> dict[str, Any]:
    """The queue item's columns for a held ``duplicates`` result."""
    reasons = []
    for m in output.get("exact") or []:
        if m.get("seller_id") != seller_id:
            detail = f"same file as asset {m['asset_id']} of seller {m['seller_id']}"
            reasons.append({"source": "duplicate", "detail": detail, "severity": "review",
                            "score": 1.0, "original": m["asset_id"]})  # fmt: skip
    for m in output.get("near") or []:
        if m.get("seller_id") != seller_id:
            sim = m.get("similarity")
            how = m.get("transform") or m.get("kind")
            extra = f", similarity {sim:.2f}" if sim is not None else ""
            detail = f"copy of asset {m['asset_id']} of seller {m['seller_id']} ({how}{extra})"
            reasons.append({"source": "duplicate", "detail": detail, "severity": "review",
                            "score": float(sim or 1.0), "original": m["asset_id"]})  # fmt: skip
    return {
        "asset_id": asset_id,
        "seller_id": seller_id,
        "kind": "review",
        "safety_score": None,
        "risk": RISK,
        "recommended_action": "review",
        "language": None,
        "reasons": reasons,
        # Scores are numbers (the queue's schema); the original is in each reason.
        "scores": {"duplicate": max((float(r["score"]) for r in reasons), default=1.0)},
        "models": [model],
    }
