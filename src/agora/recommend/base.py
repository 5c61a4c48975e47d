"""Recommender contract, interaction data and result types.

Every algorithm (ALS, BPR, EASE, item-kNN, content, trending, hybrid, and the
PyTorch ``transformer``, ``neural_cf`` and ``graph``) follows
the estimator contract: ``__init__`` stores parameters, ``fit`` returns self,
``recommend`` / ``similar_items`` have no side effects, and ``save`` /
``load`` go through the platform's model store (``platform.models``).

Other capabilities (the ranking pipeline's candidate generation) call the
service, not an algorithm: ``platform.recommendations.recommend(user_id,
n=1000, algorithm="hybrid")`` returns :class:`Recommendations`, whose items are
already filtered against the catalog (active, in stock, seller not banned,
not purchased) and carry the algorithm and ``model`` (name@version) that
produced them.

Example:
    >>> data = InteractionMatrix.from_triples([("u1", "a1", 1.0), ("u1", "a2", 3.0),
    ...                                        ("u2", "a2", 1.0)])
    >>> data.shape
    (2, 2)
    >>> data.items_of("u1")
    ['a1', 'a2']
    >>> ScoredItem("a1", 0.9, "als").to_dict()
    {'asset_id': 'a1', 'score': 0.9, 'source': 'als'}
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from agora.domain import ModelRef

if TYPE_CHECKING:
    from agora.mlops.base import ModelStore

ALGORITHMS: tuple[str, ...] = (
    "smart",
    "als",
    "bpr",
    "ease",
    "item_knn",
    "content",
    "trending",
    "hybrid",
    "transformer",
    "neural_cf",
    "graph",
)
"""Values accepted for ``algorithm``; ``smart`` lets the bandit choose."""


@dataclass(frozen=True)
class ScoredItem:
    """One recommended asset; ``score`` is comparable only within one list."""

    asset_id: str
    score: float
    source: str  # the algorithm (or candidate source) that produced it

    def to_dict(self) -> dict[str, Any]:
        return {
            "asset_id": self.asset_id,
            "score": round(float(self.score), 6),
            "source": self.source,
        }


@dataclass(frozen=True)
class RecommendFilters:
    """Constraints applied while scoring (cheap) before the catalog filter (exact).

    ``allowed`` restricts candidates to these asset ids (e.g. the eligible
    catalog of one category); ``exclude`` removes ids (e.g. purchased assets).
    """

    category: str | None = None
    region: str | None = None
    allowed: frozenset[str] | None = None
    exclude: frozenset[str] = frozenset()

    def admits(self, asset_id: str) -> bool:
        if asset_id in self.exclude:
            return False
        return self.allowed is None or asset_id in self.allowed


@dataclass(frozen=True)
class Recommendations:
    """A served list: items plus the provenance every ML response carries.

    ``fallback`` is True when the requested algorithm could not serve (model
    artifact missing, feature store down) and trending answered instead;
    ``fallback_reason`` says why. ``personalized`` is False for users without
    ``allows_personalization`` consent and for cold-start users.
    """

    user_id: str | None
    items: list[ScoredItem]
    algorithm: str
    model: str  # name@version
    fallback: bool = False
    fallback_reason: str | None = None
    personalized: bool = True
    cached: bool = False
    requested_algorithm: str | None = None
    segment: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "algorithm": self.algorithm,
            "requested_algorithm": self.requested_algorithm or self.algorithm,
            "model": self.model,
            "fallback": self.fallback,
            "fallback_reason": self.fallback_reason,
            "personalized": self.personalized,
            "cached": self.cached,
            "segment": self.segment,
            "items": [i.to_dict() for i in self.items],
        }


@dataclass
class InteractionMatrix:
    """Users x items confidence matrix (CSR, float32) with id maps both ways.

    Values are decay-weighted affinities (see ``agora.recommend.data``); the
    benchmarks build it from ratings with every rating as weight 1.
    """

    matrix: sp.csr_matrix
    user_ids: list[str]
    item_ids: list[str]
    user_index: dict[str, int] = field(init=False)
    item_index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.matrix = sp.csr_matrix(self.matrix, dtype=np.float32)
        self.matrix.sum_duplicates()
        self.user_index = {u: i for i, u in enumerate(self.user_ids)}
        self.item_index = {a: i for i, a in enumerate(self.item_ids)}

    @classmethod
    def from_triples(cls, triples: Iterable[tuple[str, str, float]]) -> InteractionMatrix:
        """Build from ``(user_id, asset_id, weight)``; repeated pairs are summed."""
        users: dict[str, int] = {}
        items: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for user, item, weight in triples:
            rows.append(users.setdefault(user, len(users)))
            cols.append(items.setdefault(item, len(items)))
            vals.append(float(weight))
        m = sp.csr_matrix(
            (np.asarray(vals, dtype=np.float32), (rows, cols)), shape=(len(users), len(items))
        )
        return cls(m, list(users), list(items))

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.user_ids), len(self.item_ids))

    def __len__(self) -> int:
        return int(self.matrix.nnz)

    def items_of(self, user_id: str) -> list[str]:
        """Assets the user interacted with (in item-index order)."""
        row = self.user_index.get(user_id)
        if row is None:
            return []
        start, end = self.matrix.indptr[row], self.matrix.indptr[row + 1]
        return [self.item_ids[j] for j in self.matrix.indices[start:end]]

    def popularity(self) -> np.ndarray:
        """Number of users per item (float32, length n_items)."""
        return np.asarray((self.matrix > 0).sum(axis=0), dtype=np.float32).ravel()


class Recommender(ABC):
    """Estimator contract shared by every algorithm.

    Subclasses set ``name`` (the ``algorithm`` value and the model-store name
    ``reco-<name>``), implement ``fit``, ``score_users`` or ``recommend``, and
    ``similar_items``. ``model_ref`` is set by ``save``/``load``; before that
    the model identifies itself as ``reco-<name>@unsaved``.
    """

    name: ClassVar[str]
    model_ref: ModelRef | None = None

    @abstractmethod
    def fit(self, data: InteractionMatrix) -> Self:
        """Learn from interactions; returns self."""

    @abstractmethod
    def recommend(
        self,
        user: str,
        n: int = 10,
        *,
        exclude_seen: bool = True,
        filters: RecommendFilters | None = None,
    ) -> list[ScoredItem]:
        """Top-``n`` assets for a known user, best first; [] for an unknown user."""

    def recommend_history(
        self,
        history: Mapping[str, float],
        n: int = 10,
        *,
        exclude_seen: bool = True,
        filters: RecommendFilters | None = None,
        user: str | None = None,
    ) -> list[ScoredItem]:
        """Top-``n`` for a history ``{asset_id: weight}`` given at call time (live or
        session events); ``user`` names whose history it is, when known.

        Models that score histories override this; the others answer for ``user``.
        """
        if user is None:
            return []
        return self.recommend(user, n, exclude_seen=exclude_seen, filters=filters)

    @abstractmethod
    def similar_items(
        self, item: str, n: int = 10, *, filters: RecommendFilters | None = None
    ) -> list[ScoredItem]:
        """Top-``n`` assets most similar to ``item`` (never ``item`` itself)."""

    def knows_user(self, user: str) -> bool:
        """Whether ``recommend`` can personalise for ``user``."""
        return False

    @property
    def model_name(self) -> str:
        return f"reco-{self.name}"

    @property
    def model_key(self) -> str:
        """``name@version`` for responses and audit."""
        return str(self.model_ref) if self.model_ref else f"{self.model_name}@unsaved"

    def params(self) -> dict[str, Any]:
        """Hyper-parameters recorded with a saved version."""
        return {}

    def save(
        self,
        store: ModelStore,
        *,
        metrics: dict[str, float] | None = None,
        data_snapshot: str | None = None,
    ) -> ModelRef:
        """Persist a new version in the model store; sets and returns ``model_ref``."""
        self.model_ref = None  # the stored object carries no stale identity
        ref = store.save(
            self.model_name,
            self,
            params=self.params(),
            metrics=metrics,
            data_snapshot=data_snapshot,
            features=["interactions.decay_weighted"],
        )
        self.model_ref = ref
        return ref

    @classmethod
    def load(
        cls, store: ModelStore, *, version: str | None = None, alias: str | None = None
    ) -> Self:
        """Load a version (or alias; latest if neither) of ``reco-<name>``."""
        name = f"reco-{cls.name}"
        obj = store.load(name, version=version, alias=alias)
        if not isinstance(obj, cls):
            raise TypeError(f"{name} holds {type(obj).__name__}, not {cls.__name__}")
        obj.model_ref = store.info(name, version=version, alias=alias).ref
        return obj


def top_n(
    scores: np.ndarray,
    item_ids: Sequence[str],
    n: int,
    source: str,
    *,
    banned: np.ndarray | None = None,
    filters: RecommendFilters | None = None,
) -> list[ScoredItem]:
    """Best ``n`` of a dense score vector, skipping ``banned`` indexes and filtered ids.

    Partial sort of a growing prefix: a strict filter doubles the prefix until
    ``n`` items pass or every finite score was looked at.
    """
    scores = scores.astype(np.float32, copy=True)
    if banned is not None and len(banned):
        scores[banned] = -np.inf
    total = len(scores)
    want = min(total, n if filters is None else n * 2 + len(filters.exclude))
    while want > 0:
        part = np.argpartition(-scores, want - 1)[:want] if want < total else np.arange(total)
        order = part[np.argsort(-scores[part], kind="stable")]
        out: list[ScoredItem] = []
        exhausted = False
        for j in order:
            s = float(scores[j])
            if not np.isfinite(s):
                exhausted = True
                break
            aid = item_ids[j]
            if filters is not None and not filters.admits(aid):
                continue
            out.append(ScoredItem(aid, s, source))
            if len(out) >= n:
                return out
        if exhausted or want >= total:
            return out
        want = min(total, want * 4)
    return []


__all__ = [
    "ALGORITHMS",
    "InteractionMatrix",
    "RecommendFilters",
    "Recommendations",
    "Recommender",
    "ScoredItem",
    "top_n",
]
