"""Default optimisations by category, requested once an asset's pipeline ran.

``processing.default_optimizations`` maps a category to the optimisations
every asset of that category gets, e.g.::

    [processing.default_optimizations]
    "3d-models" = [{operation = "lods"}, {operation = "thumbnails", options = {turntable = true}}]
    textures = [{operation = "upscale", options = {model = "fast", tileable = true}}]

The handler runs on ``asset.processed`` (the ``optimization-defaults`` group)
for assets that became ``active``; requests are idempotent, so a redelivered
event asks for nothing new. An asset that lacks the file an operation needs
(a texture category asset without an image) is skipped for that operation.

Example:
    >>> handle = default_optimizations_handler(optimizations, settings.processing)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from agora.bus.base import Event
from agora.config import ProcessingSettings
from agora.errors import InvalidInput, NotFound
from agora.processing.jobs import Optimizations
from agora.processing.options import OptimizationSpec

log = logging.getLogger(__name__)
DEFAULTS_GROUP = "optimization-defaults"


def default_optimizations_handler(
    optimizations: Optimizations, settings: ProcessingSettings
) -> Callable[[Event], None]:
    """A bus handler requesting the category's default optimisations."""
    by_category = {
        category: [OptimizationSpec.model_validate(spec) for spec in specs]
        for category, specs in settings.default_optimizations.items()
    }

    def handle(event: Event) -> None:
        if not by_category or event.payload.get("status") != "active":
            return
        asset_id = str(event.payload.get("asset_id", ""))
        try:
            asset = optimizations.get_asset(asset_id)
        except NotFound:
            return
        for spec in by_category.get(str(asset.get("category") or ""), []):
            try:
                optimizations.request(asset_id, [spec], actor="pipeline")
            except InvalidInput as exc:  # no such file on this asset: nothing to do
                log.info("default %s skipped for %s: %s", spec.operation, asset_id, exc)

    return handle
