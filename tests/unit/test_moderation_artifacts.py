"""Text classifiers as artefacts: exact round trip, no pickle, versioned; the shipped ones."""

from __future__ import annotations

import io
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from agora.errors import InvalidInput
from agora.moderation.artifact import FORMAT_VERSION, read_artifact, read_header, write_artifact
from agora.moderation.datasets import load_sms_spam
from agora.moderation.shipped import ARTIFACTS, SOURCES, file_digest, load_shipped, read_manifest
from agora.moderation.testing import sample_models
from agora.moderation.text_models import SpamClassifier

SPAM = "WINNER!! Claim your 1000 cash prize now, call 09061701461 or visit bit.ly/win"
CLEAN = "Low-poly tank model for Unity, 1,200 triangles, PBR textures"
INSULT = "you stupid fucking bitch"


def test_round_trip_is_exact_and_loads_without_pickle(data_dir: Path, tmp_path: Path) -> None:
    models = sample_models(data_dir)
    assert models.toxicity is not None and models.spam is not None
    texts = [SPAM, CLEAN, INSULT, "see you at lunch"]
    for clf in (models.toxicity, models.spam):
        path = write_artifact(clf, tmp_path / f"{clf.name}.npz", provenance={"data": "sample"})
        with np.load(path, allow_pickle=False) as data:  # nothing in it needs pickle
            assert "header" in data.files
        header = read_header(path)
        assert header["format_version"] == FORMAT_VERSION and header["classifier"] == clf.name
        back = read_artifact(path)
        assert type(back) is type(clf) and back.feature_names == clf.feature_names
        for view in ("stacked", "tfidf"):
            want, got = clf.predict_proba(texts, view=view), back.predict_proba(texts, view=view)
            assert all(np.array_equal(want[k], got[k]) for k in want)
        assert back.cuts() == clf.cuts() and back.priors_ == clf.priors_


def test_stacked_classifier_round_trip(data_dir: Path, tmp_path: Path) -> None:
    corpus = load_sms_spam(data_dir).sample(300)
    clf = SpamClassifier().fit(corpus.texts, corpus.labels, embedding_cache=tmp_path / "emb")
    back = read_artifact(write_artifact(clf, tmp_path / "spam.npz", provenance={}))
    assert back.sentence_ is not None and back.sentence_.key == clf.sentence_.key  # type: ignore[union-attr]
    assert np.array_equal(
        back.predict_proba([SPAM, CLEAN])["spam"], clf.predict_proba([SPAM, CLEAN])["spam"]
    )


def _rewrite_header(path: Path, target: Path, **changes: object) -> Path:
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    header = json.loads(arrays["header"].tobytes()) | changes
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    target.write_bytes(buffer.getvalue())
    return target


def test_newer_format_pickles_and_damage_are_refused(data_dir: Path, tmp_path: Path) -> None:
    spam = sample_models(data_dir).spam
    assert spam is not None
    path = write_artifact(spam, tmp_path / "spam.npz", provenance={})
    newer = _rewrite_header(path, tmp_path / "newer.npz", format_version=FORMAT_VERSION + 1)
    with pytest.raises(InvalidInput, match="format version"):
        read_artifact(newer)
    other = _rewrite_header(path, tmp_path / "other.npz", classifier="moderation-other")
    with pytest.raises(InvalidInput, match="unknown classifier"):
        read_artifact(other)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, header=np.array([{"format": "x"}], dtype=object))
    with pytest.raises(InvalidInput, match="not an Agora"):
        read_artifact(pickled)
    (tmp_path / "plain.npz").write_bytes(pickle.dumps(spam))
    with pytest.raises(InvalidInput, match="not an Agora"):
        read_artifact(tmp_path / "plain.npz")
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if k != "tfidf.spam"}
    np.savez(tmp_path / "damaged.npz", **arrays)
    with pytest.raises(InvalidInput, match="damaged"):
        read_artifact(tmp_path / "damaged.npz")


def test_shipped_classifiers_load_and_say_where_they_come_from() -> None:
    manifest = read_manifest()
    assert (
        manifest["format_version"] == FORMAT_VERSION
        and "agora moderation train" in manifest["command"]
    )
    for name in ("moderation-toxicity", "moderation-spam"):
        entry = manifest["models"][name]
        path = ARTIFACTS / entry["file"]
        assert file_digest(path) == entry["sha256"] and path.stat().st_size == entry["bytes"]
        assert entry["bytes"] < 10_000_000  # megabytes, not tens of them
        assert entry["sources"] == SOURCES[name] and "sha256:" in entry["data"]
        # Figures on the held-out rows of the (5,000-row) training sample.
        assert entry["held_out"]["test_rows"] > 800
    figures = {n: e["held_out"] for n, e in manifest["models"].items()}
    assert figures["moderation-spam"]["spam.f1"] > 0.95
    assert figures["moderation-toxicity"]["offensive.f1"] > 0.95
    toxicity, _ = load_shipped("moderation-toxicity")
    spam, _ = load_shipped("moderation-spam")
    assert spam.predict_proba([SPAM])["spam"][0] > 0.9 > spam.predict_proba([CLEAN])["spam"][0]
    offensive = toxicity.predict_proba([INSULT, CLEAN])["offensive"]
    assert offensive[0] > 0.9 and offensive[1] < offensive[0]
