"""Local content-addressed blob store."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import pytest

from agora.blobs import LocalBlobStore, create_blob_store
from agora.config import Settings
from agora.errors import InvalidInput, NotFound


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(f"file://{tmp_path / 'blobs'}")


def test_put_get_is_content_addressed_and_idempotent(store: LocalBlobStore) -> None:
    ref = store.put(b"hello", name="a.txt", media_type="text/plain", kind="document")
    assert ref.sha256 == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    assert (ref.size, ref.name, ref.kind) == (5, "a.txt", "document")
    assert store.get(ref.sha256) == b"hello"
    again = store.put(b"hello", name="b.txt", media_type="text/plain")
    assert again.sha256 == ref.sha256
    path = Path(store.path_for(ref.sha256) or "")
    assert path == store.root / "objects" / ref.sha256[:2] / ref.sha256[2:]
    assert list((store.root / "tmp").iterdir()) == []


def test_stream_input_is_hashed_while_written(store: LocalBlobStore) -> None:
    payload = os.urandom(3 * 1024 * 1024 + 17)
    ref = store.put(io.BytesIO(payload), name=None, media_type="application/octet-stream")
    assert ref.size == len(payload)
    with store.open(ref.sha256) as fh:
        assert fh.read() == payload


def test_missing_and_malformed_digests(store: LocalBlobStore) -> None:
    with pytest.raises(NotFound):
        store.get("0" * 64)
    with pytest.raises(NotFound):
        store.path_for("0" * 64)
    assert not store.exists("0" * 64)
    with pytest.raises(InvalidInput):
        store.get("../../etc/passwd")


def test_derived_files_are_versioned_and_erased_with_source(store: LocalBlobStore) -> None:
    src = store.put(b"image", name="a.png", media_type="image/png")
    v1 = store.put_derived(src.sha256, "thumbnail", "v1", b"small", media_type="image/webp")
    v2 = store.put_derived(src.sha256, "thumbnail", "v2", b"smaller", media_type="image/webp")
    store.put_derived(src.sha256, "lod", "v1", b"mesh", media_type="model/gltf-binary")
    listed = list(store.list_derived(src.sha256))
    assert [(k, v) for k, v, _ in listed] == [
        ("lod", "v1"),
        ("thumbnail", "v1"),
        ("thumbnail", "v2"),
    ]
    assert listed[1][2] == v1 and store.get(v2.sha256) == b"smaller"
    assert (store.root / "derived" / src.sha256 / "thumbnail" / "v1.json").is_file()
    with pytest.raises(InvalidInput):
        store.put_derived(src.sha256, "../x", "v1", b"x", media_type="text/plain")
    store.delete(src.sha256)
    assert not store.exists(src.sha256) and not store.exists(v1.sha256)
    assert list(store.list_derived(src.sha256)) == []
    store.delete(src.sha256)  # erasing twice is fine


def test_concurrent_writers_of_same_content(store: LocalBlobStore) -> None:
    payload = os.urandom(256 * 1024)
    refs = []

    def write() -> None:
        refs.append(store.put(payload, name=None, media_type="x/y"))

    threads = [threading.Thread(target=write) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.sha256 for r in refs}) == 1
    assert store.get(refs[0].sha256) == payload
    assert list((store.root / "tmp").iterdir()) == []


def test_factory_uses_settings_url(tmp_path: Path) -> None:
    store = create_blob_store(Settings(data_dir=tmp_path))
    assert isinstance(store, LocalBlobStore)
    assert store.root == (tmp_path / "blobs").absolute()
    with pytest.raises(InvalidInput):
        create_blob_store(Settings(data_dir=tmp_path, blobs={"url": "ftp://x/y"}))
