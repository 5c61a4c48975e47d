"""Text and package 3D formats are typed as models by content (never as text
documents), and a glTF's external buffer is accepted beside its glTF only."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from agora.config import UploadSettings
from agora.errors import UnsupportedMediaType
from agora.testing.broken_meshes import clean_mesh_files
from agora.uploads import UploadGuard
from agora.uploads.resources import model_resources, referenced_names
from agora.uploads.sniff import SNIFF_BYTES, sniff

DAE = b"""<?xml version="1.0" encoding="utf-8"?>
<COLLADA xmlns="http://www.collada.org/2005/11/COLLADASchema" version="1.4.1">
  <asset><unit meter="0.01" name="centimeter"/></asset>
</COLLADA>
"""
SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0 L10 10"/></svg>'
)
DXF = (
    b"  0\nSECTION\n  2\nENTITIES\n  0\nLINE\n  8\n0\n 10\n0.0\n 20\n0.0\n"
    b" 11\n1.0\n 21\n1.0\n  0\nENDSEC\n  0\nEOF\n"
)


@pytest.mark.parametrize(
    ("data", "name", "fmt"),
    [
        (b"OFF\n4 4 6\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 1 2\n", "a.off", "off"),
        (b"OFF\n# made by hand\n0 0 0\n", None, "off"),
        (DAE, "a.dae", "dae"),
        (SVG, "a.svg", "svg"),
        (DXF, "a.dxf", "dxf"),
        # An OBJ without geometry is an OBJ (so its emptiness is flagged).
        (b"# exported\nmtllib a.mtl\no Empty\n", None, "obj"),
        (b"o Empty\ng default\n", "empty.obj", "obj"),
    ],
)
def test_text_models_are_models(data: bytes, name: str | None, fmt: str) -> None:
    s = sniff(data, name=name)
    assert (s.format, s.kind) == (fmt, "model3d")
    assert s.extension_matches


def test_text_that_is_not_a_model_stays_text() -> None:
    assert sniff(b"o hello there\n", name="notes.txt").format == "text"
    page = b"<html><body><svg><path d='M0 0'/></svg></body></html>"
    assert sniff(page, name="page.html").kind != "model3d"


def test_gltf_with_asset_past_the_sniff_window() -> None:
    # A large embedded buffer first, "asset" at the very end: 105k vertices' worth.
    payload = "A" * (SNIFF_BYTES * 2)
    doc = (
        '{"accessors":[{"bufferView":0,"componentType":5126,"count":3,"type":"VEC3"}],'
        '"bufferViews":[{"buffer":0,"byteLength":36}],'
        f'"buffers":[{{"byteLength":36,"uri":"data:application/octet-stream;base64,{payload}"}}],'
        '"meshes":[{"primitives":[{"attributes":{"POSITION":0}}]}],'
        '"asset":{"version":"2.0"}}'
    ).encode()
    assert sniff(doc[:SNIFF_BYTES], name="big.gltf", size=len(doc)).format == "gltf"
    assert sniff(b'{"items": [1, 2], "name": "pack"}', name="a.json").format == "json"


def test_3mf_package_is_a_model() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("3D/3dmodel.model", '<model unit="millimeter"/>')
    s = sniff(out.getvalue(), name="part.3mf")
    assert (s.format, s.kind) == ("3mf", "model3d")
    guard = UploadGuard(UploadSettings())
    assert guard.check_file("part.3mf", out.getvalue()).format == "3mf"


def test_gltf_buffer_accepted_only_beside_its_gltf() -> None:
    files = clean_mesh_files("gltf")
    gltf_name = next(n for n in files if n.endswith(".gltf"))
    bins = sorted(n for n in files if n.endswith(".bin"))
    bin_name = bins[0]
    assert sorted(referenced_names(files[gltf_name], "gltf")) == bins
    resources = model_resources(files.items())
    assert resources == set(bins)
    guard = UploadGuard(UploadSettings())
    assert guard.check_file(bin_name, files[bin_name], resources=resources).kind == "resource"
    # The same bytes alone, or under a name no model uses, are still refused.
    with pytest.raises(UnsupportedMediaType):
        UploadGuard(UploadSettings()).check_file(bin_name, files[bin_name])
    with pytest.raises(UnsupportedMediaType):
        guard.check_file("other.bin", files[bin_name], resources=resources)
    # A JSON that only looks like it names a buffer is not a glTF.
    fake = json.dumps({"buffers": [{"uri": "x.bin"}]}).encode()
    assert model_resources([("fake.json", fake)]) == frozenset()


def test_obj_and_mtl_references() -> None:
    obj = b"mtllib a.mtl b.mtl\nv 0 0 0\n"
    assert referenced_names(obj, "obj") == ["a.mtl", "b.mtl"]
    mtl = b"newmtl skin\nmap_Kd -s 1 1 1 textures/skin.png\nbump normal.png\n"
    assert referenced_names(mtl, "mtl") == ["textures/skin.png", "normal.png"]
