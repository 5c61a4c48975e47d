"""The catalog's fingerprints, in memory, rebuilt from the recorded step results.

Every ``duplicates`` result records the asset's fingerprints (pHash of each
picture, content hashes of its files and pictures, mesh fingerprints). That
record is the durable copy: ``refresh`` reads the results recorded since its
watermark (by any worker), so a process starts from the catalog and follows
the others without a second store to keep in step; a later result of the same
asset replaces its earlier fingerprints.

Example:
    >>> store = FingerprintStore(db)  # doctest: +SKIP
    >>> store.refresh()  # doctest: +SKIP
    1204
    >>> store.hashes.search(query_hashes, radius=8)  # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select

from agora.quality.duplicates.mih import MultiIndexHash
from agora.storage.tables import AssetRow, ProcessingResultRow

if TYPE_CHECKING:
    from agora.storage.database import Database

STEP = "duplicates"


@dataclass(frozen=True)
class AssetInfo:
    seller_id: str
    status: str


@dataclass
class Fingerprints:
    """One asset's fingerprints, as the step records them."""

    images: list[dict[str, Any]]  # {"n", "sha256", "phash": hex}
    files: list[str]  # sha256 of every file and picture
    meshes: list[dict[str, Any]]  # {"sha256", "d2": [floats]}

    def to_dict(self) -> dict[str, Any]:
        return {"images": self.images, "files": self.files, "meshes": self.meshes}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Fingerprints:
        return cls(list(raw.get("images") or []), list(raw.get("files") or []),
                   list(raw.get("meshes") or []))  # fmt: skip


class FingerprintStore:
    """Pictures' pHashes (multi-index hash), content hashes and mesh fingerprints."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.hashes = MultiIndexHash()
        self._lock = threading.RLock()
        self._watermark = 0
        self._keys: dict[str, list[str]] = {}  # asset -> picture keys
        self._sha: dict[str, set[str]] = {}  # content hash -> assets
        self._sha_of: dict[str, list[str]] = {}
        self._meshes: dict[str, list[np.ndarray]] = {}
        self._images: dict[str, str] = {}  # picture key -> blob sha256

    def refresh(self, batch: int = 2000) -> int:
        """Apply the results recorded since the last call; returns how many."""
        applied = 0
        while True:
            with self.db.session() as s:
                rows = s.execute(
                    select(ProcessingResultRow.id, ProcessingResultRow.asset_id,
                           ProcessingResultRow.output)
                    .where(ProcessingResultRow.step == STEP,
                           ProcessingResultRow.id > self._watermark)
                    .order_by(ProcessingResultRow.id)
                    .limit(batch)
                ).all()  # fmt: skip
            with self._lock:
                for row_id, asset_id, output in rows:
                    raw = (output or {}).get("fingerprints")
                    if isinstance(raw, dict):
                        self.put(asset_id, Fingerprints.from_dict(raw))
                        applied += 1
                    self._watermark = max(self._watermark, int(row_id))
            if len(rows) < batch:
                return applied

    def put(self, asset_id: str, prints: Fingerprints) -> None:
        """Index (or replace) one asset's fingerprints."""
        with self._lock:
            self.drop([asset_id])
            keys = [f"{asset_id}#{int(im['n'])}" for im in prints.images]
            codes = np.array([int(str(im["phash"]), 16) for im in prints.images], dtype=np.uint64)
            self.hashes.add(keys, codes)
            self._keys[asset_id] = keys
            for key, im in zip(keys, prints.images, strict=True):
                self._images[key] = str(im["sha256"])
            self._sha_of[asset_id] = list(prints.files)
            for sha in prints.files:
                self._sha.setdefault(sha, set()).add(asset_id)
            self._meshes[asset_id] = [np.asarray(m["d2"], dtype=np.float32) for m in prints.meshes]

    def drop(self, asset_ids: Iterable[str]) -> None:
        """Forget assets."""
        with self._lock:
            for asset_id in asset_ids:
                keys = self._keys.pop(asset_id, [])
                self.hashes.remove(keys)
                for key in keys:
                    self._images.pop(key, None)
                for sha in self._sha_of.pop(asset_id, []):
                    self._sha.get(sha, set()).discard(asset_id)
                self._meshes.pop(asset_id, None)

    def same_content(self, sha256: str) -> set[str]:
        """Assets holding a file or picture with this content hash."""
        with self._lock:
            return set(self._sha.get(sha256, ()))

    def image_blob(self, key: str) -> str | None:
        """The blob (sha256) of an indexed picture."""
        return self._images.get(key)

    def meshes(self) -> list[tuple[str, np.ndarray]]:
        """Every indexed mesh fingerprint with its asset (a scan: 3D assets are few
        next to pictures, and comparing 34 floats is cheap)."""
        with self._lock:
            return [(a, fp) for a, fps in self._meshes.items() for fp in fps]

    def assets(self, asset_ids: Iterable[str]) -> dict[str, AssetInfo]:
        """Seller and status of the assets that still exist."""
        ids = set(asset_ids)
        if not ids:
            return {}
        with self.db.session() as s:
            rows = s.execute(
                select(AssetRow.id, AssetRow.seller_id, AssetRow.status).where(AssetRow.id.in_(ids))
            ).all()
        return {r.id: AssetInfo(r.seller_id, r.status) for r in rows}
