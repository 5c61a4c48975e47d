"""Ranking estimators: LightGBM pCTR/pCVR classifiers and the LambdaMART ranker.

Both follow the estimator contract: ``__init__`` stores parameters, ``fit``
returns self, ``predict`` has no side effects, ``save``/``load`` go through the
platform's model store (``platform.models``), and ``ref`` is ``name@version``
once saved or loaded. Trees are trained small on purpose (few, shallow trees):
ranking has a 200 ms budget for 1,000 candidates and tree count is what costs.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(400, 3)); y = (x[:, 0] > 0).astype(int)
    >>> m = CtrModel(n_estimators=20).fit(x, y, feature_names=["a", "b", "c"])
    >>> bool(((m.predict(x) > 0.5) == y).mean() > 0.9)
    True
    >>> str(m.ref)
    'ranking-pctr@unsaved'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
from numpy.typing import ArrayLike, NDArray

from agora.domain import ModelRef
from agora.errors import InvalidInput
from agora.mlops.artifact_state import VersionedState
from agora.mlops.base import ModelStore

PCTR_MODEL = "ranking-pctr"
PCVR_MODEL = "ranking-pcvr"
RANKER_MODEL = "ranking-lambdamart"
UNSAVED = "unsaved"
EARLY_STOPPING_ROUNDS = 10


def _matrix(x: ArrayLike, n_features: int | None = None) -> NDArray[np.float64]:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise InvalidInput(f"expected a 2-d feature matrix, got shape {arr.shape}")
    if n_features is not None and arr.shape[1] != n_features:
        raise InvalidInput(f"expected {n_features} features, got {arr.shape[1]}")
    return arr


@dataclass
class _TreeModel(VersionedState):
    """Shared state of the two estimators: LightGBM params, booster, identity.

    Stored format 1: the fields, the booster as LightGBM's model text
    (``_model_text``: stable across processes and LightGBM builds).
    """

    name: str
    n_estimators: int = 60
    num_leaves: int = 15
    max_depth: int = 5
    learning_rate: float = 0.1
    min_child_samples: int = 20
    seed: int = 0
    extra_params: dict[str, Any] = field(default_factory=dict)
    feature_names: list[str] = field(default_factory=list)
    best_iteration: int | None = None  # trees kept by early stopping (None: n_estimators)
    version: str = UNSAVED
    booster: lgb.Booster | None = field(default=None, repr=False)

    objective = "binary"

    @property
    def ref(self) -> ModelRef:
        """``name@version`` (version ``unsaved`` until saved or loaded)."""
        return ModelRef(self.name, self.version)

    def params(self) -> dict[str, Any]:
        """LightGBM training parameters (also recorded with the saved version)."""
        return {
            "objective": self.objective,
            "num_leaves": self.num_leaves,
            "max_depth": self.max_depth,
            "learning_rate": self.learning_rate,
            "min_child_samples": self.min_child_samples,
            "seed": self.seed,
            "deterministic": True,
            "num_threads": 1,
            "verbosity": -1,
            **self.extra_params,
        }

    def _train(
        self,
        x: ArrayLike,
        y: ArrayLike,
        feature_names: Sequence[str] | None,
        group: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
        valid: tuple[ArrayLike, ArrayLike] | None = None,
    ) -> None:
        data = _matrix(x)
        labels = np.asarray(y, dtype=np.float64).ravel()
        if len(labels) != len(data) or len(data) == 0:
            raise InvalidInput("x and y must be non-empty and the same length")
        names = list(feature_names) if feature_names else [f"f{i}" for i in range(data.shape[1])]
        if len(names) != data.shape[1]:
            raise InvalidInput(f"{len(names)} feature names for {data.shape[1]} columns")
        dataset = lgb.Dataset(
            data,
            label=labels,
            group=None if group is None else np.asarray(group),
            weight=None if sample_weight is None else np.asarray(sample_weight),
            feature_name=names,
            free_raw_data=True,
        )
        if valid is None:
            booster = lgb.train(self.params(), dataset, num_boost_round=self.n_estimators)
            best = self.n_estimators
        else:
            # Early stopping on a later slice of the data: the tree count the data supports
            # (small, noisy click logs overfit a fixed count), kept as the serving model.
            vx, vy = _matrix(valid[0], data.shape[1]), np.asarray(valid[1], dtype=np.float64)
            booster = lgb.train(
                self.params(),
                dataset,
                num_boost_round=self.n_estimators,
                valid_sets=[lgb.Dataset(vx, label=vy, reference=dataset)],
                callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)],
            )
            best = max(1, int(booster.best_iteration or self.n_estimators))
            booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
        self.best_iteration = best if valid is not None else None
        self.booster = booster
        self.feature_names = names
        self.version = UNSAVED

    def _booster(self) -> lgb.Booster:
        if self.booster is None:
            raise InvalidInput(f"model {self.name} is not fitted")
        return self.booster

    def predict_raw(self, x: ArrayLike) -> NDArray[np.float64]:
        """Raw margin (log-odds for binary, score for the ranker): what SHAP explains."""
        data = _matrix(x, len(self.feature_names))
        # One thread: LightGBM's default OpenMP pool costs ~25 ms per call on small
        # batches (a loaded booster does not keep the training num_threads).
        booster = self._booster()
        return np.asarray(booster.predict(data, raw_score=True, num_threads=1), dtype=np.float64)

    def model_text(self) -> str:
        """LightGBM's text dump (portable; what compiled scorers are built from)."""
        return str(self._booster().model_to_string())

    def save(
        self,
        store: ModelStore,
        *,
        metrics: dict[str, float] | None = None,
        data_snapshot: str | None = None,
    ) -> ModelRef:
        """Save a new version to the model store; sets and returns ``ref``."""
        self._booster()
        ref = store.save(
            self.name,
            self,
            params={
                **self.params(),
                "n_estimators": self.n_estimators,
                "best_iteration": self.best_iteration,
            },
            metrics=metrics,
            data_snapshot=data_snapshot,
            features=self.feature_names,
        )
        self.version = ref.version
        return ref

    def _stored_state(self) -> dict[str, Any]:
        # Pickle the booster as LightGBM's own text format: stable across processes.
        state = dict(self.__dict__)
        booster = state.pop("booster")
        state["_model_text"] = None if booster is None else booster.model_to_string()
        return state


