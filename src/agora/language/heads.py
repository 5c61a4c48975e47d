"""A text classification head over the platform's sentence embedding plus
character (or word) n-grams: sentiment, emotion, intent and chat intent.

The sentence embedding (``minilm``, the encoder moderation and search serve)
carries meaning; hashed character n-grams carry what an English encoder reads
poorly (Arabic and Devanagari script, accents, emoji, elongations like
"soooo"). The head is one multinomial logistic regression over both blocks
(Zhang and Wallace 2015 on linear baselines; Joulin et al. 2017, fastText, on
hashed n-grams), its regularisation chosen on the development split only.

A hashing vectoriser has no vocabulary to store or to drift: the head's state
is its weight matrix, its classes and its settings. The embedding is never
computed here: the caller encodes each text once and hands the rows to every
head (``agora.language.service``).

Out of scope (CLINC150's ``oos``): the class is trained like the others, and a
text whose best in-scope probability is under ``oos_threshold`` (chosen on
the development split) is out of scope too (Larson et al. 2019).

Example:
    >>> head = TextHead("language-sentiment", ("negative", "neutral", "positive"))
    >>> head = head.fit(texts, labels, emb, val=(vt, vl, vemb))  # doctest: +SKIP
    >>> head.predict(["love it"], emb[:1])[0].label  # doctest: +SKIP
    'positive'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

from agora.mlops.artifact_state import VersionedState

Metric = Literal["macro_f1", "weighted_f1", "accuracy"]
NGramKind = Literal["char", "word", "none"]


@dataclass(frozen=True)
class HeadResult:
    """One head's answer for one text: the label, every class's probability, the model."""

    label: str
    scores: dict[str, float]
    model: str

    @property
    def confidence(self) -> float:
        return self.scores.get(self.label, max(self.scores.values()))

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """``top``: only the likeliest classes' scores."""
        ranked = sorted(self.scores.items(), key=lambda kv: -kv[1])[:top]
        return {
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "scores": {k: round(v, 4) for k, v in ranked},
            "model": self.model,
        }


def score(metric: Metric, y: Sequence[int] | np.ndarray, pred: Sequence[int] | np.ndarray) -> float:
    """The head's figure: macro-F1, weighted-F1 or accuracy."""
    if metric == "accuracy":
        return float(accuracy_score(y, pred))
    average = "macro" if metric == "macro_f1" else "weighted"
    return float(f1_score(y, pred, average=average, zero_division=0))


