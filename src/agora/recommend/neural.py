"""What the PyTorch recommenders (``transformer``, ``neural_cf``, ``graph``) share.

They train with PyTorch on the CPU and keep their learned weights as NumPy
arrays: the pickled state the model store holds is then plain arrays (small,
loadable without a torch module class), and ``recommend`` never touches
autograd. Training runs with a fixed seed and ``num_threads`` torch threads
(1 by default, so a fit is reproducible and leaves the cores to the server).

Example:
    >>> with torch_threads(1):
    ...     first = (seed_everything(3).random(), float(torch.rand(1)))
    ...     again = (seed_everything(3).random(), float(torch.rand(1)))
    >>> first == again
    True
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import numpy as np
import torch


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` intra-op torch threads (restored afterwards); 0 keeps torch's."""
    before = torch.get_num_threads()
    if n > 0:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def seed_everything(seed: int) -> np.random.Generator:
    """Seed torch's global generator; returns a NumPy generator of the same seed."""
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def to_numpy(state: Mapping[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """A module's ``state_dict`` as float32 NumPy arrays (detached copies)."""
    return {k: v.detach().cpu().numpy().astype(np.float32, copy=True) for k, v in state.items()}


def to_torch(state: Mapping[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Arrays back into tensors for ``load_state_dict``."""
    return {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in state.items()}


def content_matrix(
    item_ids: Sequence[str], embeddings: Mapping[str, np.ndarray] | None
) -> tuple[np.ndarray, np.ndarray]:
    """(items x dims content vectors, L2-normalised; mask of items that have one).

    Items without a vector get a zero row; no vectors at all give a 0-column matrix.
    """
    embeddings = embeddings or {}
    have = np.array([a in embeddings for a in item_ids], dtype=bool)
    if not have.any():
        return np.zeros((len(item_ids), 0), dtype=np.float32), have
    dims = len(np.asarray(next(iter(embeddings.values()))).ravel())
    m = np.zeros((len(item_ids), dims), dtype=np.float32)
    for j, a in enumerate(item_ids):
        if have[j]:
            m[j] = np.asarray(embeddings[a], np.float32).ravel()
    m /= np.linalg.norm(m, axis=1, keepdims=True) + 1e-9
    return m, have


def cosine_to(vectors: np.ndarray, idx: int) -> np.ndarray:
    """Cosine of every row of ``vectors`` to row ``idx``."""
    norms = np.linalg.norm(vectors, axis=1) + 1e-9
    return np.asarray((vectors @ vectors[idx]) / (norms * norms[idx]))


__all__ = [
    "content_matrix",
    "cosine_to",
    "seed_everything",
    "to_numpy",
    "to_torch",
    "torch_threads",
]
