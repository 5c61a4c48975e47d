"""Near-duplicate building blocks: dihedral hashes, multi-index hashing, ORB + RANSAC
verification, mesh fingerprints and the cascade's decision."""

from __future__ import annotations

import io

import numpy as np
import pytest
import trimesh
from PIL import Image

from agora.quality.duplicates.cascade import Cascade, CascadeThresholds, ImageQuery
from agora.quality.duplicates.geometry import verify
from agora.quality.duplicates.hashing import ORIENTATIONS, dihedral_hashes, hamming, min_distance
from agora.quality.duplicates.mesh import fingerprint_distance, load_mesh, mesh_fingerprint
from agora.quality.duplicates.mih import MultiIndexHash
from agora.quality.duplicates.review import queue_fields

skimage_data = pytest.importorskip("skimage.data")


def photo(name: str = "chelsea", side: int = 320) -> Image.Image:
    img = Image.fromarray(getattr(skimage_data, name)())
    img.thumbnail((side, side))
    return img.convert("RGB")


@pytest.mark.parametrize("op", [op for _, op in ORIENTATIONS if op is not None])
def test_a_flipped_or_turned_copy_hashes_to_distance_zero(op: Image.Transpose) -> None:
    original = photo()
    query = dihedral_hashes(original.transpose(op))
    distance, orientation = min_distance(query, int(dihedral_hashes(original)[0]))
    assert distance == 0
    # The orientation names what was done: undoing it gives the original.
    assert orientation != "identity" or op is None


def test_orientation_names_the_transform() -> None:
    original = photo()
    flipped = dihedral_hashes(original.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    turned = dihedral_hashes(original.transpose(Image.Transpose.ROTATE_90))
    code = int(dihedral_hashes(original)[0])
    assert min_distance(flipped, code)[1] == "flip_h"
    assert min_distance(turned, code)[1] == "rotate90"


def test_plain_phash_misses_a_flip() -> None:
    original = photo()
    flipped = dihedral_hashes(original.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    assert int(hamming(flipped[0], dihedral_hashes(original)[0])) > 10


def test_multi_index_hash_equals_a_scan() -> None:
    rng = np.random.default_rng(1)
    base = rng.integers(0, 2**63, 200, dtype=np.uint64)
    # Near neighbours: a few bits flipped on some codes.
    flips = rng.integers(0, 64, (200, 3))
    near = base.copy()
    for i in range(0, 200, 2):
        for b in flips[i]:
            near[i] ^= np.uint64(1) << np.uint64(b)
    codes = np.concatenate([base, near])
    keys = [f"k{i}" for i in range(len(codes))]
    index = MultiIndexHash()
    index.add(keys, codes)
    for radius in (0, 3, 7, 12):
        for q in base[:20]:
            d = hamming(codes, q)
            expected = {keys[i] for i in np.flatnonzero(d <= radius)}
            assert set(index.search(np.array([q]), radius)) == expected


def test_multi_index_hash_replaces_removes_and_persists(tmp_path) -> None:  # type: ignore[no-untyped-def]
    index = MultiIndexHash()
    index.add(["a#0"], np.array([0], dtype=np.uint64))
    index.add(["a#0"], np.array([2**64 - 1], dtype=np.uint64))
    assert index.search(np.array([0], dtype=np.uint64), 4) == {}
    assert len(index) == 1
    index.save(tmp_path / "codes.npz")
    again = MultiIndexHash.load(tmp_path / "codes.npz")
    assert again.search(np.array([2**64 - 1], dtype=np.uint64), 0) == {"a#0": (0, 0)}
    again.remove(["a#0"])
    assert len(again) == 0


def test_geometry_accepts_a_crop_and_a_small_turn_and_rejects_another_picture() -> None:
    original = photo("astronaut", 400)
    w, h = original.size
    crop = original.crop((int(0.1 * w), int(0.15 * h), int(0.9 * w), int(0.95 * h)))
    cropped = verify(crop, original)
    assert cropped.verified and cropped.kind == "crop"
    turned = verify(original.rotate(17, expand=True, fillcolor=(255, 255, 255)), original)
    assert turned.verified and turned.kind == "rotate" and 12 < abs(turned.angle) < 22
    assert not verify(photo("coffee", 400), original).verified


def test_mesh_fingerprint_ignores_vertex_order_scale_and_rigid_motion() -> None:
    mesh = trimesh.creation.annulus(r_min=0.5, r_max=1.0, height=0.3, sections=48)
    copy = mesh.copy()
    order = np.random.default_rng(3).permutation(len(copy.vertices))
    inverse = np.argsort(order)
    copy = trimesh.Trimesh(copy.vertices[order], inverse[copy.faces], process=False)
    copy.apply_transform(trimesh.transformations.random_rotation_matrix(np.random.rand(3)))
    copy.apply_translation([5, -2, 9])
    copy.apply_scale(3.7)
    fp = mesh_fingerprint(mesh)
    assert fingerprint_distance(fp, mesh_fingerprint(copy)) < 0.05
    for other in (trimesh.creation.box((1, 1, 1)), trimesh.creation.icosphere(),
                  trimesh.creation.box((4, 1, 0.2))):  # fmt: skip
        assert fingerprint_distance(fp, mesh_fingerprint(other)) > 0.1


def test_mesh_loader_refuses_garbage() -> None:
    with pytest.raises(Exception):  # noqa: B017  (trimesh raises many kinds)
        mesh_fingerprint(load_mesh(b"solid nothing\nendsolid\n", "stl"))
    buf = io.BytesIO()
    trimesh.creation.box().export(buf, file_type="glb")
    assert mesh_fingerprint(load_mesh(buf.getvalue(), "glb")).shape == (34,)


class _Catalog:
    def __init__(self, pictures: dict[str, Image.Image]) -> None:
        self.hashes = MultiIndexHash()
        self.pictures = pictures
        self.hashes.add(
            list(pictures), np.array([dihedral_hashes(p)[0] for p in pictures.values()])
        )

    def neighbours(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        return [(key, 0.9) for key in list(self.pictures)[:k]]

    def vectors(self, keys: list[str]) -> dict[str, np.ndarray]:
        return {}

    def picture(self, key: str) -> Image.Image | None:
        return self.pictures.get(key)


def test_cascade_finds_a_flip_by_hash_and_a_crop_by_geometry() -> None:
    cat, coffee = photo("chelsea"), photo("coffee")
    cascade = Cascade(_Catalog({"a#0": cat, "b#0": coffee}), CascadeThresholds())
    flipped = cat.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    res = cascade.check(ImageQuery("q#0", dihedral_hashes(flipped), None, flipped))
    assert [(m.key, m.kind, m.transform) for m in res.matches] == [("a#0", "flip", "flip_v")]
    crop = cat.crop((30, 20, 290, 200))
    vec = np.ones(4, dtype=np.float32)  # the stub catalog says 0.9 for both candidates
    res = cascade.check(ImageQuery("q#0", dihedral_hashes(crop), vec, crop))
    assert [(m.key, m.kind, m.verified) for m in res.matches] == [("a#0", "crop", True)]


def test_queue_fields_link_the_original() -> None:
    out = {"held": True, "original": "a1", "exact": [{"asset_id": "a1", "seller_id": "s1",
           "sha256": "ab"}], "near": []}  # fmt: skip
    fields = queue_fields("a2", "s2", out, "duplicates@1.0")
    assert fields["reasons"][0]["original"] == "a1" and fields["kind"] == "review"
