"""Zero-shot taggers: image (ConSE) and text, against the taxonomy's label descriptions.

Each label gets a prototype in the text encoder's space: the normalised mean
of the embeddings of its name, synonyms and descriptions (all languages for
the multilingual profile, English for the English one). An asset is compared
with every prototype of a category; a softmax over the category's cosine
similarities (temperature ``temperature``) gives confidences in [0, 1] that
sum to one within the category, so a tag is confident only when it clearly
beats its rivals. Zero-shot similarities are not calibrated (no labelled data
stands behind them), so the softmax is scaled by ``ceiling`` (0.8): a zero-shot
tag alone never reaches the high-confidence band (>= 0.8) where the ADR bounds
false positives, and a weak local result triggers the cloud fallback. Agreement
with another model, a trained head or a creator tag lifts a tag above it.

- Image: the mean ConSE vector of the asset's images (ImageNet classes ->
  text space, see ``agora.encoders.conse``).
- Text: the passage embedding of title, description and creator tags; creator
  tags that name a taxonomy label (or synonym) exactly are also emitted by
  ``CreatorTagTagger`` with a fixed high confidence: the creator said so.

Example:
    >>> tagger = ZeroShotImageTagger(taxonomy, text_encoder("minilm"), conse)  # doctest: +SKIP
    >>> tagger.predict(item)[0].name  # doctest: +SKIP
    'tank'
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np

from agora.encoders.base import TextEncoder
from agora.encoders.conse import ConseEncoder
from agora.encoders.text import l2_normalise
from agora.tagging.base import Tag, TaggingInput
from agora.tagging.features import TaggingFeatureExtractor, image_features
from agora.tagging.taxonomy import Taxonomy

# Categories whose labels come from file analysis, not from looking at pixels.
FILE_CATEGORIES = frozenset({"format", "engine_compatibility"})


class LabelPrototypes:
    """Label prototypes of one taxonomy in one text encoder's space, embedded on
    first use (once, thread-safe). The taggers of one service share one."""

    def __init__(self, taxonomy: Taxonomy, text: TextEncoder) -> None:
        self.taxonomy = taxonomy
        self.text = text
        self._by_category: dict[str, tuple[list[str], np.ndarray]] | None = None
        self._lock = threading.Lock()

    @property
    def by_category(self) -> dict[str, tuple[list[str], np.ndarray]]:
        """Category -> (label names, normalised prototype rows)."""
        with self._lock:
            if self._by_category is None:
                self._by_category = self._embed()
            return self._by_category

    def _embed(self) -> dict[str, tuple[list[str], np.ndarray]]:
        languages = ("en",) if self.text.info.name == "minilm" else None
        by_category: dict[str, tuple[list[str], np.ndarray]] = {}
        for category in self.taxonomy.categories:
            if category in FILE_CATEGORIES:
                continue
            names, protos = [], []
            for label in self.taxonomy.labels(category):
                vecs = self.text.encode_passages(label.texts(languages))
                protos.append(vecs.mean(axis=0))
                names.append(label.name)
            by_category[category] = (names, l2_normalise(np.stack(protos)))
        return by_category


def softmax_tags(
    vector: np.ndarray,
    protos: LabelPrototypes,
    *,
    temperature: float,
    top_n: int,
    floor: float,
    model: str,
    elapsed_ms: float,
    ceiling: float = 1.0,
) -> list[Tag]:
    """Per-category softmax of cosine similarities; the ``top_n`` tags above ``floor``."""
    tags: list[Tag] = []
    for category, (names, matrix) in protos.by_category.items():
        sims = matrix @ vector
        z = (sims - sims.max()) / temperature
        conf = ceiling * np.exp(z) / np.exp(z).sum()
        for i in np.argsort(-conf)[:top_n]:
            if conf[i] >= floor:
                tags.append(Tag(names[i], float(conf[i]), category, model, elapsed_ms))
    return tags


class _PrototypeTagger:
    """Shared part of the zero-shot taggers: a vector vs label prototypes, softmaxed."""

    version = "1.0"
    kind = ""

    def __init__(
        self,
        taxonomy: Taxonomy,
        text: TextEncoder,
        *,
        prototypes: LabelPrototypes | None = None,
        temperature: float = 0.05,
        top_n: int = 3,
        floor: float = 0.02,
        ceiling: float = 0.8,
    ) -> None:
        """``prototypes``: the label prototypes of (``taxonomy``, ``text``), shared
        with the service's other tagger; None: this tagger embeds its own."""
        if prototypes is not None and (
            prototypes.taxonomy is not taxonomy or prototypes.text.info.key != text.info.key
        ):
            raise ValueError("prototypes of another taxonomy or text encoder")
        self.taxonomy = taxonomy
        self.text = text  # the encoder the label prototypes are embedded with
        self.prototypes = prototypes or LabelPrototypes(taxonomy, text)
        self.ceiling = ceiling
        self.temperature = temperature
        self.top_n = top_n
        self.floor = floor

    @property
    def model(self) -> str:
        return f"zeroshot-{self.kind}@{self.version}"

    def _tags(self, vector: np.ndarray, start: float) -> list[Tag]:
        return softmax_tags(
            vector, self.prototypes, temperature=self.temperature,
            top_n=self.top_n, floor=self.floor, model=self.model,
            elapsed_ms=(time.perf_counter() - start) * 1000, ceiling=self.ceiling,
        )  # fmt: skip


