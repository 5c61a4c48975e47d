"""The quality and risk scores, signal by signal, with the reason for each.

Every signal reads one pipeline step's recorded result (or the seller's record,
or the anomaly model) and gives a value in [0, 1] and a sentence. A step that
did not run (disabled, not installed, failed) gives an *absent* signal: it does
not contribute, and the breakdown says so, so a score is never computed from
guesses (seed 001's "trust score audit": every adjustment is a line).

* quality = the weighted mean of the present signals (higher is better);
* risk = ``1 - prod(1 - weight x signal)`` over the present signals (a noisy-OR:
  one strong reason is enough, weak ones add up, the result stays in [0, 1]).

Example:
    >>> q = quality_score({"integrity": {"ok": True, "checked": 2, "corrupt": 0}}, [], {})
    >>> q["score"], q["breakdown"][0]["reason"]
    (1.0, 'all 2 files decode')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Results = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Signal:
    """One line of a breakdown: ``value`` None when the signal is absent."""

    name: str
    value: float | None
    reason: str

    def line(self, weight: float, contribution: float | None) -> dict[str, Any]:
        return {
            "signal": self.name,
            "value": None if self.value is None else round(self.value, 4),
            "weight": weight,
            "contribution": None if contribution is None else round(contribution, 4),
            "reason": self.reason,
        }


def _absent(name: str, step: str) -> Signal:
    return Signal(name, None, f"absent: the {step} step has no result for this asset")


# -- quality signals -------------------------------------------------------------


def _q_integrity(r: Results, images: Sequence[Mapping[str, Any]]) -> Signal:
    out = r.get("integrity")
    if out is None or "checked" not in out:
        return _absent("integrity", "integrity")
    checked, corrupt = int(out.get("checked") or 0), int(out.get("corrupt") or 0)
    if checked == 0:
        return Signal("integrity", 0.0, "no files to check")
    if corrupt == 0:
        return Signal("integrity", 1.0, f"all {checked} files decode")
    return Signal("integrity", 1 - corrupt / checked, f"{corrupt} of {checked} files corrupt")


def _q_completeness(r: Results, images: Sequence[Mapping[str, Any]]) -> Signal:
    out = r.get("completeness")
    if out is None or "score" not in out:
        return _absent("completeness", "completeness")
    missing = ", ".join(out.get("missing") or []) or "nothing"
    return Signal("completeness", float(out["score"]), f"metadata missing: {missing}")


def _q_images(r: Results, images: Sequence[Mapping[str, Any]]) -> Signal:
    measured = [m for m in images if "sharpness" in m]
    if not measured:
        return Signal("images", None, "absent: no image could be measured")
    value = sum(0.5 * m["resolution"] + 0.5 * m["sharpness"] for m in measured) / len(measured)
    worst = min(measured, key=lambda m: m["resolution"] + m["sharpness"])
    return Signal(
        "images",
        value,
        f"{len(measured)} images; weakest {worst['width']}x{worst['height']}, "
        f"sharpness {worst['sharpness']:.2f}",
    )


def _q_models3d(r: Results, images: Sequence[Mapping[str, Any]]) -> Signal:
    out = r.get("models3d")
    if out is None or "verdict" not in out:
        return _absent("models3d", "models3d")
    verdict = str(out["verdict"])
    codes = ", ".join(sorted({str(d.get("code")) for d in out.get("defects") or []})) or "none"
    value = {"ok": 1.0, "warn": 0.6, "fail": 0.0}.get(verdict, 0.5)
    return Signal("models3d", value, f"3D verdict {verdict}; defects: {codes}")


def _duplicate_of_other(out: Mapping[str, Any]) -> tuple[float, str]:
    """How strongly the duplicates step says this copies another seller's work."""
    if out.get("own_version_of"):
        return 0.0, f"a new version of the seller's own asset {out['own_version_of']}"
    if not out.get("of_other_seller"):
        return 0.0, "no duplicate of another seller's asset"
    exact = [e for e in out.get("exact") or [] if isinstance(e, Mapping)]
    near = [n for n in out.get("near") or [] if isinstance(n, Mapping)]
    if exact:
        return 1.0, f"exact copy of another seller's asset {exact[0].get('asset_id')}"
    best = max(near, key=lambda n: float(n.get("similarity") or 0.0), default=None)
    if best is None:
        return (0.9 if out.get("held") else 0.6), "duplicate of another seller's asset"
    sim = float(best.get("similarity") or 0.0)
    value = 1.0 if best.get("verified") else max(sim, 0.9 if out.get("held") else 0.0)
    how = "verified" if best.get("verified") else f"similarity {sim:.2f}"
    return value, f"near-duplicate ({best.get('kind')}, {how}) of {best.get('asset_id')}"


def _q_duplicates(r: Results, images: Sequence[Mapping[str, Any]]) -> Signal:
    out = r.get("duplicates")
    if out is None:
        return _absent("duplicates", "duplicates")
    value, reason = _duplicate_of_other(out)
    return Signal("duplicates", 1.0 - value, reason)


QUALITY: dict[str, Callable[[Results, Sequence[Mapping[str, Any]]], Signal]] = {
    "integrity": _q_integrity,
    "completeness": _q_completeness,
    "images": _q_images,
    "models3d": _q_models3d,
    "duplicates": _q_duplicates,
}


