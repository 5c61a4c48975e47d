"""Trained text classifiers as versioned artefacts that load without pickle.

A classifier is written as one compressed ``.npz`` file read with
``allow_pickle=False``: a JSON header (format name and version, classifier
class, labels, thresholds, priors, vectoriser settings, provenance) and plain
numeric arrays (IDF weights, linear weights) plus the vocabularies as JSON
text. Loading builds the objects from this package's code and fills in the
numbers, so a file can carry wrong weights but never code: that is what lets
the package ship trained classifiers (``agora.moderation.shipped``) where a
pickle would execute whatever it holds.

The header's ``format_version`` is checked: a file from a newer format is
refused with a clear error rather than misread.

Example:
    >>> write_artifact(clf, Path("moderation-spam.npz"), provenance={...})  # doctest: +SKIP
    >>> read_artifact(Path("moderation-spam.npz")).predict(["WIN a prize"])  # doctest: +SKIP
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from agora.errors import InvalidInput
from agora.moderation.embeddings import SentenceFeatures
from agora.moderation.stacking import LinearHead, MetaModel
from agora.moderation.text_models import (
    SpamClassifier,
    TextClassifier,
    ToxicityClassifier,
    vectorizers,
)

FORMAT = "agora.moderation.text-classifier"
# 2: the gate's served view per label, the single-input views' calibrations
# and the stack's inputs (format 1 files serve the stack, as before).
FORMAT_VERSION = 2
CLASSES: dict[str, type[TextClassifier]] = {
    ToxicityClassifier.name: ToxicityClassifier,
    SpamClassifier.name: SpamClassifier,
}
# The TfidfVectorizer settings a file records and a load re-applies.
_VECTOR_PARAMS = (
    "analyzer",
    "ngram_range",
    "min_df",
    "max_features",
    "sublinear_tf",
    "lowercase",
    "norm",
    "use_idf",
    "smooth_idf",
    "binary",
    "token_pattern",
)


def _json_bytes(value: Any) -> np.ndarray:
    return np.frombuffer(json.dumps(value, sort_keys=True).encode("utf-8"), dtype=np.uint8)


def _json_value(array: np.ndarray) -> Any:
    return json.loads(array.tobytes().decode("utf-8"))


def _tfidf_parts(clf: TextClassifier) -> dict[str, TfidfVectorizer]:
    if clf.features_ is None:
        raise InvalidInput(f"{clf.name} is not trained")
    parts = {n: t for n, t in clf.features_.transformer_list if isinstance(t, TfidfVectorizer)}
    if not clf.tfidf_ or set(parts) != {"word", "char"}:
        raise InvalidInput(f"{clf.name} is not a stacked TF-IDF classifier this format can hold")
    return parts


def header_of(clf: TextClassifier, provenance: dict[str, Any]) -> dict[str, Any]:
    """The JSON header of ``clf``'s artefact (no arrays)."""
    parts = _tfidf_parts(clf)
    sentence = clf.sentence_
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "classifier": clf.name,
        "label_names": list(clf.label_names),
        "params": {
            "C": clf.C,
            "calibration_folds": clf.calibration_folds,
            "seed": clf.seed,
            "embeddings": clf.embeddings,
        },
        "n_train": clf.n_train_,
        "priors": clf.priors_,
        "thresholds": clf.thresholds_,
        "tfidf_thresholds": clf.tfidf_thresholds_,
        "intercepts": {lb: h.intercept for lb, h in clf.tfidf_.items()},
        "platt": {lb: [m.coef.tolist(), m.intercept] for lb, m in clf.platt_.items()},
        "embedding_intercepts": {lb: h.intercept for lb, h in clf.heads_.items()},
        "meta": {lb: [m.coef.tolist(), m.intercept] for lb, m in clf.meta_.items()},
        "view_platt": {
            view: {lb: [m.coef.tolist(), m.intercept] for lb, m in per.items()}
            for view, per in clf.view_platt_.items()
        },
        "view_thresholds": clf.view_thresholds_,
        "stack_inputs": clf.stack_inputs_,
        "served": clf.served_,
        "gate": clf.gate_,
        "sentence": None
        if sentence is None
        else {"profile": sentence.profile, "max_chars": sentence.max_chars, "key": sentence.key},
        "vectorizers": {
            name: {k: vec.get_params()[k] for k in _VECTOR_PARAMS} for name, vec in parts.items()
        },
        "provenance": provenance,
    }


def write_artifact(clf: TextClassifier, path: Path, *, provenance: dict[str, Any]) -> Path:
    """Write ``clf`` (a trained, stacked or TF-IDF-only classifier) to ``path``."""
    parts = _tfidf_parts(clf)
    arrays: dict[str, np.ndarray] = {"header": _json_bytes(header_of(clf, provenance))}
    for name, vec in parts.items():
        terms = sorted(vec.vocabulary_, key=vec.vocabulary_.__getitem__)
        arrays[f"{name}.vocabulary"] = _json_bytes(terms)
        arrays[f"{name}.idf"] = np.asarray(vec.idf_, dtype=np.float64)
    for label, head in clf.tfidf_.items():
        arrays[f"tfidf.{label}"] = np.asarray(head.coef, dtype=np.float64)
    for label, head in clf.heads_.items():
        arrays[f"embedding.{label}"] = np.asarray(head.coef, dtype=np.float64)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    path.write_bytes(buffer.getvalue())
    return path


