"""``neural_cf``: NeuMF (He et al., WWW 2017), GMF and MLP towers on implicit feedback.

Score of (user, item): ``sigmoid(h . [p_u * q_i ; MLP([p'_u ; q'_i])])`` with
separate embeddings for the generalised matrix factorisation (GMF) tower and
the MLP tower. Trained with PyTorch on the CPU as the paper does: pointwise
binary cross-entropy, each interaction a positive and ``negatives`` items the
user never interacted with (drawn uniformly each epoch) as negatives, Adam.
Serving computes the logit for every item in NumPy (the towers' weights are
stored as arrays).

Cold start: the model has an embedding per training user only. An unknown
user gets [] (the service answers trending), and a history given at call time
is not folded in: a known user is answered from their trained embedding (the
live events count after the next retrain), an unknown one gets []. Items
without a training interaction are not scored.

Example:
    >>> data = InteractionMatrix.from_triples([("u1", "a1", 1), ("u1", "a2", 1),
    ...                                        ("u2", "a1", 1), ("u3", "a3", 1)])
    >>> model = NeuralCfRecommender(dim=4, layers=(8, 4), epochs=2).fit(data)
    >>> len(model.recommend("u2", 2))
    2
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from agora.mlops.artifact_state import VersionedState
from agora.recommend.base import InteractionMatrix
from agora.recommend.matrix import MatrixRecommender
from agora.recommend.neural import cosine_to, seed_everything, to_numpy, torch_threads

EpochHook = Callable[[int, "NeuralCfRecommender"], None]


class _NeuMF(nn.Module):
    def __init__(self, n_users: int, n_items: int, dim: int, layers: tuple[int, ...]) -> None:
        super().__init__()
        self.gmf_user = nn.Embedding(n_users, dim)
        self.gmf_item = nn.Embedding(n_items, dim)
        self.mlp_user = nn.Embedding(n_users, layers[0] // 2)
        self.mlp_item = nn.Embedding(n_items, layers[0] // 2)
        for emb in (self.gmf_user, self.gmf_item, self.mlp_user, self.mlp_item):
            nn.init.normal_(emb.weight, std=0.01)
        self.mlp = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(layers))
        self.out = nn.Linear(dim + layers[-1], 1)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        gmf = self.gmf_user(users) * self.gmf_item(items)
        h = torch.cat([self.mlp_user(users), self.mlp_item(items)], dim=1)
        for layer in self.mlp:
            h = torch.relu(layer(h))
        logits: torch.Tensor = self.out(torch.cat([gmf, h], dim=1)).squeeze(1)
        return logits


class NeuralCfRecommender(VersionedState, MatrixRecommender):
    """NeuMF with ``dim``-dimensional GMF embeddings and MLP tower sizes ``layers``.

    Stored format 1: the weights as NumPy arrays (``weights``) and the hyper-parameters.
    """

    FORMAT_VERSION = 1
    name = "neural_cf"

    def __init__(
        self,
        dim: int = 32,
        *,
        layers: tuple[int, ...] = (64, 32, 16),
        negatives: int = 4,
        epochs: int = 20,
        learning_rate: float = 1e-3,
        l2: float = 0.0,
        batch_size: int = 1024,
        num_threads: int = 1,
        random_state: int = 42,
    ):
        self.dim, self.layers, self.negatives = dim, tuple(layers), negatives
        self.epochs, self.learning_rate, self.l2 = epochs, learning_rate, l2
        self.batch_size, self.num_threads, self.random_state = batch_size, num_threads, random_state

    def params(self) -> dict[str, Any]:
        return {
            "dim": self.dim,
            "layers": list(self.layers),
            "negatives": self.negatives,
            "epochs": self.epochs,
            "learning_rate": self.learning_rate,
            "l2": self.l2,
            "batch_size": self.batch_size,
        }

    def fit(self, data: InteractionMatrix, *, on_epoch: EpochHook | None = None) -> Self:
        """Train on the binarised matrix; ``on_epoch(epoch, self)`` after each epoch."""
        self.data = data
        with torch_threads(self.num_threads):
            self._train(data, on_epoch)
        return self

    def _fit(self, data: InteractionMatrix) -> None:
        raise NotImplementedError("fit is overridden")  # pragma: no cover

    def _train(self, data: InteractionMatrix, on_epoch: EpochHook | None) -> None:
        rng = seed_everything(self.random_state)
        n_users, n_items = data.shape
        net = _NeuMF(n_users, n_items, self.dim, self.layers)
        opt = torch.optim.Adam(net.parameters(), lr=self.learning_rate, weight_decay=self.l2)
        coo = data.matrix.tocoo()
        pos_u, pos_i = coo.row.astype(np.int64), coo.col.astype(np.int64)
        seen = set((pos_u * n_items + pos_i).tolist())
        for epoch in range(1, self.epochs + 1):
            users, items, labels = self._samples(pos_u, pos_i, seen, n_items, rng)
            net.train()
            for start in range(0, len(users), self.batch_size):
                sl = slice(start, start + self.batch_size)
                logits = net(torch.from_numpy(users[sl]), torch.from_numpy(items[sl]))
                loss = nn.functional.binary_cross_entropy_with_logits(
                    logits, torch.from_numpy(labels[sl])
                )
                opt.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]  # untyped upstream
                opt.step()
            if on_epoch is not None or epoch == self.epochs:
                self.weights = to_numpy(net.state_dict())
            if on_epoch is not None:
                on_epoch(epoch, self)

    def _samples(
        self,
        pos_u: np.ndarray,
        pos_i: np.ndarray,
        seen: set[int],
        n_items: int,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Shuffled (users, items, labels): every positive and ``negatives`` unseen items each."""
        neg_u = np.repeat(pos_u, self.negatives)
        neg_i = rng.integers(0, n_items, len(neg_u))
        # Redraw the negatives that hit a positive (a few rounds leave ~none).
        for _ in range(10):
            clash = np.fromiter(
                (k in seen for k in (neg_u * n_items + neg_i).tolist()), bool, len(neg_u)
            )
            if not clash.any():
                break
            neg_i[clash] = rng.integers(0, n_items, int(clash.sum()))
        users = np.concatenate([pos_u, neg_u])
        items = np.concatenate([pos_i, neg_i])
        labels = np.concatenate([np.ones(len(pos_u)), np.zeros(len(neg_u))]).astype(np.float32)
        order = rng.permutation(len(users))
        return users[order], items[order], labels[order]

    def _scores(self, user_row: int | None, history: sp.csr_matrix) -> np.ndarray | None:
        if user_row is None:
            return None  # no fold-in: see the module docstring
        w = self.weights
        gmf = w["gmf_item.weight"] * w["gmf_user.weight"][user_row]
        items = w["mlp_item.weight"]
        user = np.broadcast_to(w["mlp_user.weight"][user_row], (len(items), items.shape[1]))
        h = np.concatenate([user, items], axis=1)
        for k in range(len(self.layers) - 1):
            h = np.maximum(h @ w[f"mlp.{k}.weight"].T + w[f"mlp.{k}.bias"], 0.0)
        out = np.concatenate([gmf, h], axis=1) @ w["out.weight"][0] + w["out.bias"][0]
        return np.asarray(out, dtype=np.float32)

    def _similar(self, item_idx: int) -> np.ndarray:
        w = self.weights
        return cosine_to(np.hstack([w["gmf_item.weight"], w["mlp_item.weight"]]), item_idx)


NeuralCfRecommender.STATE_LOADERS = {1: dict}
