"""EfficientNet-Lite0 converted to ONNX without torch: the reader, the graph, the cache.

The equality tests compare with the torch reference
(``agora.encoders.efficientnet_torch``, the ``train`` extra, installed for tests).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from agora.encoders.efficientnet import (
    CONVERTER_VERSION,
    STYLE_BLOCKS,
    STYLE_DIM,
    build_lite0_onnx,
    packaged_weights,
)
from agora.encoders.image import preprocess
from agora.encoders.model_cache import file_sha256, lite0_onnx, onnx_session
from agora.encoders.torch_checkpoint import CheckpointError, load_state_dict
from agora.tagging.features import pad_square


@pytest.fixture(scope="module")
def state() -> dict[str, np.ndarray]:
    return load_state_dict(packaged_weights())


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> object:
    return onnx_session(lite0_onnx(cache_dir=tmp_path_factory.mktemp("lite0")), threads=2)


def photos() -> np.ndarray:
    images = [data.chelsea(), data.coffee(), data.rocket(), data.astronaut()]
    squares = [preprocess(pad_square(Image.fromarray(im)), 224, 224) for im in images]
    crops = [preprocess(Image.fromarray(im)) for im in images]
    return np.stack(squares + crops)


def test_reader_gives_every_tensor_of_the_packaged_checkpoint(state: dict) -> None:
    assert len(state) == 296
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280) and state["_fc.weight"].dtype == np.float32
    assert state["_bn0.num_batches_tracked"].dtype == np.int64
    assert all(a.flags["C_CONTIGUOUS"] for a in state.values())


def test_reader_equals_torch_load_on_both_file_formats(state: dict, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    reference = torch.load(packaged_weights(), map_location="cpu", weights_only=True)
    assert list(reference) == list(state)
    for key, tensor in reference.items():
        assert np.array_equal(tensor.numpy(), state[key]), key
    # The zip format of current torch.save, with a view into a shared storage,
    # a transposed (non-contiguous) tensor and several dtypes.
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    saved = {
        "t": base.t(), "row": base[2], "half": base.half(), "long": torch.tensor([7, -1]),
        "scalar": torch.tensor(3.5, dtype=torch.float64),
    }  # fmt: skip
    torch.save(saved, tmp_path / "x.pth")
    back = load_state_dict(tmp_path / "x.pth")
    for key, tensor in saved.items():
        assert back[key].dtype == tensor.numpy().dtype, key
        assert np.array_equal(back[key], tensor.numpy()), key


def test_reader_refuses_anything_but_tensors(tmp_path: Path) -> None:
    marker = tmp_path / "ran"

    class Exploit:
        def __reduce__(self) -> tuple:
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"w": Exploit()}))
    with pytest.raises(CheckpointError, match=r"refusing to load (posix|os)\.system"):
        load_state_dict(path)
    assert not marker.exists()
    (tmp_path / "junk.pth").write_bytes(pickle.dumps(12345))
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint"):
        load_state_dict(tmp_path / "junk.pth")


def test_conversion_needs_exactly_the_lite0_tensors(state: dict) -> None:
    with pytest.raises(ValueError, match="not used"):
        build_lite0_onnx({**state, "_extra.weight": np.zeros(3, np.float32)})
    missing = dict(state)
    del missing["_blocks.9._depthwise_conv.weight"]
    with pytest.raises(KeyError, match=r"_blocks\.9\._depthwise_conv\.weight"):
        build_lite0_onnx(missing)


def test_onnx_graph_equals_the_torch_network(session: object) -> None:
    torch = pytest.importorskip("torch")
    from agora.encoders.efficientnet_torch import load_lite0

    net = load_lite0()
    taps: dict[int, object] = {}
    for i in STYLE_BLOCKS:
        net._blocks[i].register_forward_hook(
            lambda _m, _i, out, i=i: taps.__setitem__(
                i, torch.cat([out.mean(dim=(2, 3)), out.std(dim=(2, 3))], dim=1)
            )
        )
    pixels = np.concatenate(
        [photos(), np.random.default_rng(0).normal(size=(2, 3, 224, 224)).astype(np.float32)]
    )
    with torch.inference_mode():
        features, logits = net(torch.from_numpy(pixels))
        probs = torch.softmax(logits, dim=-1).numpy()
        style = torch.cat([taps[i] for i in STYLE_BLOCKS], dim=1).numpy()
    f, lg, p, st = session.run(["features", "logits", "probs", "style"], {"pixels": pixels})
    assert st.shape == (len(pixels), STYLE_DIM)
    assert np.abs(f - features.numpy()).max() < 1e-4
    assert np.abs(lg - logits.numpy()).max() < 1e-3  # logits reach ~20: relative 5e-5
    assert np.abs(p - probs).max() < 1e-4
    assert np.abs(st - style).max() < 1e-4 * max(1.0, float(np.abs(style).max()))
    assert (p.argmax(axis=1) == probs.argmax(axis=1)).all()


def test_cache_converts_once_and_is_keyed_by_weights(tmp_path: Path) -> None:
    with ThreadPoolExecutor(4) as pool:  # concurrent first uses: one conversion, one file
        paths = set(pool.map(lambda _: lite0_onnx(cache_dir=tmp_path), range(4)))
    assert len(paths) == 1
    path = paths.pop()
    sha = file_sha256(packaged_weights())[:16]
    assert path.name == f"efficientnet-lite0-{sha}-c{CONVERTER_VERSION}.onnx"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == [path.name]
    stamp = path.stat().st_mtime_ns
    assert lite0_onnx(cache_dir=tmp_path) == path and path.stat().st_mtime_ns == stamp
    # Other weights (same architecture, one changed value) get their own file.
    other = tmp_path / "other.pth"
    raw = bytearray(packaged_weights().read_bytes())
    raw[-1] ^= 1  # the last byte of the last storage: still a valid checkpoint
    other.write_bytes(bytes(raw))
    assert lite0_onnx(other, cache_dir=tmp_path) != path


SERVING_PROBE = """
import sys
from PIL import Image
import agora.api.app, agora.worker, agora.search.indexer, agora.tagging.factory
import agora.moderation.image, agora.recommend.service, agora.ranking.service
from agora.encoders.image import EfficientNetLite0Encoder
from agora.tagging.features import TaggingFeatureExtractor
image = Image.new("RGB", (40, 30), (200, 30, 30))
EfficientNetLite0Encoder().encode_images([image])
TaggingFeatureExtractor().extract([image])
print(sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "onnx")))
"""


def test_the_serving_path_never_imports_torch_or_onnx() -> None:
    # torch is installed for the tests (the train extra): only an import could load it.
    out = subprocess.run(
        [sys.executable, "-c", SERVING_PROBE], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_the_protobuf_writer_matches_the_onnx_package(state: dict) -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import helper, numpy_helper

    from agora.encoders import onnx_proto

    array = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5
    tensor = onnx.TensorProto.FromString(onnx_proto.make_tensor("w", array))
    assert tensor == numpy_helper.from_array(array, "w")
    scalar = np.array(6.0, dtype=np.float32)
    parsed = onnx.TensorProto.FromString(onnx_proto.make_tensor("six", scalar))
    assert parsed == numpy_helper.from_array(scalar, "six")
    node = onnx.NodeProto.FromString(
        onnx_proto.make_node("Conv", ["x", "w"], ["y"], group=3, pads=[0, 1, 1, 2], axis=-1)
    )
    expected = helper.make_node("Conv", ["x", "w"], ["y"], axis=-1, group=3, pads=[0, 1, 1, 2])
    assert node == expected
    info = onnx.ValueInfoProto.FromString(onnx_proto.make_value_info("p", ["batch", 3, 224]))
    assert info == helper.make_tensor_value_info("p", onnx.TensorProto.FLOAT, ["batch", 3, 224])
    model = onnx.load_from_string(build_lite0_onnx(state))
    onnx.checker.check_model(model, full_check=True)
    assert [o.name for o in model.graph.output] == ["features", "logits", "probs", "style"]
    # Clip bounds, weight and bias of 49 convolutions and the classifier, 2 Bessel factors.
    assert len(model.graph.initializer) == 2 + 2 * 49 + 2 + 2
