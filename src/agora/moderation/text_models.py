"""Text classifiers trained here: offensive/hate (davidson) and spam (SMS spam).

Both follow the estimator contract (``fit`` returns self, ``predict`` has no
side effects, ``save``/``load``) and answer with calibrated probabilities.
Each label has two views:

* TF-IDF word (1-2) and character (2-5, word-bounded, robust to misspellings
  and obfuscation) n-grams with a linear SVM;
* the platform's MiniLM sentence embedding (``agora.moderation.embeddings``)
  with a logistic regression: meaning where n-grams see spellings.

A meta logistic regression over the two views' out-of-fold scores stacks
and calibrates them (``agora.moderation.stacking``). ``embeddings=False``
trains the TF-IDF view alone; with embeddings the TF-IDF-only probability
stays available (``predict_proba(..., view="tfidf")``) so the benchmark
reports both. Each label also has a decision threshold chosen to maximise F1
on out-of-fold probabilities, because hate is rare (6 % of davidson) and 0.5
on a calibrated probability is the wrong cut for it.

The spam model adds link features (URLs, shorteners, phone-number-like digit
runs, currency, shouting), since spam is mostly about getting a click or a
call.

Example:
    >>> clf = SpamClassifier().fit(texts, labels)  # doctest: +SKIP
    >>> clf.predict(["WINNER!! claim your prize at bit.ly/x"])[0].scores["spam"]  # doctest: +SKIP
    0.99
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import joblib
import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import FunctionTransformer

from agora.errors import InvalidInput
from agora.mlops.artifact_state import VersionedState
from agora.moderation.base import DetectorResult
from agora.moderation.embeddings import SentenceFeatures
from agora.moderation.linear import LinearCalibrated
from agora.moderation.stacking import LinearHead, MetaModel, out_of_fold

if TYPE_CHECKING:
    from agora.encoders.factory import Encoders

_URL = re.compile(
    r"(?:https?://|www\.)\S+|\b[\w\-]+\.(?:com|net|org|co|ly|me|io|uk|info|biz)\b(?:/\S*)?", re.I
)
_SHORTENER = re.compile(
    r"\b(?:bit\.ly|tinyurl|goo\.gl|t\.co|ow\.ly|is\.gd|buff\.ly|rb\.gy)\b", re.I
)
_MENTION = re.compile(r"@\w+")
_DIGITS = re.compile(r"\d[\d\s\-]{7,}\d")
_CURRENCY = re.compile(r"[£$€¥฿]|\b(?:usd|gbp|eur|cash|prize|free)\b", re.I)


def clean_text(text: str) -> str:
    """Lowercase; URLs and @mentions become tokens; HTML entities decoded."""
    text = text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    text = _URL.sub(" httpurl ", text)
    return _MENTION.sub(" @user ", text).lower()


def link_features(texts: Sequence[str]) -> sparse.csr_matrix:
    """Dense cues of spam per text, scaled to about [0, 1]."""
    rows = []
    for text in texts:
        n = max(len(text), 1)
        letters = [c for c in text if c.isalpha()]
        upper = sum(c.isupper() for c in letters) / max(len(letters), 1)
        rows.append(
            [
                min(len(_URL.findall(text)), 3) / 3,
                float(bool(_SHORTENER.search(text))),
                min(len(_DIGITS.findall(text)), 2) / 2,
                min(len(_CURRENCY.findall(text)), 3) / 3,
                upper,
                min(sum(c.isdigit() for c in text) / n * 5, 1.0),
                min(text.count("!"), 5) / 5,
                min(math.log1p(len(text)) / 6, 1.0),
            ]
        )
    return sparse.csr_matrix(np.asarray(rows, dtype=np.float64))


def vectorizers(links: bool) -> FeatureUnion:
    """The unfitted TF-IDF word and character views (+ link features for spam)."""
    parts: list[tuple[str, Any]] = [
        (
            "word",
            TfidfVectorizer(
                preprocessor=clean_text,
                ngram_range=(1, 2),
                min_df=2,
                max_features=60_000,
                sublinear_tf=True,
            ),
        ),
        (
            "char",
            TfidfVectorizer(
                preprocessor=clean_text,
                analyzer="char_wb",
                ngram_range=(2, 5),
                min_df=3,
                max_features=120_000,
                sublinear_tf=True,
            ),
        ),
    ]
    if links:
        parts.append(("links", FunctionTransformer(link_features, validate=False)))
    return FeatureUnion(parts)


def _best_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The probability cut that maximises F1 (0.5 when there are no positives)."""
    if y.sum() == 0:
        return 0.5
    grid = np.linspace(0.05, 0.95, 91)
    # F1 at every cut in one pass (91 sklearn f1_score calls took ~0.6 s per label).
    pred = p[None, :] >= grid[:, None]
    pos = y.astype(bool)[None, :]
    tp = (pred & pos).sum(axis=1)
    f1 = 2 * tp / (pred.sum(axis=1) + pos.sum())  # 2TP / (predicted + actual positives)
    return float(grid[int(np.argmax(f1))])


