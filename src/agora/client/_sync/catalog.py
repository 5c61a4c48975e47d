# Generated from agora/client/_async by scripts/gen-sync-client: do not edit.
"""Assets, users, sellers, events, jobs and consent."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from agora.api.schemas.assets import (
    Asset,
    AssetCreated,
    AssetImport,
    AssetPage,
    ProcessingResults,
)
from agora.api.schemas.consent import Consent, ConsentHistory, ConsentUpdate
from agora.api.schemas.duplicates import Duplicates
from agora.api.schemas.events import EventBatch, EventBatchResult, EventIn
from agora.api.schemas.imports import ImportStatus
from agora.api.schemas.jobs import Job, JobList
from agora.api.schemas.optimizations import (
    DerivativeList,
    OptimizationRequest,
    OptimizationRequested,
)
from agora.api.schemas.people import Seller, SellerUpsert, User, UserUpsert
from agora.catalog.schemas import AssetMetadata, AssetPatch
from agora.client._sync.base import Resource, body
from agora.client.call import Call

FileArg = str | Path | tuple[str, bytes]


def _file(field: str, value: FileArg) -> tuple[str, tuple[str, bytes, str]]:
    # The server sniffs the type from the bytes; the name is only kept for display.
    if isinstance(value, tuple):
        name, data = value
    else:
        path = Path(value)
        name, data = path.name, path.read_bytes()
    return field, (name, data, "application/octet-stream")


class Assets(Resource):
    """``/assets``: create (with files), read, list, update, delete, bulk import."""

    def create(
        self,
        metadata: AssetMetadata | Mapping[str, Any],
        *,
        images: Iterable[FileArg] = (),
        files: Iterable[FileArg] = (),
    ) -> AssetCreated:
        """Upload an asset; it is ``pending`` until its pipeline job ends."""
        meta = body(AssetMetadata, metadata)
        parts = [_file("images", i) for i in images] + [_file("files", f) for f in files]
        return self._call(
            Call(
                "POST",
                "assets",
                AssetCreated,
                data={"metadata": json.dumps(meta)},
                files=parts or None,
            )
        )

    def get(self, asset_id: str) -> Asset:
        """One asset with its status."""
        return self._call(Call("GET", f"assets/{asset_id}", Asset))

    def list(
        self,
        *,
        status: str | None = None,
        seller_id: str | None = None,
        category: str | None = None,
        min_price: float | None = None,
        max_price: float | None = None,
        in_stock: bool | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> AssetPage:
        """One page, newest first; pass ``next_cursor`` back as ``cursor``."""
        params = {
            "status": status,
            "seller_id": seller_id,
            "category": category,
            "min_price": min_price,
            "max_price": max_price,
            "in_stock": in_stock,
            "limit": limit,
            "cursor": cursor,
        }
        return self._call(Call("GET", "assets", AssetPage, params=params))

    def iterate(self, *, page_size: int = 100, **filters: Any) -> Iterator[Asset]:
        """Every asset matching ``filters`` (as ``list``), page after page."""
        cursor: str | None = None
        while True:
            page = self.list(limit=page_size, cursor=cursor, **filters)
            for asset in page.items:
                yield asset
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def update(self, asset_id: str, patch: AssetPatch | Mapping[str, Any]) -> Asset:
        """Change fields (``status`` needs the moderator scope)."""
        return self._call(Call("PATCH", f"assets/{asset_id}", Asset, json=body(AssetPatch, patch)))

    def delete(self, asset_id: str) -> None:
        """Remove an asset (soft delete, audited)."""
        self._call(Call("DELETE", f"assets/{asset_id}"))

    def results(self, asset_id: str) -> ProcessingResults:
        """Every pipeline step's result, with model@version and timing."""
        return self._call(Call("GET", f"assets/{asset_id}/results", ProcessingResults))

    def duplicates(self, asset_id: str) -> Duplicates:
        """The asset's duplicate check: exact and near copies, held, own version of."""
        return self._call(Call("GET", f"assets/{asset_id}/duplicates", Duplicates))

    def image(self, asset_id: str, index: int = 0) -> bytes:
        """The bytes of one of the asset's images."""
        return self._call(Call("GET", f"assets/{asset_id}/images/{index}", raw=True))

    def optimize(
        self, asset_id: str, operations: Iterable[Mapping[str, Any]]
    ) -> OptimizationRequested:
        """Queue optimisations, e.g. ``[{"operation": "lods"}, {"operation":
        "upscale", "options": {"model": "quality"}}]``; one job each (idempotent)."""
        payload = body(OptimizationRequest, {"operations": list(operations)})
        return self._call(
            Call("POST", f"assets/{asset_id}/optimizations", OptimizationRequested, json=payload)
        )

    def cancel_optimization(self, asset_id: str, job_id: str) -> Job:
        """Cancel a queued or running optimisation job."""
        return self._call(Call("POST", f"assets/{asset_id}/optimizations/{job_id}/cancel", Job))

    def derivatives(self, asset_id: str, *, operation: str | None = None) -> DerivativeList:
        """The asset's derivative versions, newest first, with download URLs."""
        params = {"operation": operation}
        return self._call(
            Call("GET", f"assets/{asset_id}/derivatives", DerivativeList, params=params)
        )

    def import_lines(
        self,
        lines: Iterable[AssetMetadata | Mapping[str, Any]],
        *,
        import_id: str | None = None,
        first_line: int = 1,
        complete: bool = False,
        defer: bool = False,
    ) -> AssetImport:
        """Bulk import (JSON Lines, no files); follow ``job_id`` for progress.

        With ``import_id`` the import is resumable: re-sending skips lines
        already accepted, ``first_line`` numbers this chunk's first line,
        ``complete`` ends the import, ``defer`` holds its pipelines until then;
        a busy server answers 503 (``ApiError`` with its Retry-After)."""
        content = "\n".join(json.dumps(body(AssetMetadata, line)) for line in lines)
        params: dict[str, Any] | None = None
        if import_id is not None:
            params = {"import_id": import_id, "first_line": first_line}
            params |= {"complete": "true"} if complete else {}
            params |= {"defer": "true"} if defer else {}
        return self._call(
            Call(
                "POST",
                "assets:batch",
                AssetImport,
                params=params,
                content=content.encode(),
                headers={"Content-Type": "application/x-ndjson"},
            )
        )

    def import_status(self, import_id: str) -> ImportStatus:
        """Progress and end report of a resumable import (accepted, rejected with
        reasons, processed, failed)."""
        return self._call(Call("GET", f"imports/{import_id}", ImportStatus))