def _arrays(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The checked header and the arrays of an artefact file."""
    try:
        with np.load(Path(path), allow_pickle=False) as data:
            header = _json_value(data["header"])
            arrays = {k: data[k] for k in data.files if k != "header"}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        # ValueError also covers pickled object arrays, which are never loaded.
        raise InvalidInput(f"{path} is not an Agora text-classifier artefact: {exc}") from exc
    return _checked(header, path), arrays


def read_header(path: Path) -> dict[str, Any]:
    """The header of an artefact, checked for format and version."""
    return _arrays(path)[0]


def _checked(header: Any, path: Path) -> dict[str, Any]:
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise InvalidInput(f"{path} is not an Agora text-classifier artefact")
    version = header.get("format_version")
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise InvalidInput(
            f"{path} has format version {version!r}; this Agora reads 1..{FORMAT_VERSION}"
        )
    if header.get("classifier") not in CLASSES:
        raise InvalidInput(f"{path} holds an unknown classifier {header.get('classifier')!r}")
    return header


def _vectorizer(
    template: TfidfVectorizer, params: dict[str, Any], terms: list[str], idf: np.ndarray
) -> TfidfVectorizer:
    settings = dict(params)
    settings["ngram_range"] = tuple(settings["ngram_range"])
    vec = template.set_params(**settings, vocabulary={t: i for i, t in enumerate(terms)})
    vec.idf_ = idf  # also validates the vocabulary against the weights' length
    return vec


def _meta(pair: Any) -> MetaModel:
    coef, intercept = pair
    return MetaModel(np.asarray(coef, dtype=np.float64), float(intercept))


def read_artifact(path: Path) -> TextClassifier:
    """The classifier in ``path`` (no pickle: arrays and JSON only)."""
    path = Path(path)
    header, arrays = _arrays(path)
    try:
        return _build(header, arrays, path)
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise InvalidInput(f"{path}: a damaged artefact ({type(exc).__name__}: {exc})") from exc


def _build(header: dict[str, Any], arrays: dict[str, np.ndarray], path: Path) -> TextClassifier:
    cls = CLASSES[header["classifier"]]
    if list(header["label_names"]) != list(cls.label_names):
        raise InvalidInput(f"{path}: labels {header['label_names']} are not {cls.name}'s")
    p = header["params"]
    clf = cls(C=p["C"], calibration_folds=p["calibration_folds"], seed=p["seed"])
    clf.embeddings = bool(p["embeddings"])
    union = vectorizers(cls.use_links)
    for name, vec in union.transformer_list:
        if isinstance(vec, TfidfVectorizer):
            terms = _json_value(arrays[f"{name}.vocabulary"])
            _vectorizer(vec, header["vectorizers"][name], terms, arrays[f"{name}.idf"])
    clf.features_ = union
    width = union.transform([""]).shape[1]
    for label in cls.label_names:
        coef = arrays[f"tfidf.{label}"]
        if coef.shape != (width,):
            raise InvalidInput(f"{path}: weights of {label!r} do not fit the vocabulary")
        clf.tfidf_[label] = LinearHead(coef, float(header["intercepts"][label]))
        clf.platt_[label] = _meta(header["platt"][label])
        if header["sentence"] is not None:
            clf.heads_[label] = LinearHead(
                arrays[f"embedding.{label}"], float(header["embedding_intercepts"][label])
            )
            clf.meta_[label] = _meta(header["meta"][label])
    if header["sentence"] is not None:
        s = header["sentence"]
        clf.sentence_ = SentenceFeatures(s["profile"], int(s["max_chars"]))
        clf.sentence_.key = s["key"]
    clf.view_platt_ = {
        view: {lb: _meta(m) for lb, m in per.items()}
        for view, per in header.get("view_platt", {}).items()
    }
    clf.view_thresholds_ = {
        view: {lb: float(c) for lb, c in per.items()}
        for view, per in header.get("view_thresholds", {}).items()
    }
    clf.stack_inputs_ = {lb: list(c) for lb, c in header.get("stack_inputs", {}).items()}
    clf.served_ = {lb: str(v) for lb, v in header.get("served", {}).items()}
    clf.gate_ = header.get("gate", {})
    clf.thresholds_ = {k: float(v) for k, v in header["thresholds"].items()}
    clf.tfidf_thresholds_ = {k: float(v) for k, v in header["tfidf_thresholds"].items()}
    clf.priors_ = {k: float(v) for k, v in header["priors"].items()}
    clf.n_train_ = int(header["n_train"])
    return clf