def shift_prior(p: float, train_prior: float, target_prior: float) -> float:
    """Bayes prior shift of a calibrated probability (Saerens et al., 2002).

    A probability calibrated where ``train_prior`` of texts are positive is
    moved to a population where ``target_prior`` are: the likelihood ratio is
    kept, the prior odds are swapped.
    """
    eps = 1e-6
    p = min(max(p, eps), 1 - eps)
    t = min(max(train_prior, eps), 1 - eps)
    q = min(max(target_prior, eps), 1 - eps)
    odds = p / (1 - p) * (q / (1 - q)) / (t / (1 - t))
    return odds / (1 + odds)


FitProgress = Callable[[float, str], None]


class _FitSteps:
    """Maps each step's own progress to the fit's overall fraction.

    Weights are rough shares of a cold fit on davidson (2 cores): encoding the
    corpus ~60 %, each label's SVM folds ~12 %, the logistic folds ~4 %.
    """

    def __init__(self, report: FitProgress, labels: int, embeddings: bool) -> None:
        self.report = report
        parts: list[tuple[Any, float]] = [("tfidf", 0.06)]
        if embeddings:
            parts.append(("embed", 0.6))
        for j in range(labels):
            parts.append((("svm", j), 0.12))
            if embeddings:
                parts.append((("logistic", j), 0.04))
        total = sum(w for _, w in parts)
        self.spans: dict[Any, tuple[float, float]] = {}
        start = 0.0
        for key, w in parts:
            self.spans[key] = (start, start + w / total)
            start += w / total

    def at(self, key: Any, fraction: float, message: str) -> None:
        lo, hi = self.spans[key]
        self.report(lo + (hi - lo) * min(max(fraction, 0.0), 1.0), message)

    def folds(self, j: int, kind: str, label: str, what: str) -> Callable[[int, int], None]:
        def on_fold(done: int, total: int) -> None:
            then = ", then on all rows" if done == total else ""
            self.at((kind, j), done / (total + 1), f"{label}: {what} fold {done}/{total}{then}")

        return on_fold


