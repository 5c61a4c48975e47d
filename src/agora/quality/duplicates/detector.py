"""Checks an asset against the catalog: exact, near (pictures) and 3D duplicates.

The result (recorded as the ``duplicates`` step's output, read by the risk
score and by ``GET /api/v1/assets/{id}/duplicates``)::

    {
      "exact": [{"asset_id", "seller_id", "status", "sha256"}],
      "near": [{"asset_id", "seller_id", "status", "distance", "similarity",
                "verified", "kind", "transform", "image", "original_image"}],
      "of_other_seller": bool,   # copies an active asset of another seller
      "own_version_of": id|null, # the seller's own earlier asset it re-uploads
      "held": bool,              # held for review (original linked in "original")
      "original": id|null,
      "fingerprints": {...},     # this asset's, for the index (see store.py)
      "errors": [...], "timings_ms": {...}
    }

``kind`` is ``flip``, ``rotate`` (a quarter turn or a small turn), ``crop``,
``near`` (recoloured, recompressed, resized) or ``mesh``; ``transform`` says
which (``flip_h``, ``rotate90``, ``rotate_small``, ...). For a picture,
``distance`` is pHash bits between the closest orientations and
``similarity`` the embedding cosine; for a mesh, the fingerprint distance and
``1 - distance``. ``verified`` is true when ORB + RANSAC fitted the copy onto
the original.

Example:
    >>> detector = DuplicateDetector(store, backends, blobs, settings.duplicates)  # doctest: +SKIP
    >>> detector.check_many([asset])[0]["near"][0]["kind"]  # doctest: +SKIP
    'flip'
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from agora.domain import AssetStatus
from agora.quality.duplicates.cascade import Cascade, CascadeThresholds, ImageMatch, ImageQuery
from agora.quality.duplicates.hashing import dihedral_hashes
from agora.quality.duplicates.mesh import fingerprint_distance, load_mesh, mesh_fingerprint
from agora.quality.duplicates.store import Fingerprints, FingerprintStore
from agora.search.backends import IMAGE_INDEX, image_key

if TYPE_CHECKING:
    from agora.blobs.base import BlobStore
    from agora.config import DuplicateSettings
    from agora.search.backends import SearchBackends

log = logging.getLogger("agora.quality.duplicates")
MAX_IMAGES = 64  # the search indexer's bound: picture n is row ``asset#n`` there too
_MESH_TYPES = {"model/gltf-binary": "glb", "model/obj": "obj", "model/stl": "stl",
               "application/ply": "ply", "model/gltf+json": "gltf"}  # fmt: skip
_LIVE = {AssetStatus.ACTIVE.value, AssetStatus.PENDING.value, AssetStatus.FLAGGED.value}


def decode(data: bytes) -> Image.Image:
    """Decode a picture exactly as the search indexer does, so the served image
    encoder's feature cache (keyed by pixels) answers the index step's call."""
    img = Image.open(io.BytesIO(data))
    img.draft("RGB", (448, 448))
    img.load()
    return img


def thresholds(settings: DuplicateSettings) -> CascadeThresholds:
    return CascadeThresholds(
        hash_radius=settings.hash_radius,
        hash_match=settings.hash_match,
        min_similarity_hash=settings.min_similarity_hash,
        neighbours=settings.neighbours,
        min_similarity_verify=settings.min_similarity_verify,
        max_verify=settings.max_verify,
        min_inliers=settings.min_inliers,
        min_correlation=settings.min_correlation,
    )


class _Catalog:
    """The cascade's view of the catalog: the store's hashes, the search image
    index's vectors, pictures from the blob store."""

    def __init__(self, store: FingerprintStore, backends: SearchBackends | None, blobs: BlobStore):
        self.hashes = store.hashes
        self.store, self.backends, self.blobs = store, backends, blobs

    def neighbours(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        if self.backends is None or k <= 0:
            return []
        index = self.backends.vector(IMAGE_INDEX)
        if index.encoder is None or len(index) == 0:
            return []
        hits = index.search(vector[None, :].astype(np.float32), k, encoder=index.encoder)[0]
        return [(h.id, h.score) for h in hits]

    def vectors(self, keys: list[str]) -> dict[str, np.ndarray]:
        if self.backends is None:
            return {}
        return self.backends.vector(IMAGE_INDEX).get(keys)

    def picture(self, key: str) -> Image.Image | None:
        sha = self.store.image_blob(key)
        if sha is None:
            return None
        try:
            return decode(self.blobs.get(sha))
        # A stored picture that no longer decodes cannot confirm anything.
        except Exception:  # noqa: BLE001
            return None


@dataclass
class _Prepared:
    asset: Mapping[str, Any]
    pictures: list[Image.Image]
    hashes: list[np.ndarray]
    prints: Fingerprints
    errors: list[str]


class DuplicateDetector:
    """Fingerprints an asset and finds what it duplicates in the catalog."""

    def __init__(
        self,
        store: FingerprintStore,
        backends: Callable[[], SearchBackends] | None,
        blobs: BlobStore,
        settings: DuplicateSettings,
    ) -> None:
        """``backends``: the search backends whose image encoder and image index give
        the embeddings (None: hashes and geometry only)."""
        self.store, self.backends, self.blobs, self.settings = store, backends, blobs, settings

    def prepare(self, asset: Mapping[str, Any]) -> _Prepared:
        """Decode pictures and compute every fingerprint; bad content is an error
        entry, never an exception."""
        pictures: list[Image.Image] = []
        hashes: list[np.ndarray] = []
        images: list[dict[str, Any]] = []
        errors: list[str] = []
        for ref in list(asset.get("images") or [])[:MAX_IMAGES]:
            try:
                picture = decode(self.blobs.get(str(ref["sha256"])))
                codes = dihedral_hashes(picture)
            # Decoders raise anything on hostile bytes: the picture is skipped.
            except Exception as exc:  # noqa: BLE001
                errors.append(f"{ref.get('name', ref.get('sha256'))}: {exc}")
                continue
            images.append({"n": len(pictures), "sha256": str(ref["sha256"]),
                           "phash": f"{int(codes[0]):016x}"})  # fmt: skip
            pictures.append(picture)
            hashes.append(codes)
        meshes = [m for ref in asset.get("files") or [] if (m := self._mesh(ref, errors))]
        refs = [*(asset.get("files") or []), *(asset.get("images") or [])]
        shas = [str(r["sha256"]) for r in refs if isinstance(r, Mapping) and r.get("sha256")]
        prints = Fingerprints(images, sorted(set(shas)), meshes)
        return _Prepared(asset, pictures, hashes, prints, errors)

    def _mesh(self, ref: Mapping[str, Any], errors: list[str]) -> dict[str, Any] | None:
        name = str(ref.get("name") or "")
        file_type = _MESH_TYPES.get(str(ref.get("media_type")), PurePosixPath(name).suffix[1:])
        if ref.get("kind") != "model3d" and file_type not in _MESH_TYPES.values():
            return None
        if int(ref.get("size") or 0) > self.settings.max_mesh_bytes:
            errors.append(f"{name}: too large to fingerprint")
            return None
        try:
            d2 = mesh_fingerprint(load_mesh(self.blobs.get(str(ref["sha256"])), file_type))
        # trimesh raises anything on broken files; 3D validation reports them.
        except Exception as exc:  # noqa: BLE001
            errors.append(f"{name}: no mesh fingerprint: {exc}")
            return None
        return {"sha256": str(ref["sha256"]), "d2": [round(float(x), 6) for x in d2]}

    def _vectors(self, prepared: Sequence[_Prepared]) -> list[list[np.ndarray | None]]:
        """Each picture's embedding from one encoder call for the batch (the served
        encoder caches them by pixels: the index step reads the same rows)."""
        empty: list[list[np.ndarray | None]] = [[None] * len(p.pictures) for p in prepared]
        everything = [pic for p in prepared for pic in p.pictures]
        if self.backends is None or not everything:
            return empty
        try:
            features = self.backends().image_encoder().encode_images(everything).features
        # The encoder being down degrades the check to hashes and geometry.
        except Exception as exc:  # noqa: BLE001
            log.warning("duplicates: image encoder unavailable: %s", exc)
            return empty
        out: list[list[np.ndarray | None]] = []
        i = 0
        for p in prepared:
            out.append([features[i + j] for j in range(len(p.pictures))])
            i += len(p.pictures)
        return out

    def check_many(self, assets: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The result of each asset (see the module docstring), in order."""
        self.store.refresh()
        prepared = [self.prepare(a) for a in assets]
        vectors = self._vectors(prepared)
        backends = self.backends() if self.backends is not None else None
        cascade = Cascade(_Catalog(self.store, backends, self.blobs), thresholds(self.settings))
        results = []
        for p, vecs in zip(prepared, vectors, strict=True):
            results.append(self._check(cascade, p, vecs))
            # Batch-mates see each other: two copies uploaded together still meet.
            self.store.put(str(p.asset["id"]), p.prints)
        return results

    def _check(
        self, cascade: Cascade, p: _Prepared, vectors: list[np.ndarray | None]
    ) -> dict[str, Any]:
        asset_id = str(p.asset["id"])
        seller = str(p.asset.get("seller_id") or "")
        exact = {(a, sha) for sha in p.prints.files for a in self.store.same_content(sha)}
        exact = {(a, sha) for a, sha in exact if a != asset_id}
        near: list[tuple[str, dict[str, Any]]] = []
        check_ms = verify_ms = 0.0
        for n, (picture, codes, vec) in enumerate(zip(p.pictures, p.hashes, vectors, strict=True)):
            query = ImageQuery(image_key(asset_id, n), codes, vec, picture, f"{asset_id}#")
            res = cascade.check(query)
            check_ms, verify_ms = check_ms + res.check_ms, verify_ms + res.verify_ms
            near += [(m.key.rpartition("#")[0], _near(m, n)) for m in res.matches]
        for sha_mesh in p.prints.meshes:
            fp = np.asarray(sha_mesh["d2"], dtype=np.float32)
            for other, ofp in self.store.meshes():
                d = fingerprint_distance(fp, ofp)
                if other != asset_id and d <= self.settings.mesh_max_distance:
                    near.append((other, {"distance": round(d, 4), "similarity": round(1 - d, 4),
                                         "verified": False, "kind": "mesh",
                                         "transform": "mesh"}))  # fmt: skip
        return self._decide(asset_id, seller, exact, near, p) | {
            "timings_ms": {"check": round(check_ms, 3), "verify": round(verify_ms, 3)}
        }

    def _decide(
        self,
        asset_id: str,
        seller: str,
        exact: set[tuple[str, str]],
        near: list[tuple[str, dict[str, Any]]],
        p: _Prepared,
    ) -> dict[str, Any]:
        info = self.store.assets({a for a, _ in exact} | {a for a, _ in near})
        exact_out = [{"asset_id": a, "seller_id": info[a].seller_id, "status": info[a].status,
                      "sha256": sha} for a, sha in sorted(exact) if a in info]  # fmt: skip
        best: dict[str, dict[str, Any]] = {}
        for a, m in near:
            if a in info and (a not in best or _better(m, best[a])):
                best[a] = {"asset_id": a, "seller_id": info[a].seller_id,
                           "status": info[a].status} | m  # fmt: skip
        near_out = sorted(best.values(), key=lambda m: -(m["similarity"] or 0.0))
        everything = exact_out + near_out
        active = AssetStatus.ACTIVE.value
        others = [m for m in everything if m["seller_id"] != seller and m["status"] == active]
        own = [m for m in everything if m["seller_id"] == seller and m["status"] in _LIVE]
        held = bool(others) and self.settings.hold_other_seller
        return {
            "exact": exact_out,
            "near": near_out,
            "of_other_seller": bool(others),
            "own_version_of": own[0]["asset_id"] if own else None,
            "held": held,
            "original": others[0]["asset_id"] if others else None,
            "queue": held,
            "fingerprints": p.prints.to_dict(),
            "errors": p.errors,
        }


def _better(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (a["verified"], a["similarity"] or 0.0) > (b["verified"], b["similarity"] or 0.0)


def _near(m: ImageMatch, n: int) -> dict[str, Any]:
    return {
        "distance": m.distance,
        "similarity": None if m.similarity is None else round(m.similarity, 4),
        "verified": m.verified,
        "kind": m.kind,
        "transform": m.transform,
        "image": n,
        "original_image": int(m.key.rpartition("#")[2] or 0),
    }
