"""``transformer``: a SASRec-style self-attentive sequential recommender (Kang & McAuley 2018).

A user's interactions, oldest first (the last ``max_len``), pass through
``blocks`` causal self-attention blocks; the hidden state at the last position
scored against every item's embedding (shared input/output table) is the
next-item score. Trained with PyTorch on the CPU: every position of every
training window predicts the item that followed it, full softmax over the
catalog (cross-entropy, no sampled negatives: on MovieLens it converges in a
few dozen epochs where SASRec's sampled binary loss needs hundreds).

Order: ``fit`` takes each user's time-ordered ``sequences``; a user without one
is ordered by ascending matrix weight (decay-weighted affinities grow with
recency, so that is the recency order for one event type). A history given at
call time (``recommend_history``) is read in the mapping's order, oldest first:
the service passes the user's recent events and then the live session's views,
so the list follows the session event by event with no retrain.

Cold start: an unknown user with no history gets [] (the service answers
trending); an anonymous session of one or more known items is scored directly
(``recommend_history``). Items: each item's embedding is its learned id
embedding plus a learned linear projection of its content vector (Agora's
text+image vectors, ``embeddings`` at fit time; initialised to the vectors'
principal directions). Items that have a content vector but no training
interaction join the catalog with the projection alone, so a new listing can
be recommended (and found similar) before anyone interacted with it.

Example:
    >>> seqs = {f"u{k}": [f"a{(k + j) % 6}" for j in range(5)] for k in range(12)}
    >>> data = InteractionMatrix.from_triples((u, a, 1.0) for u, s in seqs.items() for a in s)
    >>> model = TransformerRecommender(dim=16, epochs=3).fit(data, sequences=seqs)
    >>> len(model.recommend_history({"a1": 1.0, "a2": 1.0}, 3))
    3
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from agora.errors import InvalidInput
from agora.mlops.artifact_state import VersionedState
from agora.recommend.base import InteractionMatrix, ScoredItem, top_n
from agora.recommend.matrix import MatrixRecommender, NotFitted
from agora.recommend.neural import (
    content_matrix,
    cosine_to,
    seed_everything,
    to_numpy,
    to_torch,
    torch_threads,
)

EpochHook = Callable[[int, "TransformerRecommender"], None]
SMALL_BATCH = 16  # sequences scored on one torch thread (a request, not a precompute batch)


class _SasRec(nn.Module):
    """Item table (+ content projection), positions, causal pre-norm transformer blocks."""

    def __init__(
        self,
        content: np.ndarray,
        warm: np.ndarray,
        *,
        dim: int,
        max_len: int,
        blocks: int,
        heads: int,
        dropout: float,
    ) -> None:
        super().__init__()
        n = content.shape[0]  # items + 1: row 0 is padding
        self.dim, self.heads = dim, heads
        self.item = nn.Embedding(n, dim, padding_idx=0)
        self.pos = nn.Embedding(max_len, dim)
        # Small embeddings (torch's default is N(0, 1)): scaled by sqrt(dim) at the
        # input and tied to the output, unit-variance rows start every softmax
        # saturated on the last item seen, and training crawls out of it.
        for emb in (self.item, self.pos):
            nn.init.normal_(emb.weight, std=0.05)
        with torch.no_grad():
            self.item.weight[0] = 0.0
        self.content: torch.Tensor
        self.warm: torch.Tensor
        self.register_buffer("content", torch.from_numpy(content))
        self.register_buffer("warm", torch.from_numpy(warm.astype(np.float32)).unsqueeze(1))
        self.proj = nn.Linear(content.shape[1], dim, bias=False) if content.shape[1] else None
        layer = nn.TransformerEncoderLayer(
            dim, heads, dim * 2, dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, blocks, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)

    def table(self) -> torch.Tensor:
        """Every item's embedding: id part (warm items only) plus the content projection."""
        e = self.item.weight * self.warm
        if self.proj is not None:
            e = e + self.proj(self.content)
        return e

    def encode(self, seqs: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        """Hidden states (B, L, dim) of left-padded index sequences (0 = padding)."""
        length = seqs.shape[1]
        x = table[seqs] * math.sqrt(self.dim) + self.pos.weight[:length]
        x = self.drop(x * (seqs > 0).unsqueeze(-1))
        # Causal and key-padding mask; a position may always see itself, so
        # no row is fully masked (an all -inf row would give NaN).
        causal = torch.ones(length, length, dtype=torch.bool).triu(1)
        mask = causal.unsqueeze(0) | (seqs == 0).unsqueeze(1)
        mask = mask & ~torch.eye(length, dtype=torch.bool)
        mask = mask.repeat_interleave(self.heads, dim=0)
        hidden: torch.Tensor = self.norm(self.encoder(x, mask=mask))
        return hidden


class TransformerRecommender(VersionedState, MatrixRecommender):
    """Self-attentive next-item model over ordered histories and live sessions.

    Stored format 1: the hyper-parameters, the weights as NumPy arrays
    (``weights``), each training user's last ``max_len`` item indexes
    (``sequences``), the content vectors and warm-item mask. The torch module is
    rebuilt from them at load (not pickled).
    """

    FORMAT_VERSION = 1
    name = "transformer"

    def __init__(
        self,
        dim: int = 64,
        *,
        max_len: int = 50,
        blocks: int = 2,
        heads: int = 2,
        dropout: float = 0.2,
        epochs: int = 30,
        learning_rate: float = 1e-3,
        batch_size: int = 128,
        num_threads: int = 1,
        random_state: int = 42,
    ):
        if dim % heads:
            raise InvalidInput("dim must be a multiple of heads")
        self.dim, self.max_len, self.blocks, self.heads = dim, max_len, blocks, heads
        self.dropout, self.epochs, self.learning_rate = dropout, epochs, learning_rate
        self.batch_size, self.num_threads, self.random_state = batch_size, num_threads, random_state

    def params(self) -> dict[str, Any]:
        return {
            "dim": self.dim,
            "max_len": self.max_len,
            "blocks": self.blocks,
            "heads": self.heads,
            "dropout": self.dropout,
            "epochs": self.epochs,
            "learning_rate": self.learning_rate,
            "batch_size": self.batch_size,
        }

    # -- fitting -----------------------------------------------------------------
    def fit(
        self,
        data: InteractionMatrix,
        *,
        sequences: Mapping[str, Sequence[str]] | None = None,
        embeddings: Mapping[str, np.ndarray] | None = None,
        on_epoch: EpochHook | None = None,
    ) -> Self:
        """Learn from each user's time-ordered ``sequences`` (default: weight order).

        ``embeddings`` (asset -> content vector) initialise the item table and add
        items that have no interaction yet; ``on_epoch(epoch, self)`` is called
        after each epoch with the model ready to score (validation curves).
        """
        cold = [a for a in (embeddings or {}) if a not in data.item_index]
        if cold:  # content-only items join the catalog with empty columns
            m = sp.hstack([data.matrix, sp.csr_matrix((data.shape[0], len(cold)))]).tocsr()
            data = InteractionMatrix(m, data.user_ids, data.item_ids + cold)
        self.data = data
        content, have = content_matrix(data.item_ids, embeddings)
        warm = np.asarray(data.matrix.getnnz(axis=0) > 0)
        self._content = np.vstack([np.zeros((1, content.shape[1]), np.float32), content])
        self._warm = np.concatenate([[False], warm | ~have])
        ordered = {u: np.asarray(self._ordered(data, u, sequences), np.int64) + 1
                   for u in data.user_ids}  # fmt: skip
        # Serving needs only each user's last max_len items.
        self.sequences = {u: s[-self.max_len :].astype(np.int32) for u, s in ordered.items()}
        with torch_threads(self.num_threads):
            self._train(self._windows(ordered.values()), on_epoch)
        return self

    @staticmethod
    def _ordered(
        data: InteractionMatrix, user: str, sequences: Mapping[str, Sequence[str]] | None
    ) -> list[int]:
        if sequences is not None and user in sequences:
            return [data.item_index[a] for a in sequences[user] if a in data.item_index]
        row = data.matrix[data.user_index[user]]
        return [int(j) for j in row.indices[np.argsort(row.data, kind="stable")]]

    def _fit(self, data: InteractionMatrix) -> None:
        raise NotImplementedError("fit is overridden")  # pragma: no cover

    def _module(self) -> _SasRec:
        return _SasRec(
            self._content,
            self._warm,
            dim=self.dim,
            max_len=self.max_len,
            blocks=self.blocks,
            heads=self.heads,
            dropout=self.dropout,
        )

    def _windows(self, sequences: Iterable[np.ndarray]) -> np.ndarray:
        """Every sequence cut (from its end) into windows of ``max_len + 1``, left-padded."""
        size = self.max_len + 1
        rows = []
        for seq in sequences:
            for end in range(len(seq), 1, -self.max_len):
                w = seq[max(0, end - size) : end]
                rows.append(np.concatenate([np.zeros(size - len(w), np.int64), w]))
        return np.asarray(rows, dtype=np.int64).reshape(-1, size)

    def _train(self, windows: np.ndarray, on_epoch: EpochHook | None) -> None:
        rng = seed_everything(self.random_state)
        net = self._module()
        if net.proj is not None:  # start from the content vectors' principal directions
            c = self._content[1:]
            _, _, vt = np.linalg.svd(c - c.mean(axis=0), full_matrices=False)
            k = min(self.dim, vt.shape[0])
            init = np.zeros((self.dim, c.shape[1]), np.float32)
            init[:k] = vt[:k]
            # At the id embeddings' scale (per-dimension RMS 0.05).
            init *= 0.05 / (float(np.sqrt(np.mean((c @ init.T) ** 2))) + 1e-9)
            with torch.no_grad():
                net.proj.weight.copy_(torch.from_numpy(init))
        opt = torch.optim.Adam(net.parameters(), lr=self.learning_rate)
        for epoch in range(1, self.epochs + 1):
            net.train()
            order = rng.permutation(len(windows))
            for start in range(0, len(windows), self.batch_size):
                batch = torch.from_numpy(windows[order[start : start + self.batch_size]])
                inputs, targets = batch[:, :-1], batch[:, 1:]
                table = net.table()
                keep = targets > 0
                logits = net.encode(inputs, table)[keep] @ table.T
                logits[:, 0] = -torch.inf  # padding is never the next item
                loss = nn.functional.cross_entropy(logits, targets[keep])
                opt.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]  # untyped upstream
                opt.step()
            if on_epoch is not None or epoch == self.epochs:
                self._adopt(net)
            if on_epoch is not None:
                on_epoch(epoch, self)

    def _adopt(self, net: _SasRec) -> None:
        """Keep the weights as arrays and an eval-mode module for inference."""
        self.weights = to_numpy(net.state_dict())
        self._build()

    def _build(self) -> None:
        net = self._module()
        net.load_state_dict(to_torch(self.weights))
        net.eval()
        with torch.no_grad():
            self._table = net.table()
        self._net = net

    # -- state -------------------------------------------------------------------
    def _stored_state(self) -> dict[str, Any]:
        # The module and its item table are rebuilt from ``weights`` at load.
        return {k: v for k, v in self.__dict__.items() if k not in ("_net", "_table")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if "weights" in self.__dict__:
            self._build()

    # -- scoring -----------------------------------------------------------------
    def score_sequences(self, sequences: Sequence[Sequence[int] | np.ndarray]) -> np.ndarray:
        """Next-item scores (len(sequences) x n_items) for item-index sequences, oldest first.

        Batched: one forward pass for the whole batch (the benchmark and the
        precompute job score many users at once). An empty sequence scores 0.
        """
        if "_net" not in self.__dict__:
            raise NotFitted(f"{self.name} is not fitted")
        length = max(1, min(self.max_len, max((len(s) for s in sequences), default=1)))
        batch = np.zeros((len(sequences), length), dtype=np.int64)
        for r, seq in enumerate(sequences):
            tail = np.asarray(seq[-length:], dtype=np.int64) + 1
            if len(tail):
                batch[r, length - len(tail) :] = tail
        # A request's forward pass on one intra-op thread: on a busy 2-core
        # machine a second torch thread waiting for a core took one list from
        # p50 1.2 ms / p99 22 ms to 33 ms / 770 ms. (The thread count is
        # process-wide, as BLAS's is for ALS's fold-in: batches keep torch's.)
        with torch_threads(1 if len(sequences) <= SMALL_BATCH else 0), torch.inference_mode():
            hidden = self._net.encode(torch.from_numpy(batch), self._table)[:, -1]
            scores = (hidden @ self._table[1:].T).numpy()
        scores[~batch.any(axis=1)] = 0.0
        return np.asarray(scores, dtype=np.float32)

    def recommend_batch(
        self, users: Sequence[str], n: int = 10, *, batch: int = 256
    ) -> dict[str, list[ScoredItem]]:
        """Top-``n`` unseen items of many known users, ``batch`` users per forward pass
        (the precompute job and the benchmarks); unknown users are left out."""
        data = self._data()
        known = [u for u in users if u in data.user_index]
        out: dict[str, list[ScoredItem]] = {}
        for start in range(0, len(known), batch):
            chunk = known[start : start + batch]
            scores = self.score_sequences([self.sequences[u] - 1 for u in chunk])
            for row, user in zip(scores, chunk, strict=True):
                r = data.user_index[user]
                seen = data.matrix.indices[data.matrix.indptr[r] : data.matrix.indptr[r + 1]]
                out[user] = top_n(row, data.item_ids, n, self.name, banned=seen)
        return out

    def score_user(self, user: str) -> tuple[np.ndarray, np.ndarray] | None:
        data = self._data()
        row = data.user_index.get(user)
        if row is None:
            return None
        seen = data.matrix.indices[data.matrix.indptr[row] : data.matrix.indptr[row + 1]]
        return self.score_sequences([self.sequences[user] - 1])[0], seen

    def score_history(self, history: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray] | None:
        """Scores after ``history`` read in its order (oldest first: the session ends it)."""
        index = self._data().item_index
        seq = [index[a] for a in history if a in index]
        if not seq:
            return None
        return self.score_sequences([seq])[0], np.asarray(seq, dtype=np.int64)

    def _scores(self, user_row: int | None, history: sp.csr_matrix) -> np.ndarray | None:
        order = history.indices[np.argsort(history.data, kind="stable")]
        return self.score_sequences([order.tolist()])[0] if len(order) else None

    def _similar(self, item_idx: int) -> np.ndarray:
        return cosine_to(self._table[1:].numpy(), item_idx)


TransformerRecommender.STATE_LOADERS = {1: dict}
