"""OpenCLIP ONNX loader on a tiny CLIP-like model that the test builds and exports itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from tokenizers import Tokenizer, models, pre_tokenizers, processors
from torch import nn

from agora.encoders import ImageEncoder, TextEncoder
from agora.encoders.image import preprocess
from agora.encoders.openclip_onnx import (
    CLIP_MEAN,
    CLIP_STD,
    OpenClipOnnxConfig,
    OpenClipOnnxEncoder,
)
from agora.errors import InvalidInput

WORDS = ["a", "photo", "of", "red", "car", "cat", "tree", "blue"]
CONTEXT = 8
DIM = 16


class TinyVisual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 4, stride=4)
        self.proj = nn.Linear(8, DIM)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.proj(torch.relu(self.conv(image)).mean(dim=(2, 3)))


class TinyText(nn.Module):
    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, 12)
        self.proj = nn.Linear(12, DIM)

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        # As in CLIP: the end-of-text token has the largest id; its position is pooled.
        x = torch.cumsum(self.embed(text), dim=1)
        eot = text.argmax(dim=-1)
        return self.proj(x[torch.arange(text.shape[0]), eot])


@pytest.fixture(scope="module")
def tiny_clip(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, TinyVisual, TinyText, Tokenizer]:
    root = tmp_path_factory.mktemp("tinyclip")
    vocab = {"[PAD]": 0, "[UNK]": 1, **{w: i + 2 for i, w in enumerate(WORDS)}}
    vocab["<sot>"], vocab["<eot>"] = len(vocab), len(vocab) + 1
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="<sot> $A <eot>",
        special_tokens=[("<sot>", vocab["<sot>"]), ("<eot>", vocab["<eot>"])],
    )
    tok.save(str(root / "tokenizer.json"))
    torch.manual_seed(0)
    visual, text = TinyVisual().eval(), TinyText(len(vocab)).eval()
    torch.onnx.export(
        visual, (torch.zeros(1, 3, 32, 32),), str(root / "visual.onnx"),
        input_names=["image"], output_names=["embedding"],
        dynamic_axes={"image": {0: "n"}, "embedding": {0: "n"}}, dynamo=False,
    )  # fmt: skip
    torch.onnx.export(
        text, (torch.zeros(1, CONTEXT, dtype=torch.long),), str(root / "text.onnx"),
        input_names=["text"], output_names=["embedding"],
        dynamic_axes={"text": {0: "n"}, "embedding": {0: "n"}}, dynamo=False,
    )  # fmt: skip
    return root, visual, text, tok


def config(root: Path, **kw: object) -> OpenClipOnnxConfig:
    return OpenClipOnnxConfig(
        image_model=root / "visual.onnx", text_model=root / "text.onnx",
        tokenizer=root / "tokenizer.json", version="tiny-test", image_size=32,
        context_length=CONTEXT, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def unit(x: torch.Tensor) -> np.ndarray:
    v = x.detach().numpy()
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_text_tower_matches_torch_with_clip_tokenisation(tiny_clip) -> None:
    root, _, text, tok = tiny_clip
    enc = OpenClipOnnxEncoder(config(root))
    assert isinstance(enc, TextEncoder) and isinstance(enc, ImageEncoder)
    assert enc.info.key == "openclip@tiny-test" and enc.info.dim == DIM
    got = enc.encode_queries(["red car", "a photo of a blue tree in fog"])
    vocab = tok.get_vocab()
    ids = torch.zeros(2, CONTEXT, dtype=torch.long)
    first = [vocab["<sot>"], vocab["red"], vocab["car"], vocab["<eot>"]]
    ids[0, : len(first)] = torch.tensor(first)
    # Too long for the context: truncated, and the end-of-text token is kept.
    words = ["a", "photo", "of", "a", "blue", "tree"]
    second = [vocab["<sot>"], *(vocab[w] for w in words), vocab["<eot>"]]
    ids[1] = torch.tensor(second)
    with torch.no_grad():
        expected = unit(text(ids))
    assert np.allclose(got, expected, atol=1e-5)
    assert np.allclose(enc.encode_passages(["red car"]), got[:1], atol=1e-6)


def test_image_tower_matches_torch_and_gives_zero_shot_probs(tiny_clip) -> None:
    root, visual, _, _ = tiny_clip
    enc = OpenClipOnnxEncoder(config(root))
    images = [
        Image.new("RGB", (64, 48), (200, 30, 30)),
        Image.new("RGBA", (20, 20), (0, 0, 255, 255)),
    ]
    out = enc.encode_images(images)
    batch = torch.from_numpy(
        np.stack([preprocess(im, 32, 32, CLIP_MEAN, CLIP_STD) for im in images])
    )
    with torch.no_grad():
        expected = unit(visual(batch))
    assert np.allclose(out.features, expected, atol=1e-5)
    assert out.class_probs.shape == (2, 1000)
    assert np.allclose(out.class_probs.sum(axis=1), 1.0, atol=1e-4)


def test_missing_or_mismatched_files_fail_at_load(tiny_clip, tmp_path: Path) -> None:
    root, _, _, _ = tiny_clip
    with pytest.raises(InvalidInput, match="not found"):
        OpenClipOnnxEncoder(config(tmp_path))
    # An image tower that embeds to another width than the text tower is refused.
    narrow = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, DIM // 2)).eval()
    torch.onnx.export(
        narrow, (torch.zeros(1, 3, 32, 32),), str(tmp_path / "visual.onnx"),
        input_names=["image"], dynamic_axes={"image": {0: "n"}}, dynamo=False,
    )  # fmt: skip
    for name in ("text.onnx", "tokenizer.json"):
        (tmp_path / name).write_bytes((root / name).read_bytes())
    with pytest.raises(InvalidInput, match="disagree"):
        OpenClipOnnxEncoder(config(tmp_path))