class ZeroShotImageTagger(_PrototypeTagger):
    """ConSE image vector vs label prototypes."""

    kind = "image"

    def __init__(
        self,
        taxonomy: Taxonomy,
        conse: ConseEncoder,
        extractor: TaggingFeatureExtractor,
        *,
        prototypes: LabelPrototypes | None = None,
        **softmax: float,
    ) -> None:
        super().__init__(taxonomy, conse.text, prototypes=prototypes, **softmax)  # type: ignore[arg-type]
        self.conse = conse
        self.extractor = extractor

    def scores(self, conse_vectors: np.ndarray) -> dict[str, np.ndarray]:
        """Per-category softmax confidences for rows of ConSE vectors (batch path)."""
        out = {}
        for category, (_, matrix) in self.prototypes.by_category.items():
            z = (conse_vectors @ matrix.T) / self.temperature
            z -= z.max(axis=1, keepdims=True)
            e = np.exp(z)
            out[category] = self.ceiling * e / e.sum(axis=1, keepdims=True)
        return out

    def predict(self, item: TaggingInput) -> list[Tag]:
        if not item.images:
            return []
        start = time.perf_counter()
        feats = image_features(item, self.extractor, self.conse)
        return self._tags(l2_normalise(feats.conse.mean(axis=0, keepdims=True))[0], start)


class ZeroShotTextTagger(_PrototypeTagger):
    """Title + description + creator tags vs label prototypes."""

    kind = "text"

    def predict(self, item: TaggingInput) -> list[Tag]:
        text = item.text
        if not text:
            return []
        start = time.perf_counter()
        return self._tags(self.text.encode_passages([text])[0], start)


class CreatorTagTagger:
    """Creator tags that name a taxonomy label or synonym, at a fixed confidence."""

    version = "1.0"

    def __init__(self, taxonomy: Taxonomy, confidence: float = 0.9) -> None:
        self.taxonomy = taxonomy
        self.confidence = confidence

    @property
    def model(self) -> str:
        return f"creator-tags@{self.version}"

    def predict(self, item: TaggingInput) -> list[Tag]:
        seen: set[tuple[str, str]] = set()
        tags = []
        for raw in _strings(item.creator_tags):
            hit = self.taxonomy.resolve(raw)
            if hit and hit not in seen:
                seen.add(hit)
                tags.append(Tag(hit[1], self.confidence, hit[0], self.model))
        return tags


def _strings(values: Sequence[object]) -> list[str]:
    return [v for v in values if isinstance(v, str)][:100]
