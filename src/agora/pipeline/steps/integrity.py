"""Pipeline step ``integrity``: does every uploaded file open as what it claims?

For each blob in ``asset["files"]`` and ``asset["images"]`` the content is
sniffed again (the stored ``kind`` is not trusted) and checked by format:
images fully decode with Pillow, 3D files load with trimesh, scripts parse
(``ast``, ``json``, tree-sitter for Lua/C#/GDScript/JavaScript), archives list
their entries without extraction, PDFs and text are checked for truncation
and UTF-8. Bad content never raises: the file gets ``ok: false`` and an
``error``, and the asset is held for review with a reason.

Example:
    >>> step = IntegrityStep()
    >>> step.model
    'integrity@1.1'
"""

from __future__ import annotations

import io
import logging
from typing import Any, BinaryIO

from agora.blobs.base import BlobStore
from agora.config import UploadSettings
from agora.errors import NotFound, UnsupportedMediaType
from agora.pipeline.base import Step, StepContext, StepOutcome
from agora.pipeline.steps import inspect
from agora.uploads.guard import BUFFER
from agora.uploads.resources import is_referenced, model_resources
from agora.uploads.sniff import SNIFF_BYTES, sniff

# A model read whole to find the files it names: glTF JSON and OBJ text are
# small next to this; a bigger one names nothing the upload had to accept.
_MAX_MODEL_DOC = 64 * 1024 * 1024

log = logging.getLogger(__name__)


class IntegrityStep(Step):
    """Checks that each file and image decodes, loads or parses."""

    name = "integrity"
    version = "1.1"
    can_hold = True

    def run(self, ctx: StepContext) -> StepOutcome:
        """Check every blob; hold the asset when any is corrupt or missing."""
        resources = _model_resources(ctx.blobs, ctx.asset.get("files") or [])
        results = [
            self.check_blob(ctx.blobs, ref, field, ctx.settings.uploads, resources)
            for field in ("images", "files")
            for ref in (ctx.asset.get(field) or [])
        ]
        bad = [r for r in results if not r["ok"]]
        output = {"files": results, "ok": not bad, "checked": len(results), "corrupt": len(bad)}
        if not bad:
            return StepOutcome(output=output, confidence=1.0)
        listed = "; ".join(f"{r['name'] or r['sha256'][:12]}: {r['error']}" for r in bad[:5])
        reason = f"{len(bad)} of {len(results)} files failed the integrity check ({listed})"
        return StepOutcome(output=output, confidence=1.0, hold=True, reason=reason)

    def check_blob(
        self,
        blobs: BlobStore,
        ref: dict[str, Any],
        field: str,
        limits: UploadSettings,
        resources: frozenset[str] = frozenset(),
    ) -> dict[str, Any]:
        """One file's result: {sha256, name, field, kind, format, ok, error?, facts}.
        ``resources``: names the asset's models refer to; binary content of no
        known format passes under such a name (a glTF's external buffer)."""
        result: dict[str, Any] = {
            "sha256": ref.get("sha256"),
            "name": ref.get("name"),
            "field": field,
            "kind": ref.get("kind"),
            "format": None,
            "ok": False,
            "facts": {},
        }
        try:
            source = _source(blobs, str(ref.get("sha256")))
        except NotFound:
            result["error"] = "blob is missing from the blob store"
            return result
        try:
            head = _head(source)
            try:
                sniffed = sniff(head, name=ref.get("name"), size=ref.get("size"))
            except UnsupportedMediaType:
                if field != "files" or not is_referenced(ref.get("name"), resources):
                    raise
                sniffed = BUFFER
            result.update(kind=sniffed.kind, format=sniffed.format)
            result["facts"] = _check(source, sniffed.kind, sniffed.format, limits)
            if field == "images" and sniffed.kind != "image":
                raise ValueError(f"not an image: listed in images but is {sniffed.media_type}")
            result["ok"] = True
        # Broad on purpose: decoders raise anything on hostile bytes, and one
        # corrupt file must become a recorded result, never a dead worker.
        except Exception as exc:  # noqa: BLE001
            result["error"] = f"{type(exc).__name__}: {exc}"[:500]
            log.info("integrity: %s failed: %s", ref.get("sha256"), result["error"])
        finally:
            if not isinstance(source, str):
                source.close()
        return result


def _model_resources(blobs: BlobStore, refs: list[dict[str, Any]]) -> frozenset[str]:
    """Names the asset's glTF and OBJ files refer to (their content decides)."""
    models: list[tuple[str | None, bytes]] = []
    for ref in refs:
        if ref.get("kind") != "model3d" or int(ref.get("size") or 0) > _MAX_MODEL_DOC:
            continue
        try:
            models.append((ref.get("name"), blobs.get(str(ref.get("sha256")))))
        except NotFound:
            continue  # reported as missing by check_blob
    return model_resources(models)


def _source(blobs: BlobStore, sha256: str) -> inspect.Source:
    path = blobs.path_for(sha256)
    return path if path is not None else io.BytesIO(blobs.get(sha256))


def _head(source: inspect.Source) -> bytes:
    if isinstance(source, str):
        with open(source, "rb") as fh:
            return fh.read(SNIFF_BYTES)
    stream: BinaryIO = source
    stream.seek(0)
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    return head


def _check(source: inspect.Source, kind: str, fmt: str, limits: UploadSettings) -> dict[str, Any]:
    if kind == "image":
        return inspect.check_image(source, limits)
    if kind == "model3d":
        return inspect.check_model(source, fmt)
    if kind == "script":
        return inspect.check_script(source, fmt)
    if kind == "archive":
        return inspect.check_archive(source, fmt, limits)
    if kind == "resource":
        return {"resource_of": "model3d"}
    return inspect.check_document(source, fmt)