def quality_score(
    results: Results, images: Sequence[Mapping[str, Any]], weights: Mapping[str, float]
) -> dict[str, Any]:
    """``{score, breakdown, absent}``; score None when no signal is present."""
    signals = [fn(results, images) for fn in QUALITY.values()]
    lines, total, mass = [], 0.0, 0.0
    for s in signals:
        w = float(weights.get(s.name, 0.0)) if weights else 1.0
        if s.value is None:
            lines.append(s.line(w, None))
            continue
        total += w * s.value
        mass += w
        lines.append(s.line(w, w * s.value))
    score = round(total / mass, 4) if mass > 0 else None
    return {
        "score": score,
        "breakdown": lines,
        "absent": [s.name for s in signals if s.value is None],
    }


# -- risk signals ----------------------------------------------------------------


@dataclass(frozen=True)
class SellerContext:
    """The seller's trust (``agora.ranking.trust``) and their earlier assets' fate."""

    trust: float
    trust_lines: list[str]
    banned: bool
    earlier: int  # the seller's other assets
    earlier_banned: int
    earlier_flagged: int


def _r_scan(r: Results) -> Signal:
    out = r.get("scan")
    if out is None or "verdict" not in out:
        return _absent("scan", "scan")
    verdict = str(out["verdict"])
    sigs = sorted({str(d.get("signature")) for d in out.get("detections") or []})
    listed = ", ".join(sigs[:3])
    if verdict == "infected":
        return Signal("scan", 1.0, f"malware: {listed}")
    if verdict in ("refused", "suspicious"):
        what = "archive refused" if verdict == "refused" else f"suspicious code: {listed}"
        return Signal("scan", 0.8, what)
    if verdict == "unscanned":
        return Signal("scan", 0.3, f"not fully scanned: {', '.join(out.get('absent') or [])}")
    if sigs:  # clean verdict with low-severity findings below the hold level
        return Signal("scan", min(0.45, 0.15 * len(sigs)), f"low-severity findings: {listed}")
    return Signal("scan", 0.0, "clean")


def _r_duplicates(r: Results) -> Signal:
    out = r.get("duplicates")
    if out is None:
        return _absent("duplicates", "duplicates")
    value, reason = _duplicate_of_other(out)
    return Signal("duplicates", value, reason)


def _r_moderation(r: Results) -> Signal:
    out = r.get("moderation")
    if out is None or out.get("safety_score") is None:
        return _absent("moderation", "moderation")
    if out.get("decision") == "block":
        return Signal("moderation", 1.0, "moderation blocked the listing")
    score = float(out["safety_score"])
    return Signal("moderation", 1.0 - score, f"SafetyScore {score:.2f} ({out.get('decision')})")


def _r_integrity(r: Results) -> Signal:
    out = r.get("integrity")
    if out is None or "checked" not in out:
        return _absent("integrity", "integrity")
    checked, corrupt = int(out.get("checked") or 0), int(out.get("corrupt") or 0)
    if corrupt == 0:
        return Signal("integrity", 0.0, "every file decodes")
    return Signal("integrity", corrupt / max(checked, 1), f"{corrupt} of {checked} files corrupt")


def _r_models3d(r: Results) -> Signal:
    out = r.get("models3d")
    if out is None or "verdict" not in out:
        return _absent("models3d", "models3d")
    verdict = str(out["verdict"])
    value = {"ok": 0.0, "warn": 0.3, "fail": 1.0}.get(verdict, 0.5)
    codes = ", ".join(sorted({str(d.get("code")) for d in out.get("defects") or []})) or "none"
    return Signal("models3d", value, f"3D verdict {verdict}; defects: {codes}")


def seller_signals(seller: SellerContext | None) -> list[Signal]:
    """Trust below the neutral 0.5 and a history of banned or held assets."""
    if seller is None:
        return [
            Signal("seller_trust", None, "absent: the seller is unknown to the catalog"),
            Signal("seller_history", None, "absent: the seller is unknown to the catalog"),
        ]
    if seller.banned:
        trust = Signal("seller_trust", 1.0, "the seller is banned")
    else:
        value = max(0.0, (0.5 - seller.trust) / 0.5)
        lines = "; ".join(seller.trust_lines)
        trust = Signal("seller_trust", value, f"trust {seller.trust:.2f}: {lines}")
    bad = seller.earlier_banned + 0.5 * seller.earlier_flagged
    # Laplace-smoothed share: one banned asset of a new seller is not certainty.
    history = Signal(
        "seller_history",
        bad / (seller.earlier + 2),
        f"{seller.earlier_banned} banned and {seller.earlier_flagged} held of "
        f"{seller.earlier} earlier assets",
    )
    return [trust, history]


def risk_score(
    results: Results,
    seller: SellerContext | None,
    anomaly: Signal,
    weights: Mapping[str, float],
) -> dict[str, Any]:
    """``{score, breakdown (largest contribution first), absent}``."""
    signals = [
        _r_scan(results),
        _r_duplicates(results),
        _r_moderation(results),
        _r_integrity(results),
        _r_models3d(results),
        *seller_signals(seller),
        anomaly,
    ]
    keep = 1.0
    lines = []
    for s in signals:
        w = float(weights.get(s.name, 0.0))
        if s.value is None:
            lines.append(s.line(w, None))
            continue
        contribution = w * min(1.0, max(0.0, s.value))
        keep *= 1.0 - contribution
        lines.append(s.line(w, contribution))
    # Largest contribution first; absent signals last.
    lines.sort(key=lambda line: 1.0 if line["contribution"] is None else -line["contribution"])
    return {
        "score": round(1.0 - keep, 4),
        "breakdown": lines,
        "absent": [s.name for s in signals if s.value is None],
    }
