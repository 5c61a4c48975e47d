"""The BlobStore contract, run on every backend registered in ``agora.blobs``:
the local folder and S3 (against a moto server the tests start on 127.0.0.1).

A backend registered without a factory here fails
``test_every_registered_backend_runs_the_contract``, so a new one cannot skip
the suite.
"""

from __future__ import annotations

import hashlib
import io
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from agora.blobs import BlobStore, blob_backends
from agora.errors import InvalidInput, NotFound
from agora.testing.s3 import MOTO_CREDENTIALS, create_bucket, moto_s3

BUCKET = "agora-contract"


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_s3(tmp_path_factory.mktemp("moto")) as endpoint:
        create_bucket(endpoint, BUCKET)
        yield endpoint


def _s3_store(request: pytest.FixtureRequest, _tmp: Path) -> BlobStore:
    endpoint = request.getfixturevalue("s3_endpoint")
    # A fresh prefix per test: the tests share one bucket but never see each other.
    url = f"s3://{BUCKET}/t-{uuid.uuid4().hex[:12]}"
    return blob_backends.create(url, endpoint_url=endpoint, **MOTO_CREDENTIALS)


# scheme -> a fresh store in a test's temporary directory
FACTORIES: dict[str, Callable[[pytest.FixtureRequest, Path], BlobStore]] = {
    "file": lambda _request, tmp: blob_backends.create(f"file://{tmp / 'blobs'}"),
    "s3": _s3_store,
}


def test_every_registered_backend_runs_the_contract() -> None:
    assert sorted(blob_backends.schemes()) == sorted(FACTORIES)


@pytest.fixture(params=sorted(FACTORIES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    return FACTORIES[request.param](request, tmp_path)


def test_put_is_content_addressed_and_idempotent(store: BlobStore) -> None:
    data = b"hello blobs"
    ref = store.put(data, name="a.txt", media_type="text/plain", kind="document")
    assert ref.sha256 == hashlib.sha256(data).hexdigest() and ref.size == len(data)
    assert (ref.name, ref.media_type, ref.kind) == ("a.txt", "text/plain", "document")
    again = store.put(data, name="b.txt", media_type="text/plain")
    assert again.sha256 == ref.sha256  # same content, same address
    assert store.exists(ref.sha256) and store.get(ref.sha256) == data
    with store.open(ref.sha256) as stream:
        assert stream.read() == data


def test_streams_and_empty_content_are_stored(store: BlobStore) -> None:
    big = bytes(range(256)) * 5000  # larger than any read chunk
    ref = store.put(io.BytesIO(big), name=None, media_type="application/octet-stream")
    assert ref.size == len(big) and store.get(ref.sha256) == big
    empty = store.put(b"", name="empty", media_type="text/plain")
    assert empty.size == 0 and store.get(empty.sha256) == b""


def test_missing_blobs_are_not_found_and_bad_digests_refused(store: BlobStore) -> None:
    absent = "0" * 64
    assert not store.exists(absent)
    with pytest.raises(NotFound):
        store.get(absent)
    with pytest.raises(NotFound):
        store.open(absent)
    store.delete(absent)  # deleting what is not there is fine
    for bad in ("../../etc/passwd", "abc", "Z" * 64):
        with pytest.raises(InvalidInput):
            store.get(bad)


def test_path_for_is_a_readable_copy_or_none(store: BlobStore) -> None:
    ref = store.put(b"\x89PNG...", name="i.png", media_type="image/png")
    path = store.path_for(ref.sha256)
    assert path is None or Path(path).read_bytes() == b"\x89PNG..."


def test_derived_files_are_versioned_listed_and_replaced(store: BlobStore) -> None:
    src = store.put(b"source image", name="s.png", media_type="image/png").sha256
    assert list(store.list_derived(src)) == []
    store.put_derived(src, "thumbnail", "v1", b"thumb-1", media_type="image/webp")
    store.put_derived(src, "thumbnail", "v2", b"thumb-2", media_type="image/webp")
    store.put_derived(src, "embedding", "v1", b"vec", media_type="application/octet-stream")
    listed = [(k, v, store.get(r.sha256)) for k, v, r in store.list_derived(src)]
    assert listed == [
        ("embedding", "v1", b"vec"),
        ("thumbnail", "v1", b"thumb-1"),
        ("thumbnail", "v2", b"thumb-2"),
    ]
    store.put_derived(src, "thumbnail", "v2", b"thumb-2b", media_type="image/webp")
    by_key = {(k, v): store.get(r.sha256) for k, v, r in store.list_derived(src)}
    assert by_key[("thumbnail", "v2")] == b"thumb-2b" and len(by_key) == 3
    with pytest.raises(InvalidInput):
        store.put_derived(src, "../up", "v1", b"x", media_type="text/plain")


def test_delete_erases_the_blob_and_what_was_derived_from_it(store: BlobStore) -> None:
    src = store.put(b"to be erased", name=None, media_type="text/plain").sha256
    thumb = store.put_derived(src, "thumbnail", "v1", b"erased thumb", media_type="image/webp")
    keep = store.put(b"another", name=None, media_type="text/plain").sha256
    store.delete(src)
    assert not store.exists(src) and not store.exists(thumb.sha256)
    assert list(store.list_derived(src)) == []
    assert store.get(keep) == b"another"


def test_concurrent_writers_of_the_same_content_agree(store: BlobStore) -> None:
    data = b"same bytes" * 10_000
    refs = []

    def write() -> None:
        refs.append(store.put(data, name=None, media_type="application/octet-stream"))

    threads = [threading.Thread(target=write) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.sha256 for r in refs}) == 1 and store.get(refs[0].sha256) == data


def test_download_url_serves_the_bytes_or_is_absent(store: BlobStore) -> None:
    data = b"presigned bytes"
    ref = store.put(data, name="p.bin", media_type="application/octet-stream")
    url = store.download_url(ref.sha256, expires_s=60, filename="p.bin")
    if url is not None:  # a presigned URL: no credentials needed to fetch it
        response = httpx.get(url, timeout=30)
        assert response.status_code == 200 and response.content == data
        assert "p.bin" in response.headers.get("content-disposition", "")
        # SigV4 query signing (what AWS and MinIO verify; moto serves without checking).
        assert "X-Amz-Signature=" in url and "X-Amz-Expires=60" in url
    with pytest.raises(NotFound):
        store.download_url("0" * 64)
