"""The near-duplicate cascade for one picture: hashes, embedding, geometry.

1. **Candidates**, sub-linear: the multi-index hash finds indexed pictures
   within ``hash_radius`` bits of any of the query's 8 orientations, and the
   image-embedding index (HNSW) adds the ``neighbours`` nearest pictures, which
   is how a crop or a small turn (which change most pHash bits) is found.
2. **Ranking** by the cosine of the image embeddings Agora already computes for
   search (the ``index`` step's EfficientNet-Lite0 vectors); candidates below
   ``min_similarity_verify`` are dropped.
3. **Decision**: a candidate within ``hash_match`` bits whose embedding agrees
   (``min_similarity_hash``) is a flip, turn, recolour or re-encode of it;
   otherwise the best ranked (at most ``max_verify``) are fitted by ORB + RANSAC
   (``geometry.verify``), which accepts crops and small turns.

Timing: ``check`` returns the milliseconds spent in 1-2 and in 3 apart (the
benchmark reports the first at 100,000 indexed pictures).

Example:
    >>> cascade = Cascade(catalog, CascadeThresholds())  # doctest: +SKIP
    >>> cascade.check(ImageQuery("new#0", hashes, vector, picture)).matches  # doctest: +SKIP
    [ImageMatch(key='a1#0', distance=0, orientation='flip_h', ...)]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from PIL import Image

from agora.quality.duplicates.geometry import Keypoints, Verification, fit, keypoints
from agora.quality.duplicates.hashing import ORIENTATIONS, hamming
from agora.quality.duplicates.mih import MultiIndexHash

_TURNS = {"rotate90", "rotate180", "rotate270"}
MIN_INLIER_RATIO = 0.1  # RANSAC inliers among the matches passing Lowe's ratio test


@dataclass(frozen=True)
class CascadeThresholds:
    """Settings of the cascade (defaults chosen on the benchmark's training half)."""

    hash_radius: int = 6
    hash_match: int = 6
    min_similarity_hash: float = 0.3
    neighbours: int = 10
    min_similarity_verify: float = 0.65
    max_verify: int = 5
    min_inliers: int = 20
    min_correlation: float = 0.7


class PictureCatalog(Protocol):
    """What the cascade reads about indexed pictures (keys ``asset#n``)."""

    hashes: MultiIndexHash

    def neighbours(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The ``k`` indexed pictures nearest to ``vector`` and their cosines."""

    def vectors(self, keys: list[str]) -> dict[str, np.ndarray]:
        """Stored embeddings of the keys that have one."""

    def picture(self, key: str) -> Image.Image | None:
        """The decoded picture (None when it cannot be read)."""


@dataclass
class ImageQuery:
    """A picture to check: its key (excluded from its own results), dihedral
    hashes, embedding (None when the encoder is down) and pixels."""

    key: str
    hashes: np.ndarray
    vector: np.ndarray | None
    picture: Image.Image | None
    exclude_prefix: str | None = None


@dataclass(frozen=True)
class ImageMatch:
    """An indexed picture the query copies."""

    key: str
    distance: int  # bits between the closest orientations' pHashes
    orientation: str
    similarity: float | None  # embedding cosine
    verified: bool  # ORB + RANSAC fitted the query onto it
    kind: str  # flip | rotate | crop | near
    transform: str  # flip_h, rotate90, rotate_small, crop, recolour/re-encode, ...
    inliers: int = 0


@dataclass
class CheckResult:
    matches: list[ImageMatch] = field(default_factory=list)
    candidates: int = 0
    check_ms: float = 0.0  # candidates + ranking
    verify_ms: float = 0.0  # geometric verification


def _hash_kind(orientation: str) -> tuple[str, str]:
    if orientation == "identity":
        return "near", "near"
    if orientation in _TURNS:
        return "rotate", orientation
    return "flip", orientation


class Cascade:
    """Checks one picture against a ``PictureCatalog``."""

    def __init__(self, catalog: PictureCatalog, thresholds: CascadeThresholds) -> None:
        self.catalog, self.t = catalog, thresholds

    def candidates(self, q: ImageQuery) -> list[tuple[str, int, str, float | None]]:
        """Stages 1-2: (key, hash distance, orientation, cosine), best first."""
        t = self.t
        found = self.catalog.hashes.search(q.hashes, t.hash_radius)
        sims: dict[str, float] = {}
        if q.vector is not None:
            sims = dict(self.catalog.neighbours(q.vector, t.neighbours))
            hashed = [k for k in found if k not in sims]
            stored = self.catalog.vectors(hashed) if hashed else {}
            for k, v in stored.items():
                sims[k] = float(np.dot(v, q.vector))
        keys = set(found) | set(sims)
        if q.exclude_prefix is not None:
            keys = {k for k in keys if not k.startswith(q.exclude_prefix)}
        out: list[tuple[str, int, str, float | None]] = []
        for key in keys:
            if key in found:
                dist, i = found[key]
            else:
                code = self.catalog.hashes.code(key)
                if code is None:
                    continue
                d = hamming(q.hashes, np.uint64(code))
                dist, i = int(d.min()), int(d.argmin())
            out.append((key, dist, ORIENTATIONS[i][0], sims.get(key)))
        out.sort(key=lambda c: (-(c[3] if c[3] is not None else 2.0), c[1]))
        return out

    def check(self, q: ImageQuery) -> CheckResult:
        """Every indexed picture ``q`` copies."""
        t0 = time.perf_counter()
        cands = self.candidates(q)
        t1 = time.perf_counter()
        result = CheckResult(candidates=len(cands), check_ms=(t1 - t0) * 1000)
        mine: list[Keypoints] = []  # the query's keypoints, computed on first need

        def geometry(key: str) -> Verification | None:
            original = self.catalog.picture(key)
            if q.picture is None or original is None:
                return None
            if not mine:
                mine.append(keypoints(q.picture))
            return fit(mine[0], keypoints(original), min_inliers=4, min_correlation=-1)

        result.matches = self.decide(cands, geometry)
        result.verify_ms = (time.perf_counter() - t1) * 1000
        return result

    def decide(
        self,
        cands: list[tuple[str, int, str, float | None]],
        geometry: Callable[[str], Verification | None],
    ) -> list[ImageMatch]:
        """Stage 3 over ranked candidates; ``geometry(key)`` fits the query onto a
        candidate (None: no picture to fit). Split from ``check`` so thresholds can be
        chosen over recorded candidates and fits."""
        t = self.t
        matches: list[ImageMatch] = []
        verified = 0
        for key, dist, orientation, sim in cands:
            agrees = sim is not None and sim >= t.min_similarity_hash
            # Without an embedding, a hash alone must be twice as close.
            if (dist <= t.hash_match and agrees) or (sim is None and dist <= t.hash_match // 2):
                kind, transform = _hash_kind(orientation)
                matches.append(ImageMatch(key, dist, orientation, sim, False, kind, transform))
                continue
            if sim is None or sim < t.min_similarity_verify or verified >= t.max_verify:
                continue
            v = geometry(key)
            if v is None:
                continue
            verified += 1
            enough = v.inliers >= t.min_inliers and v.inliers >= MIN_INLIER_RATIO * v.matches
            if enough and v.correlation >= t.min_correlation:
                transform = {"rotate": "rotate_small", "crop": "crop"}.get(v.kind, "near")
                matches.append(
                    ImageMatch(key, dist, orientation, sim, True, v.kind, transform, v.inliers)
                )
        return matches
