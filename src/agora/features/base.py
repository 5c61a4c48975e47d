"""Feature store interfaces: entities, feature views, the online store, overrides.

Ranking, recommendations and training read features through these types only.

* An :class:`Entity` is what features describe (user, asset, seller, context).
* A :class:`FeatureView` groups features of one entity that are computed together,
  with a TTL (a value older than that is stale: the default is served instead),
  an owner and a description. Feature names are unique per entity, so a read names
  ``(entity, [feature, ...])`` without the view.
* :class:`OnlineStore` serves the latest value per (entity id, feature). The hot path
  is :meth:`OnlineStore.read`: one call per candidate set, returning a matrix with one
  row per id and one column per feature; missing or expired cells hold the feature's
  default. Numeric features give a ``float64`` matrix (what LightGBM eats); asking
  for any string feature gives an ``object`` matrix.
* :class:`OverrideReader` answers "is this banned / how much is it boosted" for
  admin overrides (seed 001 "Global Overrides").

Example:
    >>> user = Entity("user", "user_id", "a marketplace buyer")
    >>> view = FeatureView("user_rt", user, [Feature("session_clicks_last_5m", ValueType.INT,
    ...                    default=0)], ttl=timedelta(minutes=5), owner="features",
    ...                    description="real-time session activity")
    >>> view.feature_names
    ['session_clicks_last_5m']
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

import numpy as np

from agora.features.schemas import OverrideAction as OverrideAction
from agora.features.schemas import OverrideTarget as OverrideTarget


class ValueType(StrEnum):
    """Types a feature value can take. Lists and vectors are not served online here:
    embeddings live in the vector index and features hold a reference to them."""

    FLOAT = "float"
    INT = "int"
    BOOL = "bool"
    STRING = "string"

    @property
    def numeric(self) -> bool:
        return self is not ValueType.STRING


@dataclass(frozen=True)
class Entity:
    """Something features describe, identified by a string ``join_key`` value."""

    name: str
    join_key: str
    description: str = ""


@dataclass(frozen=True)
class Feature:
    """One named, typed feature with the value served when it is missing or stale."""

    name: str
    dtype: ValueType
    default: Any = None
    description: str = ""

    @property
    def fill(self) -> Any:
        """The default as served: NaN for numeric features without one, "" for strings."""
        if self.default is not None:
            return float(self.default) if self.dtype.numeric else str(self.default)
        return math.nan if self.dtype.numeric else ""


@dataclass(frozen=True)
class FeatureView:
    """Features of one entity computed together, with TTL, owner and description.

    ``source`` says where values come from: ``batch`` (materialised from the offline
    store), ``stream`` (the ``interaction.recorded`` consumer) or ``request``
    (computed from the request itself, e.g. time of day).
    """

    name: str
    entity: Entity
    features: list[Feature]
    ttl: timedelta | None = None
    owner: str = ""
    description: str = ""
    source: str = "batch"
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]


@runtime_checkable
class OnlineStore(Protocol):
    """Latest feature values per entity id, read in one batch per candidate set.

    Every backend passes ``agora.testing.online_store_contract``.
    """

    def write(
        self,
        entity: str,
        ids: Sequence[str],
        values: Mapping[str, Sequence[Any] | np.ndarray],
        event_ts: float | Sequence[float] | np.ndarray,
    ) -> None:
        """Upsert ``values[feature][i]`` for ``ids[i]``, stamped with ``event_ts``
        (epoch seconds, one for all rows or one per row). A write older than the
        stored value of a cell is ignored, so replays and backfills never go back."""

    def read(
        self,
        entity: str,
        ids: Sequence[str],
        features: Sequence[str],
        *,
        now: float | None = None,
    ) -> np.ndarray:
        """Matrix ``len(ids) x len(features)``: the stored value, or the feature's
        default when the id is unknown, the cell was never written, or its view's
        TTL has passed at ``now`` (epoch seconds, default: the current time)."""

    def read_rows(
        self,
        entity: str,
        ids: Sequence[str],
        features: Sequence[str] | None = None,
        *,
        now: float | None = None,
    ) -> list[dict[str, Any]]:
        """Like :meth:`read`, one dict per id (all the entity's features by default),
        with JSON-friendly values (None for missing numeric values)."""

    def delete(self, entity: str, ids: Sequence[str]) -> None:
        """Forget every feature of ``ids`` (right to erasure)."""

    def close(self) -> None:
        """Release files or connections."""


@dataclass(frozen=True)
class Override:
    """An admin's boost or ban of a category, seller or asset, active until ``expires_at``.

    ``multiplier`` applies to boosts (a ranking score is multiplied by it).
    """

    id: str
    action: OverrideAction
    target: OverrideTarget
    value: str
    multiplier: float = 1.0
    reason: str = ""
    created_by: str = ""
    created_at: datetime | None = None
    expires_at: datetime | None = None

    def active(self, at: datetime) -> bool:
        return self.expires_at is None or at < self.expires_at


@dataclass(frozen=True)
class ActiveOverrides:
    """A snapshot of the overrides in force, with vectorised lookups for ranking.

    Example:
        >>> snap = ActiveOverrides(banned={"seller": {"s9"}}, boosts={"category": {"art": 1.5}})
        >>> snap.banned_mask(["a1", "a2"], ["s1", "s9"], ["art", "3d"]).tolist()
        [False, True]
        >>> snap.boost_factors(["a1", "a2"], ["s1", "s9"], ["art", "3d"]).tolist()
        [1.5, 1.0]
    """

    # target ("category" | "seller" | "asset") -> banned values
    banned: dict[str, set[str]] = field(default_factory=dict)
    # target -> value -> multiplier (several boosts on one item multiply)
    boosts: dict[str, dict[str, float]] = field(default_factory=dict)
    overrides: tuple[Override, ...] = ()

    def is_banned(
        self, asset_id: str, seller_id: str | None = None, category: str | None = None
    ) -> bool:
        return bool(
            asset_id in self.banned.get("asset", ())
            or (seller_id is not None and seller_id in self.banned.get("seller", ()))
            or (category is not None and category in self.banned.get("category", ()))
        )

    def boost(
        self, asset_id: str, seller_id: str | None = None, category: str | None = None
    ) -> float:
        factor = self.boosts.get("asset", {}).get(asset_id, 1.0)
        if seller_id is not None:
            factor *= self.boosts.get("seller", {}).get(seller_id, 1.0)
        if category is not None:
            factor *= self.boosts.get("category", {}).get(category, 1.0)
        return factor

    def banned_mask(
        self,
        asset_ids: Sequence[str],
        seller_ids: Sequence[str | None] | None = None,
        categories: Sequence[str | None] | None = None,
    ) -> np.ndarray:
        """Boolean array: True where the candidate must be removed."""
        sellers = seller_ids if seller_ids is not None else [None] * len(asset_ids)
        cats = categories if categories is not None else [None] * len(asset_ids)
        return np.fromiter(
            (self.is_banned(a, s, c) for a, s, c in zip(asset_ids, sellers, cats, strict=True)),
            dtype=bool,
            count=len(asset_ids),
        )

    def boost_factors(
        self,
        asset_ids: Sequence[str],
        seller_ids: Sequence[str | None] | None = None,
        categories: Sequence[str | None] | None = None,
    ) -> np.ndarray:
        """Float array of score multipliers (1.0 where nothing is boosted)."""
        sellers = seller_ids if seller_ids is not None else [None] * len(asset_ids)
        cats = categories if categories is not None else [None] * len(asset_ids)
        return np.fromiter(
            (self.boost(a, s, c) for a, s, c in zip(asset_ids, sellers, cats, strict=True)),
            dtype=np.float64,
            count=len(asset_ids),
        )


@runtime_checkable
class OverrideReader(Protocol):
    """Source of the overrides in force; cheap to call on every ranking request."""

    def active_overrides(self, at: datetime | None = None) -> ActiveOverrides:
        """Overrides not expired at ``at`` (default: now)."""


# Decay-weighted user-item affinities (seed 000) live online under this entity, one
# row per "user_id|asset_id" pair, feature ``affinity_log``: the log of the score
# referred to time 0, ln(score at t) + ln2 * t / half_life. Adding an event is a
# ``logaddexp`` and reading needs only "now": score(now) = exp(affinity_log - ln2 *
# now / half_life). Use :func:`decayed_affinity` rather than reading it raw.
AFFINITY_ENTITY = "user_asset"
AFFINITY_FEATURE = "affinity_log"


def affinity_key(user_id: str, asset_id: str) -> str:
    """Online key of one (user, asset) pair.

    Example:
        >>> affinity_key("u1", "a7")
        'u1|a7'
    """
    return f"{user_id}|{asset_id}"


def decayed_affinity(
    store: OnlineStore, user_id: str, asset_ids: Sequence[str], *, half_life_s: float, now: float
) -> np.ndarray:
    """Decay-weighted affinity of ``user_id`` to each asset at ``now`` (0 when none).

    ``half_life_s`` must be the one the stream consumer used
    (``FeatureSettings.affinity_half_life_s``).
    """
    keys = [affinity_key(user_id, a) for a in asset_ids]
    raw = store.read(AFFINITY_ENTITY, keys, [AFFINITY_FEATURE], now=now)[:, 0]
    raw = np.asarray(raw, dtype=np.float64)
    out = np.zeros(len(keys))
    ok = np.isfinite(raw)
    out[ok] = np.exp(raw[ok] - math.log(2.0) * now / half_life_s)
    return out