class TextHead(VersionedState):
    """Multinomial logistic regression over [sentence embedding, hashed n-grams]."""

    def __init__(
        self,
        name: str,
        classes: Sequence[str],
        *,
        ngrams: NGramKind = "char",
        n_features: int = 2**18,
        embedding_weight: float = 1.0,
        c_grid: Sequence[float] = (1.0, 4.0, 16.0),
        balanced: Sequence[bool] = (False, True),
        metric: Metric = "macro_f1",
        oos_class: str | None = None,
        profile: str = "minilm",
    ) -> None:
        self.name = name
        self.classes = tuple(classes)
        self.ngrams = ngrams
        self.n_features = n_features
        self.embedding_weight = embedding_weight
        self.c_grid = tuple(c_grid)
        self.balanced = tuple(balanced)
        self.metric = metric
        self.oos_class = oos_class
        self.profile = profile  # the text encoder whose rows the head reads
        self.encoder_key: str | None = None
        self.version = "0"
        self.C = self.c_grid[0]
        self.class_weight: str | None = None
        self.oos_threshold = 0.0
        self.coef_: np.ndarray | None = None  # (n_inputs, n_classes) float32
        self.intercept_: np.ndarray | None = None
        self.selection_: dict[str, float] = {}

    # -- features -------------------------------------------------------------

    def _vectoriser(self) -> HashingVectorizer | None:
        if self.ngrams == "none":
            return None
        if self.ngrams == "char":
            return HashingVectorizer(
                analyzer="char_wb",
                ngram_range=(2, 4),
                n_features=self.n_features,
                alternate_sign=False,
                lowercase=True,
            )
        return HashingVectorizer(
            analyzer="word",
            ngram_range=(1, 2),
            n_features=self.n_features,
            alternate_sign=False,
            lowercase=True,
        )

    def features(self, texts: Sequence[str], embeddings: np.ndarray) -> sp.csr_matrix:
        """The head's inputs: the embedding rows (weighted) beside the hashed n-grams."""
        dense = sp.csr_matrix(np.asarray(embeddings, dtype=np.float32) * self.embedding_weight)
        vec = self._vectoriser()
        if vec is None:
            return dense
        grams = vec.transform(list(texts)).astype(np.float32)
        return sp.hstack([dense, grams], format="csr")

    # -- fit ------------------------------------------------------------------

    def _fit_one(self, x: sp.csr_matrix, y: np.ndarray, c: float, balanced: bool) -> None:
        model = LogisticRegression(
            C=c, max_iter=300, class_weight="balanced" if balanced else None, tol=1e-3
        )
        model.fit(x, y)
        coef = np.zeros((x.shape[1], len(self.classes)), dtype=np.float32)
        intercept = np.full(len(self.classes), -30.0, dtype=np.float32)  # absent classes
        for j, cls in enumerate(model.classes_):
            if len(model.classes_) == 2:  # binary: sklearn keeps one row
                sign = 1.0 if j == 1 else -1.0
                coef[:, cls] = sign * model.coef_[0] / 2
                intercept[cls] = sign * model.intercept_[0] / 2
            else:
                coef[:, cls] = model.coef_[j]
                intercept[cls] = model.intercept_[j]
        self.coef_, self.intercept_ = coef, intercept

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[int],
        embeddings: np.ndarray,
        *,
        val: tuple[Sequence[str], Sequence[int], np.ndarray],
        encoder_key: str | None = None,
    ) -> TextHead:
        """Fit on the training rows once per setting of C and class weighting; keep
        the one with the best figure on ``val`` (its out-of-scope threshold too).
        ``val`` is never fitted on: the gate scores the head on it."""
        x = self.features(texts, embeddings)
        y = np.asarray(labels)
        vx = self.features(val[0], val[2])
        vy = np.asarray(val[1])
        best: tuple[float, dict[str, Any]] | None = None
        for balanced in self.balanced:
            for c in self.c_grid:
                self._fit_one(x, y, c, balanced)
                self.oos_threshold = self._tune_oos(vx, vy)
                figure = score(self.metric, vy, self._argmax(vx))
                self.selection_[f"C={c},balanced={balanced}"] = round(figure, 4)
                if best is None or figure > best[0]:
                    state = {
                        "C": c,
                        "class_weight": "balanced" if balanced else None,
                        "oos_threshold": self.oos_threshold,
                        "coef_": self.coef_,
                        "intercept_": self.intercept_,
                    }
                    best = (figure, state)
        assert best is not None
        self.__dict__.update(best[1])
        self.encoder_key = encoder_key
        return self

    def _tune_oos(self, x: sp.csr_matrix, y: np.ndarray) -> float:
        """The in-scope probability under which a text is out of scope."""
        if self.oos_class is None:
            return 0.0
        probs = self._proba(x)
        oos = self.classes.index(self.oos_class)
        mask = y == oos
        if not mask.any() or mask.all():
            return 0.0
        best_t, best = 0.0, -1.0
        for t in np.linspace(0.0, 0.9, 46):
            pred = self._argmax_at(probs, oos, float(t))
            # In-scope accuracy and out-of-scope recall weigh the same: the
            # development split holds 30 in-scope texts per out-of-scope one.
            figure = float(np.mean(pred[~mask] == y[~mask]) + np.mean(pred[mask] == oos))
            if figure > best:
                best_t, best = float(t), figure
        return best_t

    # -- predict --------------------------------------------------------------

    def _proba(self, x: sp.csr_matrix) -> np.ndarray:
        if self.coef_ is None or self.intercept_ is None:
            raise ValueError(f"{self.name} is not fitted")
        z = np.asarray(x @ self.coef_) + self.intercept_
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return np.asarray(e / e.sum(axis=1, keepdims=True))

    def _argmax_at(self, probs: np.ndarray, oos: int, threshold: float) -> np.ndarray:
        pred = np.asarray(probs.argmax(axis=1))
        in_scope = np.delete(probs, oos, axis=1).max(axis=1)
        pred[in_scope < threshold] = oos
        return pred

    def _argmax(self, x: sp.csr_matrix) -> np.ndarray:
        probs = self._proba(x)
        if self.oos_class is None:
            return np.asarray(probs.argmax(axis=1))
        return self._argmax_at(probs, self.classes.index(self.oos_class), self.oos_threshold)

    def predict_proba(self, texts: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
        """(n, classes) probabilities."""
        return self._proba(self.features(texts, embeddings))

    def predict_labels(self, texts: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
        """Class indices (out of scope applied)."""
        return self._argmax(self.features(texts, embeddings))

    def predict(self, texts: Sequence[str], embeddings: np.ndarray) -> list[HeadResult]:
        """One ``HeadResult`` per text."""
        x = self.features(texts, embeddings)
        probs = self._proba(x)
        labels = self._argmax(x) if self.oos_class else probs.argmax(axis=1)
        model = f"{self.name}@{self.version}"
        return [
            HeadResult(
                self.classes[int(k)],
                {c: float(p) for c, p in zip(self.classes, row, strict=True)},
                model,
            )
            for k, row in zip(labels, probs, strict=True)
        ]

    def evaluate(
        self, texts: Sequence[str], labels: Sequence[int], embeddings: np.ndarray
    ) -> dict[str, float]:
        """Macro-F1, weighted-F1 and accuracy (plus out-of-scope recall) on a split."""
        pred = self.predict_labels(texts, embeddings)
        y = np.asarray(labels)
        out = {m: score(m, y, pred) for m in ("macro_f1", "weighted_f1", "accuracy")}
        if self.oos_class is not None:
            oos = self.classes.index(self.oos_class)
            mask = y == oos
            out["oos_recall"] = float(np.mean(pred[mask] == oos)) if mask.any() else 0.0
            out["in_scope_accuracy"] = float(np.mean(pred[~mask] == y[~mask]))
        return out
