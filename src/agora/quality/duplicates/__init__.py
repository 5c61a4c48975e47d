"""Near-duplicate and re-upload detection (issue 23, item 1).

A cascade that survives what sellers do to stolen art: pHash over the 8
dihedral orientations in a multi-index hash, ranking by the image embedding,
ORB + RANSAC verification for crops and small turns, exact content hashes,
and a D2 shape-distribution fingerprint for meshes. ``DuplicatesStep`` runs it
after every upload; ``GET /api/v1/assets/{id}/duplicates`` shows its result.
"""

from agora.quality.duplicates.cascade import Cascade, CascadeThresholds, ImageMatch, ImageQuery
from agora.quality.duplicates.detector import DuplicateDetector
from agora.quality.duplicates.geometry import Verification, verify
from agora.quality.duplicates.hashing import ORIENTATIONS, dihedral_hashes, hamming
from agora.quality.duplicates.mesh import fingerprint_distance, mesh_fingerprint
from agora.quality.duplicates.mih import MultiIndexHash
from agora.quality.duplicates.store import Fingerprints, FingerprintStore

__all__ = [
    "ORIENTATIONS",
    "Cascade",
    "CascadeThresholds",
    "DuplicateDetector",
    "FingerprintStore",
    "Fingerprints",
    "ImageMatch",
    "ImageQuery",
    "MultiIndexHash",
    "Verification",
    "dihedral_hashes",
    "fingerprint_distance",
    "hamming",
    "mesh_fingerprint",
    "verify",
]
