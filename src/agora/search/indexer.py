"""Writes assets into the search indexes: text vectors, image vectors, ConSE vectors, keywords.

One asset gives:

- ``asset_text``: the passage embedding of title + description + tags;
- ``asset_image``: one feature vector per decodable image (``<id>#<n>``);
- ``asset_conse``: one ConSE vector per image, in the text encoder's space,
  so a text query finds pictures;
- keyword index ``assets``: title, description and tags as separate fields.

Indexing does not look at the status: visibility is decided at query time
against the catalog, so a pending asset can be indexed by the upload
pipeline and becomes findable the moment it turns active. Removal (delete,
ban) drops the rows so the indexes do not grow with dead assets.

Example:
    >>> indexer = AssetIndexer(platform.search_backends, platform.blobs)  # doctest: +SKIP
    >>> indexer.index_many([asset_view(row)])  # doctest: +SKIP
    {'assets': 1, 'images': 2, 'image_errors': 0, 'models': {...}}
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from PIL import Image

from agora.blobs.base import BlobStore
from agora.index.base import KeywordDoc
from agora.search.backends import (
    CONSE_INDEX,
    IMAGE_INDEX,
    TEXT_INDEX,
    SearchBackends,
    image_key,
)
from agora.search.language import detect_language

log = logging.getLogger("agora.search.indexer")
# Upper bound on images per asset kept in the per-image indexes (and deleted on removal).
MAX_IMAGES = 64


def passage_text(asset: Mapping[str, Any]) -> str:
    """The text embedded for an asset: title, description, then tags, as sentences.

    >>> passage_text({"title": "Tank", "description": "A green tank.", "tags": ["war", "2d"]})
    'Tank. A green tank. Tags: war, 2d'
    >>> passage_text({"title": "Tank", "description": "Green", "tags": ["war"]})
    'Tank. Green. Tags: war'
    >>> passage_text({"title": "Tank!", "tags": ["war"]})
    'Tank! Tags: war'
    >>> passage_text({"tags": ["war"]})
    'Tags: war'
    """
    parts = [str(asset.get("title") or "").strip().rstrip("."), str(asset.get("description") or "")]
    text = ". ".join(p.strip() for p in parts if p.strip())
    tags = [str(t) for t in asset.get("tags") or asset.get("creator_tags") or []]
    if not tags:
        return text
    # A description usually ends its own sentence: no second full stop ("tank.. Tags").
    if text and not text.endswith((".", "!", "?")):
        text += "."
    return f"{text} Tags: {', '.join(tags)}".lstrip()


def keyword_doc(asset: Mapping[str, Any]) -> KeywordDoc:
    """Keyword-index document of an asset (fields kept apart for highlights)."""
    title = str(asset.get("title") or "")
    description = str(asset.get("description") or "")
    tags = " ".join(str(t) for t in asset.get("tags") or asset.get("creator_tags") or [])
    return KeywordDoc(
        id=str(asset["id"]),
        fields={"title": title, "description": description, "tags": tags},
        language=detect_language(f"{title} {description}"),
    )


class AssetIndexer:
    """Embeds assets and upserts them into the named indexes."""

    def __init__(self, backends: SearchBackends, blobs: BlobStore) -> None:
        self.backends = backends
        self.blobs = blobs

    def _images(self, asset: Mapping[str, Any]) -> tuple[list[Image.Image], list[str]]:
        """Decoded images of an asset (RGB) and the errors of those that failed."""
        images: list[Image.Image] = []
        errors: list[str] = []
        for ref in list(asset.get("images") or [])[:MAX_IMAGES]:
            try:
                img = Image.open(io.BytesIO(self.blobs.get(str(ref["sha256"]))))
                img.draft("RGB", (448, 448))  # JPEG: decode at reduced size, much faster
                img.load()
            # Decoders raise anything on hostile bytes: a corrupt image is skipped, never fatal.
            except Exception as exc:  # noqa: BLE001
                errors.append(f"{ref.get('name', ref.get('sha256'))}: {exc}")
                continue
            images.append(img)
        return images, errors

    def index_many(
        self, assets: Sequence[Mapping[str, Any]], *, prune: bool = True
    ) -> dict[str, Any]:
        """Embed and upsert ``assets`` in one batch (the rebuild and bulk path).

        ``prune`` drops image rows left from an earlier version with more
        images; a rebuild into empty indexes skips it."""
        each = self.index_each(assets, prune=prune)
        models: dict[str, str] = {}
        for summary in each:
            models |= summary["models"]
        return {
            "assets": len(each),
            "images": sum(s["images"] for s in each),
            "image_errors": sum(s["image_errors"] for s in each),
            "models": models,
        }

    def index_each(
        self, assets: Sequence[Mapping[str, Any]], *, prune: bool = True
    ) -> list[dict[str, Any]]:
        """``index_many`` with one summary per asset (the pipeline's batch step).

        Keyword documents are written first (an active asset is keyword-searchable
        at once), then every text vector from one encoder call, then every image
        from one call. An unreadable image is that asset's ``image_errors``."""
        if not assets:
            return []
        ids = [str(a["id"]) for a in assets]
        self.backends.keyword().add([keyword_doc(a) for a in assets])
        text_encoder = self.backends.text_encoder()
        vectors = text_encoder.encode_passages([passage_text(a) for a in assets])
        self.backends.vector(TEXT_INDEX).add(ids, vectors, encoder=text_encoder.info.key)
        summaries: list[dict[str, Any]] = []
        rows: list[str] = []
        pictures: list[Image.Image] = []
        for asset_id, asset in zip(ids, assets, strict=True):
            images, failed = self._images(asset)
            for err in failed:
                log.warning("asset %s: image not indexed: %s", asset_id, err)
            rows += [image_key(asset_id, n) for n in range(len(images))]
            pictures += images
            if prune:
                self._delete_rows([image_key(asset_id, n) for n in range(len(images), MAX_IMAGES)])
            summaries.append(
                {"assets": 1, "images": len(images), "image_errors": len(failed),
                 "models": {"text": text_encoder.info.key}}
            )  # fmt: skip
        if pictures:
            image_models = self._index_images(rows, pictures)
            for summary in summaries:
                if summary["images"]:
                    summary["models"] |= image_models
        return summaries

    def _index_images(self, rows: list[str], pictures: list[Image.Image]) -> dict[str, str]:
        encoder = self.backends.image_encoder()
        bridge = self.backends.conse()
        encoding = encoder.encode_images(pictures)
        self.backends.vector(IMAGE_INDEX).add(rows, encoding.features, encoder=encoder.info.key)
        conse = np.asarray(bridge.from_probs(encoding.class_probs), dtype=np.float32)
        # ConSE vectors live in the text encoder's space: the index is bound to it.
        self.backends.vector(CONSE_INDEX).add(rows, conse, encoder=bridge.info.index_key)
        return {"image": encoder.info.key, "conse": bridge.info.key}

    def _delete_rows(self, rows: list[str]) -> None:
        if rows:
            for name in (IMAGE_INDEX, CONSE_INDEX):
                self.backends.vector(name).delete(rows)

    def index(self, asset: Mapping[str, Any]) -> dict[str, Any]:
        """Embed and upsert one asset (the pipeline step and update path)."""
        return self.index_many([asset])

    def is_indexed(self, asset_id: str) -> bool:
        """Whether the asset's text vector is in the index."""
        return asset_id in self.backends.vector(TEXT_INDEX).get([asset_id])

    def remove(self, asset_ids: Sequence[str]) -> None:
        """Drop assets from every index (deleted, banned, removed)."""
        ids = list(asset_ids)
        self.backends.vector(TEXT_INDEX).delete(ids)
        self.backends.keyword().delete(ids)
        self._delete_rows([image_key(a, n) for a in ids for n in range(MAX_IMAGES)])