class TextClassifier(VersionedState):
    """Multi-label linear text classifier with calibrated probabilities.

    Stored (model store pickle) format 2: every attribute of ``__init__``.
    Format 1, pickled before versioning, may predate the embedding view; its
    loader (:func:`_classifier_v1`) fills that view in as absent. (The shipped
    ``.npz`` artefacts have their own versioned reader, ``agora.moderation.artifact``.)
    """

    FORMAT_VERSION = 2
    name: ClassVar[str] = "moderation-text"
    label_names: ClassVar[tuple[str, ...]] = ()
    use_links: ClassVar[bool] = False

    def __init__(
        self,
        C: float = 0.5,  # noqa: N803 (scikit-learn naming)
        calibration_folds: int = 4,
        seed: int = 0,
        embeddings: bool = True,
    ) -> None:
        self.C = C
        self.calibration_folds = calibration_folds
        self.seed = seed
        self.embeddings = embeddings
        # Set by the model store loader: the registry version of this artefact.
        self.version = "unsaved"
        self.features_: FeatureUnion | None = None
        # Versions trained before the stack: flattened calibrated SVM ensembles.
        self.models_: dict[str, LinearCalibrated] = {}
        self.thresholds_: dict[str, float] = {}
        # Per label: the TF-IDF SVM and its calibration (the TF-IDF view) ...
        self.tfidf_: dict[str, LinearHead] = {}
        self.platt_: dict[str, MetaModel] = {}
        self.tfidf_thresholds_: dict[str, float] = {}
        # ... and the embedding view and the stack (absent when ``embeddings`` is False).
        self.sentence_: SentenceFeatures | None = None
        self.heads_: dict[str, LinearHead] = {}
        self.meta_: dict[str, MetaModel] = {}
        self.n_train_: int = 0
        # Share of positives per label in the training data: the prior the
        # calibrated probabilities are relative to (77 % offensive in davidson).
        self.priors_: dict[str, float] = {}

    @property
    def model(self) -> str:
        return f"{self.name}@{self.version}"

    def use_encoders(self, encoders: Encoders) -> None:
        """Embed with the process's ``encoders`` (a loaded model has none bound)."""
        if self.sentence_ is not None:
            self.sentence_.encoders = encoders

    def fit(
        self,
        texts: Sequence[str],
        labels: np.ndarray,
        *,
        embedding_cache: Path | None = None,
        progress: FitProgress | None = None,
    ) -> TextClassifier:
        """``labels``: shape (n, len(label_names)) of 0/1, or -1 where a row's
        corpus does not label that column; ``embedding_cache``: a folder
        where corpus embeddings are kept between runs (see ``SentenceFeatures``);
        ``progress(fraction, message)`` is told inside every long step (the
        embedding batches, each cross-validation fold), fraction in [0, 1]."""
        report = progress or (lambda _f, _m: None)
        y = np.asarray(labels, dtype=int).reshape(len(texts), -1)
        if y.shape[1] != len(self.label_names):
            raise InvalidInput(f"expected {len(self.label_names)} label columns, got {y.shape[1]}")
        if len(texts) < 20:
            raise InvalidInput("need at least 20 labelled texts to train")
        texts = list(texts)
        # Share of the work per step, measured on davidson with a cold embedding
        # cache: encoding is the longest step, then the SVM folds.
        steps = _FitSteps(report, len(self.label_names), self.embeddings)
        steps.at("tfidf", 0.0, f"TF-IDF features of {len(texts)} texts")
        # The vocabulary and IDF see every row (no labels): a mild, usual leak
        # into the out-of-fold scores, which otherwise never see their rows.
        self.features_ = vectorizers(self.use_links)
        x = self.features_.fit_transform(texts).tocsr()
        emb = None
        if self.embeddings:
            self.sentence_ = SentenceFeatures()
            emb = self.sentence_.transform(
                texts,
                cache_dir=embedding_cache,
                progress=lambda done, total: steps.at(
                    "embed", done / max(total, 1), f"sentence embeddings {done}/{total} texts"
                ),
            )
        folds, seed = self.calibration_folds, self.seed

        def svm(xs: Any, ys: np.ndarray) -> LinearHead:
            return LinearHead.fit_svm(xs, ys, C=self.C, seed=seed)

        def logistic(xs: Any, ys: np.ndarray) -> LinearHead:
            return LinearHead.fit_logistic(xs, ys, seed=seed)

        for j, label in enumerate(self.label_names):
            # A label is learnt from the rows that set it (-1: the row's corpus
            # does not label it, e.g. TweetEval hate for ``offensive``).
            rows = np.flatnonzero(y[:, j] >= 0)
            yj, xj = y[rows, j], x[rows]
            z_tfidf = out_of_fold(
                xj, yj, svm, folds, seed, on_fold=steps.folds(j, "svm", label, "TF-IDF SVM")
            )
            self.tfidf_[label] = svm(xj, yj)
            self.platt_[label], oof = MetaModel.fit(z_tfidf[:, None], yj, seed)
            self.tfidf_thresholds_[label] = _best_threshold(yj, oof)
            self.thresholds_[label] = self.tfidf_thresholds_[label]
            if emb is not None:
                z_emb = out_of_fold(
                    emb[rows],
                    yj,
                    logistic,
                    folds,
                    seed,
                    on_fold=steps.folds(j, "logistic", label, "embedding logistic"),
                )
                self.heads_[label] = logistic(emb[rows], yj)
                self.meta_[label], oof = MetaModel.fit(np.c_[z_tfidf, z_emb], yj, seed)
                self.thresholds_[label] = _best_threshold(yj, oof)
        self.n_train_ = len(texts)
        self.priors_ = {
            lb: float(y[y[:, j] >= 0, j].mean()) for j, lb in enumerate(self.label_names)
        }
        report(1.0, f"{self.name} fitted on {len(texts)} texts")
        return self

    @property
    def feature_names(self) -> list[str]:
        """The inputs this classifier is built on (recorded with each version)."""
        out = ["tfidf-word-1-2", "tfidf-char_wb-2-5"] + (["links"] if self.use_links else [])
        if self.sentence_ is not None:
            out.append(f"sentence-embedding:{self.sentence_.key or self.sentence_.profile}")
        return out

    def predict_proba(
        self,
        texts: Sequence[str],
        *,
        view: str = "stacked",
        embedding_cache: Path | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, np.ndarray]:
        """Calibrated probability per label, one array per label.

        ``view="tfidf"`` gives the TF-IDF model alone (what an ``embeddings=False``
        model serves); the default is the stack when the model has one.
        ``progress(done, total)`` follows the encoding of a corpus.
        """
        if self.features_ is None:
            raise InvalidInput(f"{self.name} is not trained")
        if view not in ("stacked", "tfidf"):
            raise InvalidInput("view must be 'stacked' or 'tfidf'")
        x = self.features_.transform(list(texts))
        if self.models_ and not self.tfidf_:  # a version saved before the stack
            return {label: m.predict_proba(x) for label, m in self.models_.items()}
        z = {label: head.decision(x) for label, head in self.tfidf_.items()}
        if view == "tfidf" or self.sentence_ is None:
            return {label: self.platt_[label].predict_proba(z[label][:, None]) for label in z}
        emb = self.sentence_.transform(list(texts), cache_dir=embedding_cache, progress=progress)
        stacked = {label: np.c_[z[label], self.heads_[label].decision(emb)] for label in z}
        return {label: self.meta_[label].predict_proba(v) for label, v in stacked.items()}

    def cuts(self, view: str = "stacked") -> dict[str, float]:
        """Decision thresholds of a view (see ``predict_proba``)."""
        return self.tfidf_thresholds_ if view == "tfidf" else self.thresholds_

    def predict(self, texts: Sequence[str], *, view: str = "stacked") -> list[DetectorResult]:
        """One result per text: scores per label and the labels over their thresholds.

        With ``view="tfidf"`` on a stacked model the result's model says so
        (``name@version:tfidf``): its scores are the TF-IDF view's.
        """
        probs = self.predict_proba(texts, view=view)
        cuts = self.cuts(view)
        model = self.model if view == "stacked" or self.sentence_ is None else f"{self.model}:tfidf"
        out = []
        for i in range(len(texts)):
            scores = {label: float(p[i]) for label, p in probs.items()}
            hits = [lb for lb, s in scores.items() if s >= cuts[lb]]
            out.append(DetectorResult(model, scores, hits))
        return out

    def save(self, path: str | Path) -> None:
        """Write the fitted model to one file."""
        joblib.dump(self, path)

    @classmethod
    def load(cls, path: str | Path) -> TextClassifier:
        """Read a model written by :meth:`save`."""
        obj = joblib.load(path)
        if not isinstance(obj, cls):
            raise InvalidInput(f"{path} does not hold a {cls.__name__}")
        return obj


def _classifier_v1(state: dict[str, Any]) -> dict[str, Any]:
    """Format 1: classifiers pickled before versioning. The oldest predate the
    embedding view: TF-IDF only (flattened ``models_``), the same cuts."""
    state.setdefault("embeddings", False)
    state.setdefault("sentence_", None)
    state.setdefault("heads_", {})
    state.setdefault("meta_", {})
    state.setdefault("tfidf_", {})
    state.setdefault("platt_", {})
    state.setdefault("tfidf_thresholds_", dict(state.get("thresholds_", {})))
    return state


TextClassifier.STATE_LOADERS = {1: _classifier_v1, 2: dict}


class ToxicityClassifier(TextClassifier):
    """Offensive language (davidson classes hate or offensive) and hate speech."""

    name = "moderation-toxicity"
    label_names = ("offensive", "hate")


class SpamClassifier(TextClassifier):
    """Spam (SMS spam collection), with link features."""

    name = "moderation-spam"
    label_names = ("spam",)
    use_links = True
