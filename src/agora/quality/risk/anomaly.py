"""Anomaly model over an asset's measured properties (IsolationForest, scikit-learn).

``asset_properties`` turns what the pipeline measured (file sizes and counts,
image sizes and sharpness, polycount, archive shape, listing text lengths,
price, completeness, corrupt share) into a fixed vector (``PROPERTIES``);
the ``scores`` step records it with every result, so training reads the
catalog's recorded vectors and never re-measures.

``AnomalyModel`` fits an IsolationForest (Liu, Ting and Zhou 2008) on the
catalog's active assets and calibrates its score against them: ``signal`` is
how far into the top tenth of the training assets' anomaly scores an asset
lies (``FLOOR``): 0 for the usual nine in ten, 1 beyond the most anomalous
training asset, so ordinary listings add no risk and only outliers do. It follows
the estimator contract (``fit`` returns self, ``signal`` has no side effects); it
is saved and loaded through the model store by the gated pipeline (``agora.quality.risk.training``).

Example:
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(200, len(PROPERTIES)))
    >>> m = AnomalyModel(n_estimators=50).fit(x)
    >>> bool(m.signal(x[:1] + 8.0)[0] > m.signal(x[:1])[0])
    True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

FLOOR = 0.9  # training quantile below which an asset is not unusual
PROPERTIES = [
    "files",
    "images",
    "log_bytes",
    "log_max_pixels",
    "sharpness",
    "log_faces",
    "archive_entries",
    "log_archive_ratio",
    "title_chars",
    "description_words",
    "tags",
    "log_price",
    "completeness",
    "corrupt_share",
]


def _facts(results: Mapping[str, Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    integrity = results.get("integrity") or {}
    return [f.get("facts") or {} for f in integrity.get("files") or [] if isinstance(f, Mapping)]


def asset_properties(
    asset: Mapping[str, Any],
    results: Mapping[str, Mapping[str, Any]],
    images: Sequence[Mapping[str, Any]],
) -> list[float]:
    """The asset's ``PROPERTIES`` vector (NaN-free: a missing measure is 0)."""
    refs = list(asset.get("files") or []) + list(asset.get("images") or [])
    facts = _facts(results)
    pixels = [float(f["width"]) * float(f["height"]) for f in facts if "width" in f]
    pixels += [float(m["width"]) * float(m["height"]) for m in images if "width" in m]
    sharp = [float(m["sharpness"]) for m in images if "sharpness" in m]
    faces = sum(int(f.get("faces") or 0) for f in facts)
    models3d = results.get("models3d") or {}
    faces = max(faces, int(models3d.get("faces") or 0))
    entries = sum(int(f.get("entries") or 0) for f in facts)
    ratio = max([float(f.get("ratio") or 0.0) for f in facts] or [0.0])
    integrity = results.get("integrity") or {}
    checked = int(integrity.get("checked") or 0)
    price = asset.get("price")
    description = asset.get("description") or ""
    return [
        float(len(asset.get("files") or [])),
        float(len(asset.get("images") or [])),
        math.log1p(sum(int(r.get("size") or 0) for r in refs if isinstance(r, Mapping))),
        math.log1p(max(pixels or [0.0])),
        sum(sharp) / len(sharp) if sharp else 0.0,
        math.log1p(faces),
        float(entries),
        math.log1p(ratio),
        float(len(str(asset.get("title") or ""))),
        float(len(str(description).split())),
        float(len(asset.get("tags") or [])),
        math.log1p(float(price)) if isinstance(price, int | float) and price > 0 else 0.0,
        float((results.get("completeness") or {}).get("score") or 0.0),
        int(integrity.get("corrupt") or 0) / checked if checked else 0.0,
    ]


@dataclass
class AnomalyModel:
    """IsolationForest with a calibration of its scores on the training assets."""

    n_estimators: int = 200
    seed: int = 0
    features: list[str] = field(default_factory=lambda: list(PROPERTIES))
    forest: Any = field(default=None, repr=False)
    calibration: NDArray[np.float64] | None = field(default=None, repr=False)

    def fit(self, x: ArrayLike) -> AnomalyModel:
        """Fit on rows of ``features`` (the catalog's clean assets)."""
        from sklearn.ensemble import IsolationForest

        data = np.asarray(x, dtype=np.float64)
        self.forest = IsolationForest(
            n_estimators=self.n_estimators, random_state=self.seed, n_jobs=1
        ).fit(data)
        self.calibration = np.sort(self.anomaly(data))
        return self

    def anomaly(self, x: ArrayLike) -> NDArray[np.float64]:
        """Raw anomaly score: higher is more anomalous (``-score_samples``)."""
        if self.forest is None:
            raise ValueError("the anomaly model is not fitted")
        data = np.asarray(x, dtype=np.float64).reshape(-1, len(self.features))
        return np.asarray(-self.forest.score_samples(data), dtype=np.float64)

    def signal(self, x: ArrayLike) -> NDArray[np.float64]:
        """Risk signal in [0, 1]: 0 up to the ``FLOOR`` quantile of the training
        assets' anomaly scores, 1 past their maximum."""
        if self.calibration is None:
            raise ValueError("the anomaly model is not fitted")
        raw = self.anomaly(x)
        cal = self.calibration
        rank = np.searchsorted(cal, raw, side="right") / len(cal)
        return np.asarray(np.clip((rank - FLOOR) / (1 - FLOOR), 0.0, 1.0), dtype=np.float64)
