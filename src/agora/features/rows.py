"""Input checks and JSON conversion shared by the online store backends.

Example:
    >>> as_ts(5.0, 2).tolist()
    [5.0, 5.0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from agora.errors import InvalidInput
from agora.features.base import ValueType
from agora.features.registry import FeatureRegistry

MAX_ID_CHARS = 256


def check_ids(ids: Sequence[str]) -> list[str]:
    """Ids as a list of non-empty single-line strings (they are stored one per line)."""
    out = list(ids)
    for i in out:
        if not isinstance(i, str) or not i or len(i) > MAX_ID_CHARS or "\n" in i or "\r" in i:
            raise InvalidInput(
                f"entity ids must be non-empty one-line strings of at most {MAX_ID_CHARS} "
                f"characters, got {i!r}"
            )
    return out


def as_ts(event_ts: float | Sequence[float] | np.ndarray, n: int) -> np.ndarray:
    """Epoch-second timestamps, one per row (a scalar applies to all)."""
    arr = np.asarray(event_ts, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise InvalidInput(f"event_ts needs one timestamp or {n}, got shape {arr.shape}")
    if not np.isfinite(arr).all() or (arr <= 0).any():
        raise InvalidInput("event_ts must be positive epoch seconds")
    return arr


def to_json_rows(
    registry: FeatureRegistry, entity: str, names: Sequence[str], matrix: np.ndarray
) -> list[dict[str, Any]]:
    """Rows of a read matrix as dicts with JSON values (NaN -> None, ints and bools typed)."""
    kinds = [registry.feature(entity, n).dtype for n in names]
    rows = []
    for r in range(matrix.shape[0]):
        row: dict[str, Any] = {}
        for j, (name, kind) in enumerate(zip(names, kinds, strict=True)):
            v = matrix[r, j]
            if kind is ValueType.STRING:
                row[name] = v
            elif v is None or (isinstance(v, float) and math.isnan(v)):
                row[name] = None
            elif kind is ValueType.INT:
                row[name] = int(v)
            elif kind is ValueType.BOOL:
                row[name] = bool(v)
            else:
                row[name] = float(v)
        rows.append(row)
    return rows


class _Readable(Protocol):
    registry: FeatureRegistry

    def read(
        self,
        entity: str,
        ids: Sequence[str],
        features: Sequence[str],
        *,
        now: float | None = None,
    ) -> np.ndarray: ...


class JsonRowsMixin:
    """``read_rows`` for an online store: its ``read`` matrix as JSON-ready rows."""

    def read_rows(
        self: _Readable,
        entity: str,
        ids: Sequence[str],
        features: Sequence[str] | None = None,
        *,
        now: float | None = None,
    ) -> list[dict[str, Any]]:
        names = list(features) if features is not None else self.registry.features_of(entity)
        return to_json_rows(self.registry, entity, names, self.read(entity, ids, names, now=now))