class Users(Resource):
    """``/users`` and their consent."""

    def put(
        self, user_id: str, user: UserUpsert | Mapping[str, Any] | None = None, **fields: Any
    ) -> User:
        """Create or update a user (fields not sent are kept)."""
        return self._call(
            Call("PUT", f"users/{user_id}", User, json=body(UserUpsert, user, **fields))
        )

    def get(self, user_id: str) -> User:
        """One user."""
        return self._call(Call("GET", f"users/{user_id}", User))

    def consent(self, user_id: str) -> Consent:
        """The user's current consent."""
        return self._call(Call("GET", f"users/{user_id}/consent", Consent))

    def set_consent(
        self, user_id: str, update: ConsentUpdate | Mapping[str, Any] | None = None, **flags: bool
    ) -> Consent:
        """Change consent flags (a new version; omitted flags are kept)."""
        return self._call(
            Call(
                "PUT",
                f"users/{user_id}/consent",
                Consent,
                json=body(ConsentUpdate, update, **flags),
            )
        )

    def consent_history(self, user_id: str) -> ConsentHistory:
        """Every consent version, oldest first."""
        return self._call(Call("GET", f"users/{user_id}/consent/history", ConsentHistory))


class Sellers(Resource):
    """``/sellers``."""

    def put(
        self, seller_id: str, seller: SellerUpsert | Mapping[str, Any] | None = None, **fields: Any
    ) -> Seller:
        """Create or update a seller (trust fields need the moderator scope)."""
        return self._call(
            Call("PUT", f"sellers/{seller_id}", Seller, json=body(SellerUpsert, seller, **fields))
        )

    def get(self, seller_id: str) -> Seller:
        """One seller."""
        return self._call(Call("GET", f"sellers/{seller_id}", Seller))


class Events(Resource):
    """``/events``."""

    def send(self, events: Iterable[EventIn | Mapping[str, Any]]) -> EventBatchResult:
        """Record interactions; the answer says which were accepted."""
        batch = EventBatch(events=[EventIn.model_validate(e) for e in events])
        payload = batch.model_dump(mode="json", exclude_none=True)
        return self._call(Call("POST", "events", EventBatchResult, json=payload))


class Jobs(Resource):
    """``/jobs``: background work and its progress."""

    def get(self, job_id: str, *, wait: float = 0) -> Job:
        """One job; with ``wait`` the server holds the answer until it ends (<= 60 s)."""
        params = {"wait": wait} if wait else None
        return self._call(Call("GET", f"jobs/{job_id}", Job, params=params))

    def wait(self, job_id: str, *, timeout: float = 300) -> Job:
        """The job once it has ended (long polls in steps of up to 60 s)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            job = self.get(job_id, wait=max(0.0, min(60.0, left)))
            if job.status.ended or left <= 0:
                return job

    def list(
        self, *, kind: str | None = None, status: str | None = None, limit: int = 50
    ) -> JobList:
        """Recent jobs, newest first."""
        params = {"kind": kind, "status": status, "limit": limit}
        return self._call(Call("GET", "jobs", JobList, params=params))
