"""Item category of a photo from the image encoder's ImageNet classes (seed 001's ``category``).

The platform's image encoder (EfficientNet-Lite0, ``agora.encoders``) gives
probabilities over the 1000 ImageNet classes. Its top classes are mapped to a
coarse marketplace category and their probabilities summed per category:

* ImageNet's class order is by WordNet subtree for some blocks, which are
  mapped by index (0-397 animals, 924-969 food and drink, 970-980 landscapes,
  984-998 plants and fungi): no text similarity can place "Bouvier des
  Flandres" better than its index does;
* every other class (mostly the 526 artefacts, in alphabetical order) goes
  to the category whose description is nearest to the class name in the
  MiniLM text space (the same encoder as search; class-name embeddings are
  computed lazily and cached like ConSE's).

It is a zero-shot mapping, not a trained product classifier: the answer
carries its evidence (the top ImageNet classes) and a confidence, and is
``unknown`` when the classes are too uncertain. Condition grading has no
model at all (see ``agora.moderation.image``).

Example:
    >>> ItemCategorizer(platform.encoders).categorize(photo).label  # doctest: +SKIP
    'food_and_drink'
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from agora.encoders.factory import Encoders

CATEGORIES: dict[str, str] = {
    "animals": "an animal or pet: dog, cat, bird, fish, insect, reptile",
    "vehicles": "a vehicle: car, truck, bus, motorcycle, bicycle, boat, ship, airplane, "
    "train, space shuttle",
    "clothing_and_accessories": "clothing and fashion: dress, shirt, coat, shoes, hat, bag, "
    "jewellery, watch, sunglasses",
    "electronics": "electronics: computer, laptop, phone, camera, television, monitor, "
    "keyboard, speaker",
    "home_and_furniture": "home and furniture: chair, table, bed, sofa, lamp, kitchenware, "
    "appliance, household item",
    "food_and_drink": "food and drink: meal, dish, fruit, vegetable, bread, coffee, wine",
    "sports_and_outdoors": "sports and outdoor gear: ball, racket, ski, bicycle helmet, tent, "
    "fishing, fitness equipment",
    "tools_and_hardware": "tools and hardware: hammer, screwdriver, saw, drill, wrench, nail, "
    "padlock",
    "toys_and_games": "toys and games: doll, teddy bear, puzzle, board game, toy, game controller",
    "music_instruments": "musical instruments: guitar, piano, drum, violin, trumpet, flute",
    "books_and_art": "books, art and stationery: book, painting, comic, pen, envelope",
    "weapons": "weapons: gun, rifle, pistol, sword, knife, missile, military equipment",
    "buildings_and_places": "buildings and places: house, church, castle, bridge, shop, "
    "monument, tower",
    "nature_and_landscapes": "nature and landscapes: mountain, beach, lake, volcano, valley, "
    "plant, flower, mushroom",
}
INDEX_BLOCKS: tuple[tuple[int, int, str], ...] = (
    (0, 397, "animals"),
    (924, 969, "food_and_drink"),
    (970, 980, "nature_and_landscapes"),
    (984, 998, "nature_and_landscapes"),
)
TOP_K = 5
MIN_CONFIDENCE = 0.35
UNKNOWN = "unknown"


def block_category(index: int) -> str | None:
    """The category of an ImageNet class index by its WordNet block, if it has one.

    >>> block_category(281), block_category(967), block_category(817)
    ('animals', 'food_and_drink', None)
    """
    for lo, hi, name in INDEX_BLOCKS:
        if lo <= index <= hi:
            return name
    return None


@dataclass(frozen=True)
class ItemCategory:
    """A photo's coarse category with the ImageNet classes it rests on."""

    label: str
    confidence: float
    scores: dict[str, float]
    evidence: list[dict[str, Any]]
    models: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
            "imagenet_top": self.evidence,
            "models": self.models,
            "method": "zero-shot mapping of the image encoder's ImageNet classes",
        }


class ItemCategorizer:
    """Maps the image encoder's class probabilities to ``CATEGORIES`` (thread-safe)."""

    def __init__(
        self, encoders: Encoders, text_profile: str = "minilm", cache_dir: Path | None = None
    ) -> None:
        """``encoders``: the process's (its image encoder, and the text encoder
        that embeds the category descriptions and class names)."""
        self.encoders = encoders
        self.text_profile = text_profile
        self.cache_dir = cache_dir
        self._lock = threading.Lock()
        self._names: Any = None  # agora.encoders.conse.ClassNameTable
        self._centroids: np.ndarray | None = None
        self._class_category: dict[int, str] = {}
        self._text_key = ""

    def _load(self) -> None:
        with self._lock:
            if self._centroids is not None:
                return
            from agora.encoders.conse import ClassNameTable

            text = self.encoders.text(self.text_profile)
            vecs = text.encode_passages(list(CATEGORIES.values()))
            self._names = ClassNameTable(text, self.cache_dir)
            self._text_key = text.info.key
            self._centroids = np.asarray(vecs, dtype=np.float32)

    def category_of(self, index: int) -> str:
        """The category of one ImageNet class (by block, else nearest description)."""
        fixed = block_category(index)
        if fixed is not None:
            return fixed
        if index not in self._class_category:
            self._load()
            assert self._centroids is not None
            vec = self._names.rows(np.array([index]))[0]
            names = list(CATEGORIES)
            self._class_category[index] = names[int(np.argmax(self._centroids @ vec))]
        return self._class_category[index]

    def from_probs(self, probs: np.ndarray, image_model: str) -> ItemCategory:
        """The category of one image from its (1000,) class probabilities."""
        from agora.encoders.imagenet import class_names

        names = class_names()
        top = np.argsort(-probs)[:TOP_K]
        scores: dict[str, float] = {}
        evidence = []
        for i in top:
            cat = self.category_of(int(i))
            scores[cat] = scores.get(cat, 0.0) + float(probs[i])
            evidence.append({"class": names[i], "p": round(float(probs[i]), 4), "category": cat})
        best = max(scores, key=lambda k: scores[k])
        confidence = scores[best]
        models = [image_model] + ([self._text_key] if self._text_key else [])
        label = best if confidence >= MIN_CONFIDENCE else UNKNOWN
        return ItemCategory(label, confidence, scores, evidence, models)

    def categorize(self, image: Any) -> ItemCategory:
        """The category of one decoded RGB image (the process's image encoder)."""
        enc = self.encoders.image()
        probs = enc.encode_images([image]).class_probs[0]
        return self.from_probs(np.asarray(probs, dtype=np.float64), enc.info.key)
