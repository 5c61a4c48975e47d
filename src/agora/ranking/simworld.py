"""A SIMULATED marketplace for training and benchmarking the ranking pipeline.

Built on ``agora.demo.simulator`` (users with hidden preferences): a catalog
snapshot of the simulator's assets, an embedded online store filled from a
history of simulated sessions (asset CTRs, user top categories, user-asset
affinities), then impressions and clicks of later sessions hydrated by the
pipeline's own ``hydrate`` and labelled by ``label_impressions``. Nothing here
was observed from real people; the benchmarks say so.

Example:
    >>> world = SimWorld.build(n_assets=60, n_users=20, seed=1, root="/tmp/w")  # doctest: +SKIP
    >>> x, y_click, y_buy, groups = world.training_set(world.sessions(200))  # doctest: +SKIP
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agora.demo.simulator import DEFAULT_END, SessionSimulator, SimAsset
from agora.features.base import AFFINITY_ENTITY, AFFINITY_FEATURE, affinity_key
from agora.features.definitions import standard_registry
from agora.features.embedded import EmbeddedOnlineStore
from agora.ranking.catalog import CatalogSnapshot
from agora.ranking.hydration import hydrate
from agora.ranking.labels import label_impressions

CATEGORIES = ["3d-models", "textures", "audio", "scripts", "sprites", "fonts", "shaders", "ui"]
HALF_LIFE_S = 7 * 24 * 3600.0


@dataclass
class SimWorld:
    """Simulator + catalog snapshot + online store over the same simulated assets."""

    sim: SessionSimulator
    snap: CatalogSnapshot
    store: EmbeddedOnlineStore
    now: float

    @classmethod
    def build(
        cls, *, n_assets: int, n_users: int, seed: int, root: str | Path, history: int = 3000
    ) -> SimWorld:
        rng = random.Random(seed)
        assets = [
            SimAsset(f"a{i}", rng.choice(CATEGORIES), round(rng.uniform(0.5, 8.0), 2))
            for i in range(n_assets)
        ]
        users = [f"u{j}" for j in range(n_users)]
        sim = SessionSimulator(assets, users, seed=seed, end=DEFAULT_END)
        past = sim.sessions(history)
        events = [e for s in past for e in s]
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for e in events:
            counts[e["asset_id"]][e["type"]] += 1
        records = [
            {"id": a.asset_id, "seller_id": f"s{rng.randrange(max(2, n_assets // 8))}",
             "category": a.category, "status": "active", "price": a.price,
             "created_at": DEFAULT_END - timedelta(days=rng.uniform(1, 400))}
            for a in assets
        ]  # fmt: skip
        sellers = {str(r["seller_id"]) for r in records}
        seller_rows = [
            {"id": s, "trust_score": rng.uniform(0.3, 0.9), "verified": rng.random() < 0.5}
            for s in sorted(sellers)
        ]
        engagement = {a: (c["impression"], c["click"], c["purchase"]) for a, c in counts.items()}
        snap = CatalogSnapshot.from_records(
            records, sellers=seller_rows, engagement=engagement, now=DEFAULT_END
        )
        store = EmbeddedOnlineStore(Path(root), standard_registry(), durable=False)
        now = DEFAULT_END.timestamp()
        world = cls(sim=sim, snap=snap, store=store, now=now)
        world._materialise(events)
        return world

    def _materialise(self, events: list[dict[str, Any]]) -> None:
        """What the feature store's batch and stream jobs would hold after ``events``."""
        by_asset: dict[str, Counter[str]] = defaultdict(Counter)
        by_user_cat: dict[str, Counter[str]] = defaultdict(Counter)
        by_user: dict[str, Counter[str]] = defaultdict(Counter)
        affinity: dict[str, float] = defaultdict(float)
        cat = dict(zip(self.snap.ids, self.snap.categories.tolist(), strict=True))
        weights = {"view": 1.0, "click": 1.5, "favorite": 3.0, "add_to_cart": 5.0, "purchase": 10.0}
        for e in events:
            by_asset[e["asset_id"]][e["type"]] += 1
            by_user[e["user_id"]][e["type"]] += 1
            if e["type"] in weights:
                by_user_cat[e["user_id"]][cat[e["asset_id"]]] += 1
                ts = datetime.fromisoformat(e["ts"]).timestamp()
                key = affinity_key(e["user_id"], e["asset_id"])
                prev = affinity.get(key, -math.inf)
                add = math.log(weights[e["type"]]) + math.log(2.0) * ts / HALF_LIFE_S
                affinity[key] = float(np.logaddexp(prev, add))
        ids = list(by_asset)
        imp = np.array([by_asset[a]["impression"] for a in ids], dtype=float)
        clk = np.array([by_asset[a]["click"] for a in ids], dtype=float)
        ctr = np.where(imp > 0, clk / np.maximum(imp, 1), 0.0)
        self.store.write(
            "asset",
            ids,
            {
                "ctr_1h": ctr,
                "ctr_24h": ctr,
                "clicks_24h": clk,
                "impressions_24h": imp,
                "purchases_24h": [by_asset[a]["purchase"] for a in ids],
            },
            event_ts=self.now,
        )
        users = list(by_user)
        self.store.write(
            "user",
            users,
            {
                "clicks_24h": [by_user[u]["click"] for u in users],
                "events_24h": [sum(by_user[u].values()) for u in users],
                "top_categories_30d": [
                    ",".join(c for c, _ in by_user_cat[u].most_common(3)) for u in users
                ],
            },
            event_ts=self.now,
        )
        if affinity:
            keys = list(affinity)
            self.store.write(
                AFFINITY_ENTITY, keys, {AFFINITY_FEATURE: [affinity[k] for k in keys]}, self.now
            )

    def sessions(self, n: int, *, offset: int = 1_000_000) -> list[list[dict[str, Any]]]:
        """``n`` later sessions (random slates: feedback free of any ranker's bias)."""
        return list(self.sim.sessions(n, offset=offset))

    def features(self, user_id: str, asset_ids: list[str]) -> np.ndarray:
        """The pipeline's feature matrix for one user and candidate list."""
        rows = self.snap.rows(asset_ids)
        zeros = np.zeros(len(rows))
        return hydrate(
            self.snap,
            rows,
            user_id=user_id,
            distance_km=np.full(len(rows), np.nan),
            retrieval=zeros,
            from_search=zeros.astype(bool),
            from_recommender=zeros.astype(bool),
            now=self.now,
            store=self.store,
            executor=None,
            budget_s=1.0,
            half_life_s=HALF_LIFE_S,
        ).matrix

    def training_set(
        self, sessions: list[list[dict[str, Any]]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(X, clicked, purchased, group sizes)``: one row per impression, grouped by session."""
        events = [e for s in sessions for e in s]
        labelled = label_impressions(pd.DataFrame(events))
        xs, clicks, buys, groups = [], [], [], []
        for _, grp in labelled.groupby("session_id", sort=False):
            xs.append(self.features(str(grp["user_id"].iloc[0]), grp["asset_id"].tolist()))
            clicks.append(grp["clicked"].to_numpy())
            buys.append(grp["purchased"].to_numpy())
            groups.append(len(grp))
        return np.vstack(xs), np.concatenate(clicks), np.concatenate(buys), np.array(groups)


def ndcg_at(relevance_in_ranked_order: np.ndarray, ideal: np.ndarray, k: int) -> float:
    """NDCG@k with linear gains (graded relevance, e.g. true affinity)."""
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = float((relevance_in_ranked_order[:k] * disc[: len(relevance_in_ranked_order[:k])]).sum())
    best = np.sort(ideal)[::-1][:k]
    idcg = float((best * disc[: len(best)]).sum())
    return dcg / idcg if idcg > 0 else 0.0


__all__ = ["SimWorld", "ndcg_at"]
