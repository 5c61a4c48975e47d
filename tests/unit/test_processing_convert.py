"""The conversion matrix: every supported input to every supported output on the
shared Kenney models, each converted (reloaded, face count compared) or refused
with a reason; and what each conversion loses."""

from __future__ import annotations

from pathlib import Path

import pytest

from agora.errors import InvalidInput
from agora.processing.convert import (
    ASSIMP_IN,
    ASSIMP_OUT,
    REFUSED_OUTPUTS,
    _assimp,
    assimp_available,
    convert_model,
    load_scene,
    supported_inputs,
    supported_outputs,
)

MODELS = ("building-small-a", "grass-trees", "pavement-fountain")


def _faces(data: bytes, fmt: str) -> int:
    return sum(len(g.faces) for g in load_scene(data, fmt).dump())


@pytest.fixture
def sources(data_dir: Path) -> dict[str, bytes]:
    folder = data_dir / "kenney-city-builder-glb" / "models"
    return {name: (folder / f"{name}.glb").read_bytes() for name in MODELS}


def _as_input(glb: bytes, fmt: str) -> bytes:
    """The shared glb in format ``fmt`` (written by trimesh, or Assimp for fbx/dae/3ds)."""
    if fmt == "glb":
        return glb
    if fmt in ASSIMP_IN:  # fbx as ASCII FBX: Assimp cannot re-read its binary FBX
        return _assimp(glb, "glb", fmt)
    return convert_model(glb, "glb", fmt).data


@pytest.mark.parametrize("model", MODELS)
def test_every_input_converts_to_every_output(sources: dict[str, bytes], model: str) -> None:
    glb = sources[model]
    reference = _faces(glb, "glb")
    outcomes: dict[tuple[str, str], str] = {}
    for src in supported_inputs():
        data = _as_input(glb, src)
        for dst in (*supported_outputs(), *REFUSED_OUTPUTS):
            try:
                out = convert_model(data, src, dst)
            except InvalidInput as exc:
                outcomes[(src, dst)] = f"refused: {exc}"
                continue
            report = out.report
            assert report.faces_out == _faces(out.data, dst)  # the report re-read the output
            # Triangles survive every conversion (Assimp may triangulate or
            # merge differently: 2% slack).
            assert abs(report.faces_out - reference) <= max(2, 0.02 * reference), (src, dst, report)
            outcomes[(src, dst)] = "converted"
    refused = {k: v for k, v in outcomes.items() if v != "converted"}
    # Only the outputs refused by design are refused, each with its reason.
    assert {dst for _src, dst in refused} == set(REFUSED_OUTPUTS), refused
    assert all("not offered" in reason for reason in refused.values())
    expected = len(supported_inputs()) * (len(supported_outputs()) + len(REFUSED_OUTPUTS))
    assert len(outcomes) == expected


def test_losses_are_reported_per_target(sources: dict[str, bytes]) -> None:
    glb = sources["building-small-a"]
    assert convert_model(glb, "glb", "stl").report.lost == ["material", "uv"]
    assert convert_model(glb, "glb", "ply").report.lost == ["material", "uv"]
    assert convert_model(glb, "glb", "obj").report.lost == []
    obj = convert_model(glb, "glb", "obj")
    assert obj.media_type == "application/zip"
    again = load_scene(obj.data, "obj")  # the zip's mtl and texture resolve
    assert any(getattr(g.visual, "uv", None) is not None for g in again.geometry.values())


def test_unsupported_pairs_are_refused_with_a_reason(sources: dict[str, bytes]) -> None:
    glb = sources["building-small-a"]
    with pytest.raises(InvalidInput, match="cannot write 'usdz'"):
        convert_model(glb, "glb", "usdz")
    with pytest.raises(InvalidInput, match="cannot read 'blend'"):
        convert_model(glb, "blend", "glb")
    with pytest.raises(InvalidInput):
        convert_model(b"garbage", "glb", "stl")
    if not assimp_available():
        for fmt in ASSIMP_IN:
            with pytest.raises(InvalidInput, match="needs Assimp"):
                convert_model(b"x", fmt, "glb")
        assert not set(ASSIMP_OUT) & set(supported_outputs())
