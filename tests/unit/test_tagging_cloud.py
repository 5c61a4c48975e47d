"""Cloud taggers against local emulators: the generic HTTP protocol and Rekognition (moto)."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer
from PIL import Image

from agora.tagging import Taxonomy
from agora.tagging.cloud import CloudGate, CloudUnavailable, HttpCloudTagger, RekognitionTagger
from agora.tagging.testing import CloudTaggerEmulator
from agora.testing.net import free_port

TAX = Taxonomy.default()


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (0, 128, 0)).save(buf, format="PNG")
    return buf.getvalue()


def test_generic_tagger_maps_labels_onto_the_taxonomy() -> None:
    labels = [("Tank", 0.93), ("Playing Card", 0.4), ("Spaceship", 0.8), ("Banana", 0.99)]
    with CloudTaggerEmulator(labels, token="s3cret") as emu:
        tagger = HttpCloudTagger(emu.url, TAX, token="s3cret")
        tags = tagger.tag(png(), timeout_s=5)
        assert emu.requests[0]["auth"] == "Bearer s3cret"
    got = {t.key: t.confidence for t in tags}
    assert got == {
        ("object_type", "tank"): 0.93,
        ("object_type", "playing_card"): 0.4,
        ("object_type", "spaceship"): 0.8,
    }  # "Banana" is not in the taxonomy: dropped
    assert all(t.source_model == "cloud-generic@emu-1" for t in tags)


def test_generic_tagger_errors_become_cloud_unavailable() -> None:
    with (
        CloudTaggerEmulator([("Tank", 0.9)], token="right") as emu,
        pytest.raises(CloudUnavailable),
    ):
        HttpCloudTagger(emu.url, TAX, token="wrong").tag(png(), timeout_s=5)
    with pytest.raises(CloudUnavailable):  # nothing listens any more
        HttpCloudTagger(emu.url, TAX).tag(png(), timeout_s=1)


@pytest.mark.process
def test_gate_retries_then_succeeds_and_respects_the_time_budget() -> None:
    with CloudTaggerEmulator([("Tank", 0.9)]) as emu:
        gate = CloudGate(HttpCloudTagger(emu.url, TAX), attempts=3, backoff_s=0.01)
        emu.fail_next = 2
        assert gate.tag(png(), deadline=time.monotonic() + 10)[0].name == "tank"
        assert len(emu.requests) == 3
        emu.delay_s = 1.0
        start = time.monotonic()
        with pytest.raises(CloudUnavailable):
            gate.tag(png(), deadline=time.monotonic() + 0.3)
        assert time.monotonic() - start < 1.5
        with pytest.raises(CloudUnavailable, match="budget"):
            gate.tag(png(), deadline=time.monotonic() - 1)


def test_gate_rate_limit_is_a_token_bucket() -> None:
    now = [0.0]

    class Fake:
        provider, model = "fake", "fake@1"

        def tag(self, image: bytes, *, timeout_s: float) -> list:
            return []

    gate = CloudGate(Fake(), rate_per_s=1.0, burst=2, clock=lambda: now[0])
    gate.tag(b"x", deadline=10)
    gate.tag(b"x", deadline=10)
    with pytest.raises(CloudUnavailable, match="rate limit"):
        gate.tag(b"x", deadline=10)
    now[0] = 1.0  # one token refilled
    gate.tag(b"x", deadline=10)


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def rekognition(url: str):
    return boto3.client(
        "rekognition", region_name="us-east-1", endpoint_url=url,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip


def test_rekognition_detect_labels_against_moto(moto_url: str) -> None:
    # moto's DetectLabels answers a fixed label set ("Mobile Phone", "Phone", ...):
    # this checks the adapter's request, response parsing and taxonomy mapping.
    tagger = RekognitionTagger(rekognition(moto_url), TAX)
    tags = tagger.tag(png(), timeout_s=5)
    assert ("object_type", "ui_element") in {t.key for t in tags}
    assert all(0.0 <= t.confidence <= 1.0 for t in tags)
    assert tagger.model == "rekognition@3.0"


def test_rekognition_custom_labels_and_errors(moto_url: str) -> None:
    tagger = RekognitionTagger(
        rekognition(moto_url), TAX,
        project_version_arn="arn:aws:rekognition:us-east-1:123456789012:project/a/version/b/1",
    )  # fmt: skip
    assert tagger.tag(png(), timeout_s=5) == []  # moto's "MyLogo" has no mapping
    dead = RekognitionTagger(rekognition(f"http://127.0.0.1:{free_port()}"), TAX)
    with pytest.raises(CloudUnavailable):
        dead.tag(png(), timeout_s=1)
