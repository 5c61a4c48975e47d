"""Optimisation jobs: requested through the API, run by workers over the bus.

``request`` creates one ``optimize`` job per operation and publishes
``asset.optimization.requested``; a repeated request for the same asset
revision, operation and options returns the job already queued, running or
succeeded (idempotent), and only a failed or cancelled one is requested anew.
Progress (percent and the current step) and cancellation go through the job
store, so ``GET /api/v1/jobs/{id}`` and the console show them.

Example:
    >>> opt = Optimizations(db, jobs, bus, blobs, assets.get, settings.processing)  # doctest: +SKIP
    >>> opt.request("tank-01", [OptimizationSpec(operation="lods")], actor="k1")  # doctest: +SKIP
    [{'job_id': '...', 'operation': 'lods', 'status': 'queued', 'deduplicated': False, ...}]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import select

from agora.blobs.base import BlobStore
from agora.bus.base import Event, EventBus, Topics
from agora.config import ProcessingSettings
from agora.errors import Conflict, InvalidInput, NotFound
from agora.processing.operations import MODEL_FORMATS
from agora.processing.options import OptimizationSpec, digest
from agora.storage.database import Database
from agora.storage.jobs import TERMINAL, JobStore
from agora.storage.tables import DerivativeRow, JobRow

OPTIMIZE_JOB = "optimize"
OPTIMIZE_GROUP = "optimizations"
_REUSABLE = ("queued", "running", "succeeded")


def source_kind(ref: dict[str, Any]) -> tuple[str, str]:
    """(kind, format) of a blob reference: kind ``image`` or ``model3d`` (by the
    sniffed kind, else the extension), format its lower-case extension."""
    fmt = PurePosixPath(str(ref.get("name") or "")).suffix.lower().lstrip(".")
    kind = str(ref.get("kind") or "")
    if kind not in ("image", "model3d"):
        if fmt in MODEL_FORMATS:
            kind = "model3d"
        elif str(ref.get("media_type", "")).startswith("image/"):
            kind = "image"
    if kind == "image" and not fmt:
        fmt = str(ref.get("media_type", "image/png")).split("/")[-1]
    return kind, fmt


def pick_source(asset: dict[str, Any], spec: OptimizationSpec) -> dict[str, Any]:
    """The asset file an operation works on: the one named by ``options.file``
    (sha256 or name), else the first image (upscale) or 3D model (lods,
    convert; thumbnails prefer a model, then an image)."""
    refs = list(asset.get("files") or []) + list(asset.get("images") or [])
    wanted = spec.options.get("file")
    if wanted:
        for ref in refs:
            if wanted in (ref.get("sha256"), ref.get("name")):
                return dict(ref)
        raise InvalidInput(f"asset {asset['id']!r} has no file {wanted!r}")
    order = {
        "upscale": ("image",),
        "lods": ("model3d",),
        "convert": ("model3d", "image"),
        "thumbnails": ("model3d", "image"),
    }[spec.operation]
    for kind in order:
        for ref in refs:
            if source_kind(ref)[0] == kind:
                return dict(ref)
    raise InvalidInput(
        f"asset {asset['id']!r} has no {' or '.join(order)} file for {spec.operation}"
    )


class Optimizations:
    """Request, cancel and list optimisation jobs and their derivatives."""

    def __init__(
        self,
        db: Database,
        jobs: JobStore,
        bus: EventBus,
        blobs: BlobStore,
        get_asset: Callable[[str], dict[str, Any]],
        settings: ProcessingSettings,
        *,
        presign_expiry_s: int = 3600,
    ) -> None:
        self.db, self.jobs, self.bus, self.blobs = db, jobs, bus, blobs
        self.get_asset, self.settings = get_asset, settings
        self.presign_expiry_s = presign_expiry_s

    def request(
        self, asset_id: str, specs: Sequence[OptimizationSpec], *, actor: str | None
    ) -> list[dict[str, Any]]:
        """One job per spec (or the matching job already there); events are
        published after the jobs are committed."""
        if not specs:
            raise InvalidInput("ask for at least one operation")
        asset = self.get_asset(asset_id)
        revision = int(asset.get("revision") or 1)
        answers, events = [], []
        for spec in specs:
            source = pick_source(asset, spec)
            kind, fmt = source_kind(source)
            key = digest(asset_id, str(revision), spec.operation, spec.canonical_options())
            existing = self._existing(asset_id, key)
            if existing is not None:
                answers.append(self._answer(existing, spec, deduplicated=True))
                continue
            params = {
                "key": key,
                "asset_id": asset_id,
                "asset_revision": revision,
                "operation": spec.operation,
                "options": spec.options,
                "source": {**source, "kind": kind, "format": fmt},
            }
            job_id = self.jobs.create(
                OPTIMIZE_JOB, subject_id=asset_id, params=params, created_by=actor
            )
            events.append(
                Event(Topics.ASSET_OPTIMIZATION_REQUESTED, {"job_id": job_id}, key=asset_id)
            )
            answers.append(self._answer(self.jobs.get(job_id), spec, deduplicated=False))
        if events:
            self.bus.publish_many(events)
        return answers

    def _existing(self, asset_id: str, key: str) -> dict[str, Any] | None:
        with self.db.session() as s:
            rows = s.execute(
                select(JobRow.id, JobRow.status, JobRow.params)
                .where(JobRow.kind == OPTIMIZE_JOB, JobRow.subject_id == asset_id)
                .order_by(JobRow.created_at.desc())
                .limit(500)
            ).all()
        for job_id, status, params in rows:
            if (params or {}).get("key") == key and status in _REUSABLE:
                return self.jobs.get(job_id)
        return None

    @staticmethod
    def _answer(
        job: dict[str, Any], spec: OptimizationSpec, *, deduplicated: bool
    ) -> dict[str, Any]:
        return {
            "job_id": job["id"],
            "operation": spec.operation,
            "options": spec.options,
            "status": job["status"],
            "deduplicated": deduplicated,
        }

    def cancel(self, asset_id: str, job_id: str) -> dict[str, Any]:
        """Cancel a queued or running job of this asset (a running one stops at
        its next progress report); 409 when it has ended already."""
        job = self.jobs.get(job_id)
        if job["kind"] != OPTIMIZE_JOB or job["subject_id"] != asset_id:
            raise NotFound(f"asset {asset_id!r} has no optimisation job {job_id!r}")
        if job["status"] in {s.value for s in TERMINAL}:
            raise Conflict(f"job {job_id!r} has already {job['status']}: nothing to cancel")
        self.jobs.cancel(job_id)
        return self.jobs.get(job_id)

    def derivatives(self, asset_id: str, *, operation: str | None = None) -> list[dict[str, Any]]:
        """Every derivative version of the asset, newest first, each file with a
        presigned download URL where the blob store offers one."""
        self.get_asset(asset_id)  # 404 for an unknown asset
        with self.db.session() as s:
            q = (
                select(DerivativeRow)
                .where(DerivativeRow.asset_id == asset_id)
                .order_by(DerivativeRow.created_at.desc(), DerivativeRow.id.desc())
            )
            if operation:
                q = q.where(DerivativeRow.operation == operation)
            rows = list(s.scalars(q))
            views = [derivative_view(r) for r in rows]
        for view in views:
            for file in view["files"]:
                try:
                    file["download_url"] = self.blobs.download_url(
                        file["sha256"], expires_s=self.presign_expiry_s, filename=file["name"]
                    )
                except NotFound:  # erased with its source (right to erasure)
                    file["download_url"] = None
        return views


def derivative_view(row: DerivativeRow) -> dict[str, Any]:
    """API representation of one derivative version."""
    return {
        "asset_id": row.asset_id,
        "asset_revision": row.asset_revision,
        "source_sha256": row.source_sha256,
        "operation": row.operation,
        "version": row.version,
        "options": row.options,
        "model": row.model,
        "files": [dict(f) for f in row.files],
        "meta": row.meta,
        "job_id": row.job_id,
        "created_at": row.created_at.isoformat(),
    }
