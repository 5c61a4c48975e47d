"""Checks and exact search shared by the vector index backends.

Example:
    >>> import numpy as np
    >>> m = as_matrix(np.ones((2, 3)), dim=3)
    >>> m.dtype, m.shape
    (dtype('float32'), (2, 3))
    >>> exact_cosine(m[:1], m, 1)[0].tolist()
    [[0]]
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from agora.encoders.base import EncoderMismatch
from agora.errors import InvalidInput

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


def validate_name(name: str) -> str:
    """Index names become file and table names: lowercase letters, digits, ``_``."""
    if not _NAME.match(name):
        raise InvalidInput(f"invalid index name {name!r}: use [a-z][a-z0-9_]{{0,47}}")
    return name


def as_matrix(vectors: np.ndarray, dim: int | None = None) -> np.ndarray:
    """A 2-D C-contiguous float32 matrix of finite values (one row per vector)."""
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    if matrix.ndim != 2 or matrix.shape[1] == 0:
        raise InvalidInput(f"vectors must be a 2-D array, got shape {matrix.shape}")
    if dim is not None and matrix.shape[1] != dim:
        raise InvalidInput(f"vectors have {matrix.shape[1]} dimensions, the index has {dim}")
    if not np.isfinite(matrix).all():
        raise InvalidInput("vectors contain NaN or infinite values")
    return np.ascontiguousarray(matrix)


def check_ids(ids: Sequence[str], count: int) -> list[str]:
    """Ids are non-empty strings, unique within a batch, one per vector."""
    ids = list(ids)
    if len(ids) != count:
        raise InvalidInput(f"{len(ids)} ids for {count} vectors")
    if any(not isinstance(i, str) or not i for i in ids):
        raise InvalidInput("ids must be non-empty strings")
    if len(set(ids)) != len(ids):
        raise InvalidInput("duplicate ids in one batch")
    return ids


def check_encoder(bound: str | None, given: str, index: str) -> None:
    """Refuse vectors or queries from an encoder other than the one that built the index."""
    if not given:
        raise InvalidInput("an encoder key (name@version) is required")
    if bound is not None and bound != given:
        raise EncoderMismatch(
            f"index {index!r} was built by encoder {bound!r}, not {given!r}",
            index=index,
            index_encoder=bound,
            encoder=given,
        )


def normalise(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


def exact_cosine(queries: np.ndarray, base: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force top-``k`` by cosine similarity: (row indices, similarities), best first."""
    k = min(k, base.shape[0])
    if k == 0:
        empty = np.zeros((queries.shape[0], 0))
        return empty.astype(np.int64), empty.astype(np.float32)
    sims = normalise(queries) @ normalise(base).T
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(sims, top, axis=1).argsort(axis=1)[:, ::-1]
    top = np.take_along_axis(top, order, axis=1)
    return top, np.take_along_axis(sims, top, axis=1)
