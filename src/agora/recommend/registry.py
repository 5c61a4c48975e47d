"""Algorithm name -> model class, and how the platform builds each one from settings.

Example:
    >>> sorted(MODEL_CLASSES)
    ['als', 'bpr', 'content', 'ease', 'graph', 'hybrid', 'item_knn', 'neural_cf', 'transformer']
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from agora.recommend.base import Recommender
from agora.recommend.content import ContentRecommender
from agora.recommend.ease import EaseRecommender
from agora.recommend.hybrid import HybridRecommender
from agora.recommend.knn import ItemKnnRecommender
from agora.recommend.matrix import MatrixRecommender
from agora.recommend.mf import AlsRecommender, BprRecommender
from agora.recommend.rp3 import Rp3BetaRecommender

if TYPE_CHECKING:
    from agora.config import RecommendSettings


class _Classes(Mapping[str, type[Recommender]]):
    """Algorithm -> class; the PyTorch models' modules are imported on first use.

    The serving path never imports torch (``test_lite0_onnx``): only a process
    that serves or trains one of them does, and without torch (the ``train``
    extra) looking one up raises ImportError, which serving reports as a
    missing model.
    """

    def __init__(self, eager: dict[str, type[Recommender]], lazy: dict[str, str]) -> None:
        self._eager, self._lazy = eager, lazy

    def __getitem__(self, name: str) -> type[Recommender]:
        if name in self._eager:
            return self._eager[name]
        module, _, attr = self._lazy[name].partition(":")
        cls: type[Recommender] = getattr(importlib.import_module(module), attr)
        return cls

    def __contains__(self, name: object) -> bool:  # a key test imports nothing
        return name in self._eager or name in self._lazy

    def __iter__(self) -> Iterator[str]:
        return iter([*self._eager, *self._lazy])

    def __len__(self) -> int:
        return len(self._eager) + len(self._lazy)


MODEL_CLASSES: Mapping[str, type[Recommender]] = _Classes(
    {
        "als": AlsRecommender,
        "bpr": BprRecommender,
        "ease": EaseRecommender,
        "item_knn": ItemKnnRecommender,
        "content": ContentRecommender,
        "hybrid": HybridRecommender,
    },
    {
        "transformer": "agora.recommend.sasrec:TransformerRecommender",
        "neural_cf": "agora.recommend.ncf:NeuralCfRecommender",
        "graph": "agora.recommend.lightgcn:GraphRecommender",
    },
)
# Arms the bandit may pick for a user with history (trending is always added).
PERSONAL_ARMS: tuple[str, ...] = (
    "hybrid",
    "ease",
    "als",
    "bpr",
    "item_knn",
    "content",
    "transformer",
    "neural_cf",
    "graph",
)


def collaborative_models(settings: RecommendSettings) -> dict[str, MatrixRecommender]:
    """Fresh, unfitted collaborative models configured by ``settings``."""
    return {
        "ease": EaseRecommender(settings.ease_lambda, dropout=settings.ease_dropout),
        "item_knn": ItemKnnRecommender(100, weighting="bm25"),
        "rp3beta": Rp3BetaRecommender(1.0, 0.5),
        "als": AlsRecommender(
            settings.als_factors,
            regularization=settings.als_regularization,
            alpha=settings.als_alpha,
            iterations=15,
        ),
        # implicit's BPR overfits past ~100 epochs at this rate (MovieLens-100k:
        # 0.36 NDCG@10 at 100 epochs, 0.30 at 210).
        "bpr": BprRecommender(64, learning_rate=0.005, regularization=0.01, iterations=100),
    }


# The hybrid blends these (BPR is left out: weakest and slowest to fit, and
# its blend weight came out 0 on validation).
HYBRID_COMPONENTS: tuple[str, ...] = ("ease", "als", "rp3beta", "item_knn")


def hybrid_components(settings: RecommendSettings) -> dict[str, MatrixRecommender]:
    """Fresh, unfitted components of the hybrid blend."""
    models = collaborative_models(settings)
    return {name: models[name] for name in HYBRID_COMPONENTS}


NEURAL_MODELS: tuple[str, ...] = ("transformer", "neural_cf", "graph")


def neural_models() -> dict[str, Recommender]:
    """Fresh, unfitted PyTorch models (``NEURAL_MODELS``), configured as chosen on
    validation splits of MovieLens-100k's training parts (``benchmarks/recommend_quality.py``).

    The transformer wants each user's time-ordered history at fit time
    (``fit(data, sequences=..., embeddings=...)``); the others fit on the matrix.
    """
    from agora.recommend.lightgcn import GraphRecommender
    from agora.recommend.ncf import NeuralCfRecommender
    from agora.recommend.sasrec import TransformerRecommender

    return {
        "transformer": TransformerRecommender(64, max_len=50, epochs=30, batch_size=32),
        "neural_cf": NeuralCfRecommender(32, layers=(64, 32, 16), epochs=10),
        "graph": GraphRecommender(64, layers=3, epochs=250, l2=0.01),
    }
