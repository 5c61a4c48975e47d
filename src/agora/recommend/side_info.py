"""Side information the learning-to-rank hybrid's features read (all optional).

Catalog categories and publication times, user attributes and interaction
times; the platform builds it from the catalog (``recommend.jobs.side_info``),
the MovieLens benchmark from the dataset's item and user files.

Example:
    >>> SideInfo(user_attrs={"u1": {"age": 30, "region": "eu"}}).attr_keys()
    ['age', 'region']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from agora.recommend.base import InteractionMatrix


@dataclass
class SideInfo:
    """Catalog categories, user attributes and interaction times (all optional).

    ``times`` is a users x assets sparse matrix aligned with the training
    matrix holding each pair's latest interaction time (epoch seconds);
    ``item_times`` the assets' publication times (epoch seconds: a listing's
    creation, a film's release).
    """

    item_categories: Mapping[str, Sequence[str]] = field(default_factory=dict)
    user_attrs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    times: sp.csr_matrix | None = None
    max_attrs: int = 8
    item_times: Mapping[str, float] = field(default_factory=dict)

    @property
    def n_attr_columns(self) -> int:
        return len(self.attr_keys())

    def attr_keys(self) -> list[str]:
        keys = sorted({k for attrs in self.user_attrs.values() for k in attrs})
        return keys[: self.max_attrs]

    def restricted(self, data: InteractionMatrix) -> SideInfo:
        """The same side information with ``times`` cut to the cells of ``data``."""
        if self.times is None:
            return self
        pattern = (data.matrix > 0).astype(np.float64)
        times = sp.csr_matrix(self.times.multiply(pattern))
        return SideInfo(
            self.item_categories, self.user_attrs, times, self.max_attrs, self.item_times
        )