def _tree_model_v1(state: dict[str, Any]) -> dict[str, Any]:
    """Format 1 (also every state pickled before versioning): the booster from its text."""
    text = state.pop("_model_text", None)
    state["booster"] = None if text is None else lgb.Booster(model_str=text)
    return state


_TreeModel.STATE_LOADERS = {1: _tree_model_v1}


def _load(
    cls: type[Any], store: ModelStore, name: str, version: str | None, alias: str | None
) -> Any:
    obj = store.load(name, version=version, alias=alias)
    if not isinstance(obj, cls):
        raise InvalidInput(f"model {name} is a {type(obj).__name__}, not a {cls.__name__}")
    # The stored object may predate its registry version number; the store is the truth.
    resolved = store.info(name, version=version, alias=alias).ref.version
    obj.version = resolved
    return obj


@dataclass
class CtrModel(_TreeModel):
    """Binary LightGBM model for pCTR (clicks) or pCVR (purchases).

    ``predict`` returns probabilities in [0, 1].
    """

    name: str = PCTR_MODEL

    def fit(
        self,
        x: ArrayLike,
        y: ArrayLike,
        *,
        feature_names: Sequence[str] | None = None,
        sample_weight: ArrayLike | None = None,
        valid: tuple[ArrayLike, ArrayLike] | None = None,
    ) -> CtrModel:
        """Train on a feature matrix and 0/1 labels (see ``label_impressions``).

        ``valid``: ``(x, y)`` for early stopping on log-loss (at most ``n_estimators``).
        """
        labels = np.asarray(y)
        if not np.isin(labels, (0, 1)).all():
            raise InvalidInput("CtrModel labels must be 0 or 1")
        self._train(x, labels, feature_names, sample_weight=sample_weight, valid=valid)
        return self

    def predict(self, x: ArrayLike) -> NDArray[np.float64]:
        """Probability of the positive outcome for each row."""
        return 1.0 / (1.0 + np.exp(-self.predict_raw(x)))

    @classmethod
    def load(
        cls,
        store: ModelStore,
        name: str = PCTR_MODEL,
        *,
        version: str | None = None,
        alias: str | None = None,
    ) -> CtrModel:
        """Load a saved version (latest if neither version nor alias is given)."""
        return _load(cls, store, name, version, alias)  # type: ignore[no-any-return]


@dataclass
class LambdaRanker(_TreeModel):
    """LambdaMART (LightGBM ``lambdarank``) over query groups; ``predict`` gives scores."""

    name: str = RANKER_MODEL
    objective = "lambdarank"

    def fit(
        self,
        x: ArrayLike,
        y: ArrayLike,
        *,
        group: ArrayLike,
        feature_names: Sequence[str] | None = None,
    ) -> LambdaRanker:
        """Train on graded relevance ``y`` with ``group`` = rows per query, in order."""
        sizes = np.asarray(group, dtype=np.int64)
        if sizes.sum() != len(np.asarray(y)):
            raise InvalidInput("group sizes must add up to the number of rows")
        self._train(x, y, feature_names, group=sizes)
        return self

    def predict(self, x: ArrayLike) -> NDArray[np.float64]:
        """Ranking score per row (higher ranks first); comparable within a request."""
        return self.predict_raw(x)

    @classmethod
    def load(
        cls,
        store: ModelStore,
        name: str = RANKER_MODEL,
        *,
        version: str | None = None,
        alias: str | None = None,
    ) -> LambdaRanker:
        """Load a saved version (latest if neither version nor alias is given)."""
        return _load(cls, store, name, version, alias)  # type: ignore[no-any-return]


__all__ = ["PCTR_MODEL", "PCVR_MODEL", "RANKER_MODEL", "CtrModel", "LambdaRanker"]
