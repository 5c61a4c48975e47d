"""Batch priming for the pipeline's tagging step: one encoder call per batch.

``TaggingService.tag_asset`` tags one asset; over a batch the pipeline first
calls ``prime_batch``, which decodes the batch's assets and runs the encoders
tagging will use once over all of them: the text encoder on every text the
zero-shot text tagger will read (``TaggingInput.text``), the feature
extractor on every image. Both keep their rows in a feature cache keyed by
content hash and model version, so each ``tag_asset`` afterwards reads its
vectors instead of calling a model per asset. Assets whose owner has not
consented to AI processing are never read here (``tag_asset`` refuses them).

Example:
    >>> prime_batch(platform.tagging, ["a-1", "a-2"])  # doctest: +SKIP
    2
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PIL import Image

from agora.errors import NotFound
from agora.tagging.router import ProcessingOptions

if TYPE_CHECKING:
    from agora.tagging.service import TaggingService

log = logging.getLogger("agora.tagging")


def prime_batch(service: TaggingService, asset_ids: Sequence[str]) -> int:
    """Encode the batch's texts and images in one call each; returns the assets primed.

    Best effort: a failure leaves each asset to encode (or fail) on its own."""
    cfg = service.cfg
    options = ProcessingOptions.parse(
        None, default_threshold=cfg.cloud_confidence_threshold,
        default_min_tags=cfg.min_tag_count, default_budget_ms=cfg.max_processing_time_ms,
    )  # fmt: skip
    texts: list[str] = []
    images: list[Image.Image] = []
    primed = 0
    try:
        for asset_id in asset_ids:
            try:
                row = service._asset(asset_id)
            except NotFound:
                continue
            flags = service.consent.effective(
                row.seller_id, None, forbid_cloud=service.settings.enterprise_forbid_cloud
            )
            if not flags.allows_ai_processing:
                continue
            item = service._input(row)
            primed += 1
            images += item.images
            # The text tagger reads the text only in these cases (``local_tags``).
            if item.text and (options.accuracy_mode != "fast" or not item.images):
                texts.append(item.text)
        if texts:
            service.text.encode_passages(texts)
        if images:
            service.extractor.extract(images)
    # Priming only saves time: tag_asset handles (and reports) any failure itself.
    except Exception as exc:  # noqa: BLE001
        log.info("tagging: batch priming skipped: %s", exc)
    return primed
