"""OpenCLIP exported to ONNX, for operators who bring their own CLIP weights.

No CLIP weights ship in a package that loads offline, so Agora does not bundle
one; an operator exports an OpenCLIP model (image tower and text tower as two
ONNX files, each with one input and one embedding output) plus its
``tokenizer.json`` and points this encoder at them. Text and images share one
space, so one vector index serves text-to-image and image-to-image search.

``class_probs`` are CLIP zero-shot ImageNet probabilities: softmax of
``logit_scale`` x cosine similarity to the prompts "a photo of a {class}.",
computed once (lazily) per process.

Example:
    >>> cfg = OpenClipOnnxConfig(image_model=Path("visual.onnx"), text_model=Path("text.onnx"),
    ...                          tokenizer=Path("tokenizer.json"), version="vit-b-32-laion2b")
    >>> enc = OpenClipOnnxEncoder(cfg)  # doctest: +SKIP
    >>> enc.encode_queries(["a red car"]).shape  # doctest: +SKIP
    (1, 512)
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from agora.encoders.base import EncoderInfo, ImageEncoding
from agora.encoders.image import preprocess
from agora.encoders.imagenet import class_names
from agora.encoders.text import l2_normalise, truncate_words
from agora.errors import InvalidInput

# OpenAI CLIP's pixel statistics, which OpenCLIP models use too.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class OpenClipOnnxConfig:
    """Where the operator's files are and how the model was trained."""

    image_model: Path
    text_model: Path
    tokenizer: Path
    #: The operator names the weights; it becomes part of every vector's key.
    version: str
    name: str = "openclip"
    image_size: int = 224
    mean: tuple[float, float, float] = CLIP_MEAN
    std: tuple[float, float, float] = CLIP_STD
    context_length: int = 77
    pad_id: int = 0
    logit_scale: float = 100.0
    threads: int = 2


class OpenClipOnnxEncoder:
    """Text and image towers of a CLIP model in ONNX (a ``TextEncoder`` and an ``ImageEncoder``)."""

    def __init__(self, config: OpenClipOnnxConfig) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        for path in (config.image_model, config.text_model, config.tokenizer):
            if not Path(path).is_file():
                raise InvalidInput(f"OpenCLIP file not found: {path}")
        self.config = config
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = config.threads
        providers = ["CPUExecutionProvider"]
        self._image = ort.InferenceSession(str(config.image_model), opts, providers=providers)
        self._text = ort.InferenceSession(str(config.text_model), opts, providers=providers)
        self._image_input = self._image.get_inputs()[0].name
        self._text_input = self._text.get_inputs()[0].name
        self._tok = Tokenizer.from_file(str(config.tokenizer))
        self._tok.enable_truncation(config.context_length)
        self._tok.enable_padding(length=config.context_length, pad_id=config.pad_id)
        # Probe both towers once: a wrong file fails here, at load, not on traffic.
        text_dim = self._run_text([""]).shape[1]
        probe = Image.new("RGB", (config.image_size, config.image_size))
        image_dim = self._run_image([probe]).shape[1]
        if text_dim != image_dim:
            raise InvalidInput(
                f"OpenCLIP towers disagree: text embeds to {text_dim}-d, images to {image_dim}-d"
            )
        self.info = EncoderInfo(
            name=config.name, version=config.version, dim=int(text_dim), modality="multimodal"
        )
        self._prompts: np.ndarray | None = None
        self._prompt_lock = threading.Lock()

    def _run_text(self, texts: Sequence[str]) -> np.ndarray:
        # A CLIP context holds 77 tokens; 1000 characters is far more than that.
        encodings = self._tok.encode_batch([truncate_words(t, 1000) for t in texts])
        ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
        (out,) = self._text.run(None, {self._text_input: ids})[:1]
        return l2_normalise(np.asarray(out, dtype=np.float32))

    def _run_image(self, images: Sequence[Image.Image]) -> np.ndarray:
        size = self.config.image_size
        batch = np.stack(
            [preprocess(im, size, size, self.config.mean, self.config.std) for im in images]
        )
        (out,) = self._image.run(None, {self._image_input: batch})[:1]
        return l2_normalise(np.asarray(out, dtype=np.float32))

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.info.dim), dtype=np.float32)
        return self._run_text(list(texts))

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        # CLIP has no query/passage asymmetry.
        return self.encode_queries(texts)

    def _class_prompts(self) -> np.ndarray:
        with self._prompt_lock:
            if self._prompts is None:
                prompts = [f"a photo of a {name}." for name in class_names()]
                self._prompts = np.concatenate(
                    [self._run_text(prompts[i : i + 64]) for i in range(0, len(prompts), 64)]
                )
            return self._prompts

    def encode_images(self, images: Sequence[Image.Image]) -> ImageEncoding:
        if not images:
            empty = np.zeros((0, self.info.dim), dtype=np.float32)
            return ImageEncoding(features=empty, class_probs=np.zeros((0, 1000), np.float32))
        feats = np.concatenate(
            [self._run_image(images[i : i + 32]) for i in range(0, len(images), 32)]
        )
        logits = self.config.logit_scale * feats @ self._class_prompts().T
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        return ImageEncoding(features=feats, class_probs=probs.astype(np.float32))
