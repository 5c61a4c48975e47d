"""Stages 5 and 6: seller diversity, fraud risk, sponsored slots.

Diversity is a greedy pass: each position takes the best remaining item that
does not make a run of more than ``max_run`` items from one seller; when only
one seller's items remain, they cannot be placed and are dropped (the rule is
hard). Fraud risk comes through the :class:`~agora.ranking.base.FraudScorer`
interface; :class:`RuleFraudScorer` is the rule-based one.

Example:
    >>> diversify(["a", "b", "c", "d", "e"], ["s1", "s1", "s1", "s1", "s2"], max_run=3)
    [0, 1, 2, 4, 3]
    >>> inject_sponsored(["o1", "o2", "o3", "o4", "o5"], ["ad"], slots=[2], n=4)
    [('o1', False), ('ad', True), ('o2', False), ('o3', False)]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from agora.ranking.catalog import CatalogSnapshot


def diversify(
    ids: Sequence[str], sellers: Sequence[str], *, max_run: int, n: int | None = None
) -> list[int]:
    """Indexes of ``ids`` (already best-first) reordered so no seller runs past ``max_run``."""
    if max_run < 1:
        raise ValueError("max_run must be >= 1")
    remaining = list(range(len(ids)))
    out: list[int] = []
    want = len(ids) if n is None else min(n, len(ids))
    while remaining and len(out) < want:
        run_seller = sellers[out[-1]] if out else None
        run = 0
        for j in reversed(out):
            if sellers[j] != run_seller:
                break
            run += 1
        pick = next(
            (k for k, i in enumerate(remaining) if run < max_run or sellers[i] != run_seller),
            None,
        )
        if pick is None:
            break  # only the blocked seller is left
        out.append(remaining.pop(pick))
    return out


def inject_sponsored(
    organic: Sequence[str], sponsored: Sequence[str], *, slots: Sequence[int], n: int
) -> list[tuple[str, bool]]:
    """Top ``n`` with sponsored ids at the 1-based ``slots`` (in order), organic elsewhere."""
    ads = iter(sponsored)
    organic_iter = iter(organic)
    wanted = {s for s in slots if 1 <= s <= n}
    out: list[tuple[str, bool]] = []
    position = 1
    while len(out) < n:
        if position in wanted:
            ad = next(ads, None)
            if ad is not None:
                out.append((ad, True))
                position += 1
                continue
        item = next(organic_iter, None)
        if item is None:
            break
        out.append((item, False))
        position += 1
    return out


class RuleFraudScorer:
    """Rule-based fraud risk in [0, 1] per catalog row (a trained model can replace it).

    Rules: an unverified seller with low trust, a price far below the category
    median (a classic bait listing), and a brand-new listing from an unverified
    seller each add risk.
    """

    model = "fraud-rules@1"

    def __init__(self, snap: CatalogSnapshot) -> None:
        self.snap = snap
        self._median: dict[str, float] = {}
        for cat in set(snap.categories.tolist()):
            prices = snap.price[(snap.categories == cat) & np.isfinite(snap.price)]
            self._median[cat] = float(np.median(prices)) if len(prices) else float("nan")

    def risk(self, rows: np.ndarray) -> np.ndarray:
        snap = self.snap
        unverified = ~snap.verified[rows]
        risk = np.where(unverified & (snap.trust[rows] < 0.3), 0.5, 0.0)
        median = np.array([self._median.get(c, np.nan) for c in snap.categories[rows]])
        price = snap.price[rows]
        with np.errstate(invalid="ignore"):
            bait = (price > 0) & (median > 0) & (price < 0.2 * median)
        risk += np.where(bait, 0.35, 0.0)
        risk += np.where(unverified & (snap.age_days[rows] < 1.0), 0.15, 0.0)
        return np.clip(risk, 0.0, 1.0)


class CatalogSponsoredSource:
    """Sponsored candidates: assets with ``attributes.sponsored_bid`` > 0, best bid first."""

    def __init__(self, snap: CatalogSnapshot) -> None:
        self.snap = snap
        order = np.argsort(-snap.sponsored_bid, kind="stable")
        self._by_bid = order[snap.sponsored_bid[order] > 0]

    def sponsored(
        self, admit: Callable[[np.ndarray], np.ndarray], exclude: set[str], k: int
    ) -> list[str]:
        out: list[str] = []
        ok = admit(self._by_bid) if len(self._by_bid) else np.zeros(0, dtype=bool)
        for row in self._by_bid[ok]:
            if self.snap.ids[row] not in exclude:
                out.append(self.snap.ids[row])
                if len(out) >= k:
                    break
        return out
