"""The tag taxonomy: categories, labels, synonyms, multilingual descriptions, cloud mappings.

It is data (``taxonomy.yaml`` shipped with the package); an operator points
``TaggingSettings.taxonomy_path`` at their own file. Every tag Agora emits is
``(category, label)`` from this taxonomy: synonyms fold into their label and
cloud providers' names are mapped here or dropped.

Example:
    >>> tax = Taxonomy.default()
    >>> tax.resolve("Spritesheet")
    ('object_type', 'sprite_sheet')
    >>> tax.map_cloud("rekognition", "Playing Card")
    ('object_type', 'playing_card')
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from agora.errors import InvalidInput

_NON_WORD = re.compile(r"[^0-9a-z#+]+")


def normalise(name: str) -> str:
    """Case- and punctuation-insensitive form used for matching names.

    >>> normalise("Sprite-Sheet ")
    'sprite sheet'
    """
    return _NON_WORD.sub(" ", name.lower().replace("_", " ")).strip()


@dataclass(frozen=True)
class Label:
    """One tag of a category."""

    category: str
    name: str
    synonyms: tuple[str, ...] = ()
    descriptions: Mapping[str, str] = field(default_factory=dict)

    def texts(self, languages: tuple[str, ...] | None = None) -> list[str]:
        """Texts that describe the label: its name, synonyms and descriptions.

        ``languages`` restricts descriptions (an English-only encoder gets ``("en",)``).
        """
        out = [self.name.replace("_", " "), *self.synonyms]
        out += [
            d for lang, d in self.descriptions.items() if languages is None or lang in languages
        ]
        return out


@dataclass(frozen=True, eq=False)  # identity hash: cached name index per instance
class Taxonomy:
    """Categories of labels plus per-provider cloud mappings."""

    version: str
    categories: Mapping[str, tuple[Label, ...]]
    cloud_mappings: Mapping[str, Mapping[str, tuple[str, str]]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Taxonomy:
        """Build and validate from parsed YAML."""
        if not isinstance(data, Mapping) or not isinstance(data.get("categories"), Mapping):
            raise InvalidInput("taxonomy must have a 'categories' mapping")
        categories: dict[str, tuple[Label, ...]] = {}
        for cat, body in data["categories"].items():
            labels = (body or {}).get("labels") or {}
            if not isinstance(labels, Mapping) or not labels:
                raise InvalidInput(f"taxonomy category {cat!r} has no labels")
            categories[str(cat)] = tuple(
                Label(
                    category=str(cat),
                    name=str(name),
                    synonyms=tuple(str(s) for s in (spec or {}).get("synonyms") or ()),
                    descriptions={
                        str(k): str(v) for k, v in ((spec or {}).get("descriptions") or {}).items()
                    },
                )
                for name, spec in labels.items()
            )
        mappings: dict[str, dict[str, tuple[str, str]]] = {}
        for provider, rules in (data.get("cloud_mappings") or {}).items():
            mappings[str(provider)] = {}
            for external, target in (rules or {}).items():
                cat, label = str(target["category"]), str(target["label"])
                if label not in {lb.name for lb in categories.get(cat, ())}:
                    raise InvalidInput(f"cloud mapping {external!r} -> unknown tag {cat}/{label}")
                mappings[str(provider)][normalise(str(external))] = (cat, label)
        tax = cls(str(data.get("version", "1")), categories, mappings)
        tax._check_unique_names()
        return tax

    @classmethod
    def load(cls, path: str | Path) -> Taxonomy:
        """Read an operator's taxonomy YAML file."""
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise InvalidInput(f"cannot read taxonomy {path}: {exc}") from exc
        return cls.from_dict(data)

    @classmethod
    def default(cls) -> Taxonomy:
        """The taxonomy shipped with Agora."""
        return _default_taxonomy()

    def _check_unique_names(self) -> None:
        seen: dict[str, str] = {}
        for label in self.labels():
            key = normalise(label.name)
            if key in seen and seen[key] != label.category:
                raise InvalidInput(f"label {label.name!r} appears in two categories")
            seen[key] = label.category

    def labels(self, category: str | None = None) -> Iterator[Label]:
        """All labels, or those of one category."""
        for cat, labels in self.categories.items():
            if category is None or cat == category:
                yield from labels

    def label(self, category: str, name: str) -> Label:
        for lb in self.categories.get(category, ()):
            if lb.name == name:
                return lb
        raise InvalidInput(f"unknown tag {category}/{name}")

    @property
    def _index(self) -> dict[str, tuple[str, str]]:
        return _name_index(self)

    def resolve(self, name: str, category: str | None = None) -> tuple[str, str] | None:
        """``(category, label)`` for a label name or synonym; None if unknown."""
        hit = self._index.get(normalise(name))
        if hit is None or (category is not None and hit[0] != category):
            return None
        return hit

    def map_cloud(self, provider: str, name: str) -> tuple[str, str] | None:
        """Our ``(category, label)`` for a cloud provider's label name, or None."""
        rule = self.cloud_mappings.get(provider, {}).get(normalise(name))
        return rule if rule is not None else self.resolve(name)


@cache
def _name_index(tax: Taxonomy) -> dict[str, tuple[str, str]]:
    index: dict[str, tuple[str, str]] = {}
    # Names first, so a label's own name wins over another label's synonym.
    for label in tax.labels():
        index.setdefault(normalise(label.name), (label.category, label.name))
    for label in tax.labels():
        for syn in label.synonyms:
            index.setdefault(normalise(syn), (label.category, label.name))
    return index


@cache
def _default_taxonomy() -> Taxonomy:
    text = resources.files("agora.tagging").joinpath("taxonomy.yaml").read_text(encoding="utf-8")
    return Taxonomy.from_dict(yaml.safe_load(text))
