"""POST /api/v1/ekyc-match on real face photos: the match, quality checks, the active
liveness challenge and an operator's ONNX liveness model; the database and the blob
store hold no photo and no embedding in clear; retention deletes kept originals."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageOps
from sqlalchemy import select

from agora.api.app import create_app
from agora.client import Client
from agora.config import Settings
from agora.governance.audit import AuditLog
from agora.identity.service import decode_photo
from agora.identity.tables import EkycMatchRow, EkycOriginalRow
from agora.mlops.tasks import TaskRegistry
from agora.runtime import Platform
from agora.testing.api import bearer

pytest.importorskip("dlib", reason="eKYC needs dlib-bin and face_recognition_models")
FACES = Path(__file__).resolve().parents[3] / "shared" / "data" / "face-pairs" / "images"
pytestmark = pytest.mark.skipif(not FACES.is_dir(), reason=f"needs {FACES}")
KEY = "ekyc-test-key-" + "s" * 32
SAME = ("img20.jpg", "img21.jpg")
OTHER = "img16.jpg"


def _photo(name: str) -> bytes:
    return (FACES / name).read_bytes()


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def _build(tmp_path: Path, **ekyc: object) -> tuple[Platform, TestClient, str]:
    platform = Platform.build(Settings.load(data_dir=tmp_path / "agora", ekyc={"key": KEY, **ekyc}))
    token = platform.keys.create(["read", "write"]).token
    return platform, TestClient(create_app(platform, start_background=False)), token


@pytest.fixture
def kept(tmp_path: Path) -> Iterator[tuple[Platform, TestClient, str]]:
    platform, client, token = _build(tmp_path, keep_originals=True)
    with client:
        yield platform, client, token
    platform.close()


def _match(c: TestClient, token: str, first: bytes, second: bytes, **form: object) -> dict:
    files: list[tuple[str, tuple[str, bytes, str]]] = [
        ("selfie", ("s.jpg", first, "image/jpeg")),
        ("second_selfie", ("t.jpg", second, "image/jpeg")),
    ]
    for i, frame in enumerate(form.pop("frames", [])):  # type: ignore[attr-defined]
        files.append(("frames", (f"f{i}.jpg", frame, "image/jpeg")))
    r = c.post("/api/v1/ekyc-match", headers=bearer(token), files=files, data=form)
    return {"status": r.status_code, **r.json()}


def test_match_stores_nothing_in_clear_and_retention_deletes(
    kept: tuple[Platform, TestClient, str], tmp_path: Path
) -> None:
    platform, c, token = kept
    same = _match(c, token, _photo(SAME[0]), _photo(SAME[1]), subject_ref="user-1")
    assert same["status"] == 200, same
    assert same["match"] is True and same["face_match_score"] > 0.5
    assert same["liveness_prob"] is None and same["liveness"]["method"] == "none"
    other = _match(c, token, _photo(SAME[0]), _photo(OTHER))
    assert other["status"] == 200 and other["match"] is False
    assert other["face_match_score"] < 0.5 < same["face_match_score"]

    # What an attacker with the database file and the blob folder would find.
    faces = platform.ekyc.faces
    secrets = [_photo(n) for n in (*SAME, OTHER)]
    embeddings = []
    for name in (*SAME, OTHER):
        rgb = decode_photo(_photo(name), name, 10**8)
        face = faces.face(rgb, role=name, min_face_px=20, min_sharpness=0.0, strict_single=False)
        embeddings.append(face.embedding)
    needles = [s[200:264] for s in secrets] + [e.tobytes()[:64] for e in embeddings]
    needles += [np.float64(e[0]).tobytes() for e in embeddings]
    db_files = [p for p in (tmp_path / "agora").rglob("*") if p.is_file()]
    assert db_files
    for path in db_files:
        content = path.read_bytes()
        for needle in needles:
            assert needle not in content, f"clear eKYC data in {path}"
    # Rows: hashes and AES-GCM boxes only, which decrypt back to the embeddings.
    with platform.db.session() as s:
        rows = list(s.scalars(select(EkycMatchRow)))
        kept_rows = list(s.scalars(select(EkycOriginalRow)))
    assert len(rows) == 2 and len(kept_rows) == 4
    vault = platform.ekyc.vault
    first = next(r for r in rows if r.id == same["id"])
    clear = np.frombuffer(
        vault.decrypt(first.embedding_a, purpose=f"ekyc-embedding:{first.id}:a"), np.float32
    )
    assert np.allclose(clear, embeddings[0], atol=1e-5)
    assert first.hash_a == vault.keyed_hash(clear.tobytes())
    assert platform.ekyc.original(same["id"], "selfie") == secrets[0]
    # Every match audited, without the photos or the embeddings.
    entries = list(AuditLog(platform.db).query(action="ekyc.match").entries)
    assert {e.subject_id for e in entries} == {same["id"], other["id"]}
    assert entries[0].details["subject_ref"] in ("user-1", None)

    # Retention: nothing before the window ends, everything after (blobs included).
    now = datetime.now(UTC)
    assert platform.ekyc.purge_expired(now + timedelta(days=29)) == 0
    assert TaskRegistry().available("ekyc_retention")
    assert platform.ekyc.purge_expired(now + timedelta(days=30, minutes=1)) == 4
    assert not any(platform.blobs.exists(r.blob_sha256) for r in kept_rows)
    with platform.db.session() as s:
        assert list(s.scalars(select(EkycOriginalRow))) == []
    assert AuditLog(platform.db).query(action="ekyc.originals_deleted").entries


def test_quality_checks_answer_422_with_the_reason(tmp_path: Path) -> None:
    platform, client, token = _build(tmp_path)
    with client as c:
        blank = _jpeg(Image.new("RGB", (400, 400), (200, 180, 160)))
        r = _match(c, token, blank, _photo(SAME[1]))
        assert r["status"] == 422 and "no face found in the selfie" in r["detail"]
        r = _match(c, token, _photo("selfie-many-people.jpg"), _photo(SAME[1]))
        assert r["status"] == 422 and "exactly one is required" in r["detail"]
        tiny = Image.open(FACES / SAME[0]).convert("RGB")
        tiny.thumbnail((90, 90))
        r = _match(c, token, _jpeg(tiny), _photo(SAME[1]))
        assert r["status"] == 422, r
        r = _match(c, token, b"not an image", _photo(SAME[1]))
        assert r["status"] == 422 and "not a decodable image" in r["detail"]
        r = c.post(
            "/api/v1/ekyc-match",
            headers=bearer(token),
            files=[("selfie", ("s.jpg", _photo(SAME[0]), "image/jpeg"))],
        )
        assert r.status_code == 422 and "exactly one of" in r.json()["detail"]
    platform.close()
    off, client, token = _build(tmp_path / "off", key="")
    with client as c:
        r = _match(c, token, _photo(SAME[0]), _photo(SAME[1]))
        assert r["status"] == 503 and "ekyc.key" in r["detail"]
    off.close()


def test_active_challenge_refuses_a_still_and_sees_a_turn(tmp_path: Path) -> None:
    platform, client, token = _build(tmp_path)
    selfie = _photo(SAME[0])
    with client as c:
        still = _match(c, token, selfie, _photo(SAME[1]), frames=[selfie] * 4)
        assert still["status"] == 200, still
        live = still["liveness"]
        assert live["same_person"] is True and live["calibrated"] is False
        assert still["liveness_prob"] == 0.0  # a photo held to the camera: no blink, no turn
        # A turn: the face and its mirror image sit on either side of the camera axis.
        face = Image.open(FACES / SAME[0]).convert("RGB")
        turned = [selfie, selfie, _jpeg(ImageOps.mirror(face)), selfie]
        turn = _match(c, token, selfie, _photo(SAME[1]), frames=turned, challenge="blink")
        assert turn["liveness"]["evidence"]["turn_range"] > 0.0
        # Someone else performing the challenge is never live.
        other = _match(c, token, selfie, _photo(SAME[1]), frames=[_photo(OTHER)] * 3)
        assert other["liveness"]["same_person"] is False and other["liveness_prob"] == 0.0
        r = _match(c, token, selfie, _photo(SAME[1]), frames=[selfie])
        assert r["status"] == 422 and "at least 3 frames" in r["detail"]
    platform.close()


def _tiny_liveness_model(path: Path) -> Path:
    """ONNX: (T, 3, S, S) chips -> sigmoid(0 * mean + 2) (a fixed, known P(live))."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["chips"], ["mean"], keepdims=0),
            helper.make_node("Mul", ["mean", "zero"], ["z0"]),
            helper.make_node("Add", ["z0", "two"], ["z"]),
            helper.make_node("Sigmoid", ["z"], ["p_live"]),
        ],
        "tiny-liveness",
        [helper.make_tensor_value_info("chips", TensorProto.FLOAT, ["T", 3, 64, 64])],
        [helper.make_tensor_value_info("p_live", TensorProto.FLOAT, [])],
        initializer=[
            numpy_helper.from_array(np.zeros((), np.float32), "zero"),
            numpy_helper.from_array(np.full((), 2.0, np.float32), "two"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_an_operators_liveness_model_gives_the_probability(tmp_path: Path) -> None:
    model = _tiny_liveness_model(tmp_path / "live.onnx")
    platform, client, token = _build(tmp_path, liveness_model=str(model))
    selfie = _photo(SAME[0])
    with client as c:
        r = _match(c, token, selfie, _photo(SAME[1]), frames=[selfie] * 3)
        # The SDK sends the same form.
        sdk = Client(api_key=token, http=c).identity.ekyc_match(
            selfie, second_selfie=_photo(SAME[1]), frames=[selfie] * 3, subject_ref="u-7"
        )
    platform.close()
    assert sdk.match is True and sdk.liveness_prob == r["liveness_prob"]
    assert r["status"] == 200, r
    assert r["liveness"]["method"].startswith("onnx-liveness:live@")
    assert r["liveness"]["calibrated"] is True
    assert r["liveness_prob"] == pytest.approx(1 / (1 + np.exp(-2.0)), abs=1e-4)


def test_sqlite_file_is_the_only_database(tmp_path: Path) -> None:
    """The inspection above reads every file under data_dir: make sure the catalog is there."""
    platform, client, _ = _build(tmp_path)
    client.close()
    files = list((tmp_path / "agora").rglob("*.db")) + list((tmp_path / "agora").rglob("*.sqlite"))
    platform.close()
    assert files and sqlite3.connect(files[0]).execute("select 1").fetchone() == (1,)
