"""Geometric verification: ORB keypoints matched and fitted by RANSAC (OpenCV).

Hashes miss a crop or a small turn, and an embedding says "looks alike", not
"is the same picture": two grass tiles of one pack look alike. A copy, however
cropped or turned, keeps the original's keypoints in the same arrangement, so
a similarity transform (rotation, uniform scale, translation) fitted by RANSAC
explains many matches at once; an unrelated look-alike's matches do not line
up. The fitted transform also says what was done: its angle (a turn), and how
much of the original the copy covers (a crop).

Example:
    >>> import numpy as np
    >>> from PIL import Image
    >>> rng = np.random.default_rng(0)
    >>> img = Image.fromarray(rng.integers(0, 255, (200, 200), dtype=np.uint8)).resize((400, 400))
    >>> v = verify(img.crop((40, 40, 360, 360)), img)
    >>> v.verified, v.kind
    (True, 'crop')
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from agora.quality.duplicates.hashing import as_gray

SIDE = 384  # both pictures are brought to this longer side: sprites are tiny, photos big
# A low FAST threshold: sprites brought up from 64 px have soft corners.
_ORB = {"nfeatures": 1500, "scaleFactor": 1.2, "nlevels": 8, "edgeThreshold": 15,
        "patchSize": 15, "fastThreshold": 7}  # fmt: skip
# A copy shows between a tenth of the original (a crop) and six times its area
# (a turned copy's frame grows); outside, RANSAC fitted a degenerate transform.
COVERAGE = (0.1, 6.0)


@dataclass(frozen=True)
class Verification:
    """Outcome of fitting the copy onto the original."""

    verified: bool
    inliers: int
    matches: int
    angle: float = 0.0  # degrees the copy is turned against the original
    coverage: float = 1.0  # share of the original's area the copy shows
    correlation: float = 0.0  # of the copy warped onto the original, where they overlap

    @property
    def kind(self) -> str:
        """``rotate``, ``crop`` or ``near`` (same framing: recoloured, recompressed)."""
        if abs(self.angle) >= 3.0:
            return "rotate"
        if self.coverage < 0.92:
            return "crop"
        return "near"


def _prepare(image: Image.Image) -> np.ndarray:
    gray = as_gray(image)
    scale = SIDE / max(gray.size)
    size = (max(1, round(gray.width * scale)), max(1, round(gray.height * scale)))
    return np.asarray(gray.resize(size, Image.Resampling.BICUBIC), dtype=np.uint8)


def _polygon_area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


@dataclass(frozen=True)
class Keypoints:
    """ORB keypoints of one picture at the working size (computed once, matched often)."""

    points: np.ndarray  # float32[n, 2]
    descriptors: np.ndarray | None  # uint8[n, 32]
    shape: tuple[int, int]
    gray: np.ndarray  # the picture at the working size, for the photometric check


def keypoints(image: Image.Image) -> Keypoints:
    """ORB keypoints and descriptors of ``image`` brought to ``SIDE`` pixels."""
    gray = _prepare(image)
    kps, desc = cv2.ORB_create(**_ORB).detectAndCompute(gray, None)  # type: ignore[attr-defined]
    points = np.array([k.pt for k in kps], dtype=np.float32).reshape(-1, 2)
    return Keypoints(points, desc, (int(gray.shape[0]), int(gray.shape[1])), gray)


def correlation(copy: Keypoints, original: Keypoints, matrix: np.ndarray) -> float:
    """Pearson correlation of the copy warped by ``matrix`` onto the original, over
    their overlap (blurred: JPEG and resampling noise are not differences). Keypoints
    of two round blobs can agree on a transform; their pixels then do not."""
    h, w = original.shape
    warped = cv2.warpAffine(copy.gray, matrix, (w, h), flags=cv2.INTER_LINEAR)
    inside = cv2.warpAffine(np.full(copy.shape, 255, np.uint8), matrix, (w, h))
    mask = cv2.erode(inside, np.ones((7, 7), np.uint8)) == 255
    if mask.sum() < 0.05 * h * w:
        return 0.0
    a = cv2.GaussianBlur(warped, (7, 7), 0)[mask].astype(np.float64)
    b = cv2.GaussianBlur(original.gray, (7, 7), 0)[mask].astype(np.float64)
    if a.std() < 1e-6 or b.std() < 1e-6:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def fit(
    copy: Keypoints,
    original: Keypoints,
    *,
    min_inliers: int = 12,
    min_inlier_ratio: float = 0.1,
    min_correlation: float = 0.5,
    ratio: float = 0.8,
) -> Verification:
    """Fit ``copy`` onto ``original`` (see ``verify``)."""
    da, db = copy.descriptors, original.descriptors
    if da is None or db is None or len(da) < 2 or len(db) < 2:
        return Verification(False, 0, 0)
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(da, db, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < ratio * p[1].distance]
    if len(good) < max(4, min_inliers):
        return Verification(False, 0, len(good))
    src = copy.points[[m.queryIdx for m in good]].reshape(-1, 1, 2)
    dst = original.points[[m.trainIdx for m in good]].reshape(-1, 1, 2)
    matrix, mask = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=5.0, maxIters=2000, confidence=0.995
    )
    if matrix is None or mask is None:
        return Verification(False, 0, len(good))
    inliers = int(mask.sum())
    angle = math.degrees(math.atan2(float(matrix[1, 0]), float(matrix[0, 0])))
    h, w = copy.shape
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32).reshape(-1, 1, 2)
    mapped = cv2.transform(corners, matrix).reshape(-1, 2)
    coverage = _polygon_area(mapped) / float(original.shape[0] * original.shape[1])
    if not COVERAGE[0] <= coverage <= COVERAGE[1]:
        return Verification(False, 0, len(good), round(angle, 2), round(min(coverage, 9.99), 4))
    corr = correlation(copy, original, matrix)
    ok = inliers >= min_inliers and inliers >= min_inlier_ratio * len(good)
    ok = ok and corr >= min_correlation
    return Verification(
        ok, inliers, len(good), round(angle, 2), round(min(coverage, 9.99), 4), round(corr, 4)
    )


def verify(
    copy: Image.Image,
    original: Image.Image,
    *,
    min_inliers: int = 12,
    min_inlier_ratio: float = 0.1,
    min_correlation: float = 0.5,
    ratio: float = 0.8,
) -> Verification:
    """Whether ``copy`` shows (part of) ``original``, turned and scaled at most.

    ``min_inliers`` matches must agree on one similarity transform (RANSAC, 5 px
    at 384 px), be at least ``min_inlier_ratio`` of the matches that pass Lowe's
    ratio test (``ratio``), and the copy warped by it must correlate with the
    original at ``min_correlation`` or more."""
    return fit(
        keypoints(copy),
        keypoints(original),
        min_inliers=min_inliers,
        min_inlier_ratio=min_inlier_ratio,
        min_correlation=min_correlation,
        ratio=ratio,
    )
