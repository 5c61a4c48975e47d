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
from typing import TYPE_CHECKING, Any, ClassVar, cast

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
from agora.moderation.gate import VIEWS, held_out_figures
from agora.moderation.generalisation import choose_view
from agora.moderation.linear import LinearCalibrated
from agora.moderation.profanity import ProfanitySignal
from agora.moderation.stacking import LinearHead, MetaModel, best_threshold, logit, out_of_fold

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


_best_threshold = best_threshold  # the name the benchmarks and tests import


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
    corpus ~60 %, each label's SVM folds ~12 %, the logistic folds ~4 %, the
    gate (every view refitted per held-out source) about as much as the folds.
    """

    def __init__(
        self, report: FitProgress, labels: int, embeddings: bool, gate: bool = False
    ) -> None:
        self.report = report
        parts: list[tuple[Any, float]] = [("tfidf", 0.06)]
        if embeddings:
            parts.append(("embed", 0.6))
        for j in range(labels):
            parts.append((("svm", j), 0.12))
            if embeddings:
                parts.append((("logistic", j), 0.04))
            if gate:
                parts.append((("gate", j), 0.16))
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

    Per label it has up to four *views* (``agora.moderation.gate.VIEWS``):
    alt-profanity-check alone (toxicity only), the TF-IDF SVM, the sentence
    embedding logistic and the stack over them, each calibrated with its own
    threshold. ``served_`` names the view each label serves: trained on rows
    of several corpora (``fit(groups=...)``), the gate picks the view that
    holds up best on corpora it was not fitted on, so a stack is never served
    where one of its inputs travels better.

    Stored (model store pickle) format 3: every attribute of ``__init__``.
    Format 2 predates the gate (the stack or TF-IDF served; its loader fills
    that in); format 1, pickled before versioning, may predate the embedding
    view (:func:`_classifier_v1`). (The shipped ``.npz`` artefacts have their
    own versioned reader, ``agora.moderation.artifact``.)
    """

    FORMAT_VERSION = 3
    name: ClassVar[str] = "moderation-text"
    label_names: ClassVar[tuple[str, ...]] = ()
    use_links: ClassVar[bool] = False
    #: Labels alt-profanity-check is an input of (a view and a stack input):
    #: it measures profanity, a kind of offence, never hate or spam.
    profanity_labels: ClassVar[tuple[str, ...]] = ()
    #: The gate's held-out figure: ROC-AUC, or F1 at the training source's cut.
    gate_metric: ClassVar[str] = "roc_auc"

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
        # The stack's cuts (the TF-IDF view's where there is no stack).
        self.thresholds_: dict[str, float] = {}
        # Per label: the TF-IDF SVM and its calibration (the TF-IDF view) ...
        self.tfidf_: dict[str, LinearHead] = {}
        self.platt_: dict[str, MetaModel] = {}
        self.tfidf_thresholds_: dict[str, float] = {}
        # ... and the embedding view and the stack (absent when ``embeddings`` is False).
        self.sentence_: SentenceFeatures | None = None
        self.heads_: dict[str, LinearHead] = {}
        self.meta_: dict[str, MetaModel] = {}
        # The single-input views besides TF-IDF ("embedding", "profanity"):
        # view -> label -> calibration, and their cuts.
        self.view_platt_: dict[str, dict[str, MetaModel]] = {}
        self.view_thresholds_: dict[str, dict[str, float]] = {}
        # label -> the stack's inputs, in the meta model's column order.
        self.stack_inputs_: dict[str, list[str]] = {}
        # label -> the view served, and the gate's held-out figure per view.
        self.served_: dict[str, str] = {}
        self.gate_: dict[str, dict[str, float]] = {}
        self.n_train_: int = 0
        # Share of positives per label in the training data: the prior the
        # calibrated probabilities are relative to (77 % offensive in davidson).
        self.priors_: dict[str, float] = {}

    def _stored_state(self) -> dict[str, Any]:
        # The alt-profanity-check model belongs to the package, not the artefact.
        return {k: v for k, v in self.__dict__.items() if k != "_profanity_signal"}

    def _profanity(self) -> ProfanitySignal:
        signal = self.__dict__.get("_profanity_signal")
        if signal is None:
            signal = self.__dict__["_profanity_signal"] = ProfanitySignal()
        return cast("ProfanitySignal", signal)

    @property
    def model(self) -> str:
        return f"{self.name}@{self.version}"

    def use_encoders(self, encoders: Encoders) -> None:
        """Embed with the process's ``encoders`` (a loaded model has none bound)."""
        if self.sentence_ is not None:
            self.sentence_.encoders = encoders

    def use_profanity(self, signal: ProfanitySignal) -> None:
        """Read alt-profanity-check through ``signal`` (the analyser's), so a text
        is scored once per request, not once by each of its readers."""
        self.__dict__["_profanity_signal"] = signal

    def fit(
        self,
        texts: Sequence[str],
        labels: np.ndarray,
        *,
        groups: Sequence[str] | np.ndarray | None = None,
        embedding_cache: Path | None = None,
        progress: FitProgress | None = None,
    ) -> TextClassifier:
        """``labels``: shape (n, len(label_names)) of 0/1, or -1 where a row's
        corpus does not label that column; ``groups``: each row's source
        corpus (the gate holds sources out; ``None``: one source, the stack is
        served); ``embedding_cache``: a folder where corpus embeddings are kept
        between runs (see ``SentenceFeatures``); ``progress(fraction, message)``
        is told inside every long step (the embedding batches, each
        cross-validation fold), fraction in [0, 1]."""
        report = progress or (lambda _f, _m: None)
        y = np.asarray(labels, dtype=int).reshape(len(texts), -1)
        if y.shape[1] != len(self.label_names):
            raise InvalidInput(f"expected {len(self.label_names)} label columns, got {y.shape[1]}")
        if len(texts) < 20:
            raise InvalidInput("need at least 20 labelled texts to train")
        if groups is not None and len(groups) != len(texts):
            raise InvalidInput(f"{len(groups)} groups for {len(texts)} texts")
        texts = list(texts)
        sources = None if groups is None else np.asarray(groups, dtype=object)
        # Share of the work per step, measured on davidson with a cold embedding
        # cache: encoding is the longest step, then the SVM folds.
        steps = _FitSteps(report, len(self.label_names), self.embeddings, sources is not None)
        steps.at("tfidf", 0.0, f"TF-IDF features of {len(texts)} texts")
        # The vocabulary and IDF see every row (no labels): a mild, usual leak
        # into the out-of-fold scores, which otherwise never see their rows.
        self.features_ = vectorizers(self.use_links)
        x = self.features_.fit_transform(texts).tocsr()
        inputs: dict[str, Any] = {"tfidf": x}
        if self.profanity_labels:
            inputs["profanity"] = logit(self._profanity().predict(texts))
        if self.embeddings:
            self.sentence_ = SentenceFeatures()
            inputs["embedding"] = self.sentence_.transform(
                texts,
                cache_dir=embedding_cache,
                progress=lambda done, total: steps.at(
                    "embed", done / max(total, 1), f"sentence embeddings {done}/{total} texts"
                ),
            )
        for j, label in enumerate(self.label_names):
            # A label is learnt from the rows that set it (-1: the row's corpus
            # does not label it, e.g. TweetEval hate for ``offensive``).
            rows = np.flatnonzero(y[:, j] >= 0)
            mine = {
                k: v[rows]
                for k, v in inputs.items()
                if k != "profanity" or label in self.profanity_labels
            }
            self._fit_label(label, j, mine, y[rows, j], steps)
            self.served_[label] = "stacked" if "embedding" in inputs else "tfidf"
            if sources is not None:
                steps.at(("gate", j), 0.0, f"{label}: views on held-out corpora")
                figures = held_out_figures(
                    mine,
                    y[rows, j],
                    sources[rows],
                    self._fitters(),
                    metric=self.gate_metric,
                    folds=self.calibration_folds,
                    seed=self.seed,
                )
                if figures:
                    self.gate_[label] = figures
                    self.served_[label] = choose_view(figures, [v for v in VIEWS if v in figures])
        self.n_train_ = len(texts)
        self.priors_ = {
            lb: float(y[y[:, j] >= 0, j].mean()) for j, lb in enumerate(self.label_names)
        }
        report(1.0, f"{self.name} fitted on {len(texts)} texts")
        return self

    def _fitters(self) -> dict[str, Callable[[Any, np.ndarray], LinearHead]]:
        def svm(xs: Any, ys: np.ndarray) -> LinearHead:
            return LinearHead.fit_svm(xs, ys, C=self.C, seed=self.seed)

        def logistic(xs: Any, ys: np.ndarray) -> LinearHead:
            return LinearHead.fit_logistic(xs, ys, seed=self.seed)

        return {"tfidf": svm, "embedding": logistic}

    def _fit_label(
        self, label: str, j: int, inputs: dict[str, Any], y: np.ndarray, steps: _FitSteps
    ) -> None:
        """Every view of one label on its rows: heads, calibrations, cuts, the stack."""
        fitters, folds, seed = self._fitters(), self.calibration_folds, self.seed
        what = {"tfidf": ("svm", "TF-IDF SVM"), "embedding": ("logistic", "embedding logistic")}
        z: dict[str, np.ndarray] = {}
        for name, x in inputs.items():
            if name in fitters:
                kind, text = what[name]
                on_fold = steps.folds(j, kind, label, text)
                z[name] = out_of_fold(x, y, fitters[name], folds, seed, on_fold=on_fold)
                head = fitters[name](x, y)
                (self.tfidf_ if name == "tfidf" else self.heads_)[label] = head
            else:  # a score used as is (alt-profanity-check's log-odds)
                z[name] = np.asarray(x)
            meta, oof = MetaModel.fit(z[name][:, None], y, seed)
            if name == "tfidf":
                self.platt_[label], self.tfidf_thresholds_[label] = meta, best_threshold(y, oof)
            else:
                self.view_platt_.setdefault(name, {})[label] = meta
                self.view_thresholds_.setdefault(name, {})[label] = best_threshold(y, oof)
        self.thresholds_[label] = self.tfidf_thresholds_[label]
        if "embedding" in z:
            cols: list[str] = [c for c in ("tfidf", "embedding", "profanity") if c in z]
            self.stack_inputs_[label] = cols
            self.meta_[label], oof = MetaModel.fit(np.column_stack([z[c] for c in cols]), y, seed)
            self.thresholds_[label] = best_threshold(y, oof)

    @property
    def feature_names(self) -> list[str]:
        """The inputs this classifier is built on (recorded with each version)."""
        out = ["tfidf-word-1-2", "tfidf-char_wb-2-5"] + (["links"] if self.use_links else [])
        if self.sentence_ is not None:
            out.append(f"sentence-embedding:{self.sentence_.key or self.sentence_.profile}")
        if "profanity" in self.view_platt_:
            out.append("alt-profanity-check")
        return out

    def served_view(self, label: str, view: str = "served") -> str:
        """The view ``view`` resolves to for ``label`` (``served``: the gate's choice)."""
        if view == "served":
            view = self.served_.get(label, "stacked")
        if view == "stacked" and self.sentence_ is None:
            return "tfidf"  # a TF-IDF-only model: its one view
        return view

    def reads_profanity(self, view: str = "served") -> bool:
        """Whether alt-profanity-check is part of what ``view`` serves for any label."""
        for label in self.tfidf_:
            v = self.served_view(label, view)
            inputs = self.stack_inputs_.get(label, []) if v == "stacked" else [v]
            if "profanity" in inputs:
                return True
        return False

    def predict_proba(
        self,
        texts: Sequence[str],
        *,
        view: str = "served",
        embedding_cache: Path | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, np.ndarray]:
        """Calibrated probability per label, one array per label.

        ``view``: ``served`` (each label's gated view, the default), or one of
        ``stacked``, ``tfidf`` (what an ``embeddings=False`` model serves, and
        the encoder-free fallback), ``embedding``, ``profanity`` (labels without
        that view are left out). The encoder runs only when a label's view
        needs it. ``progress(done, total)`` follows the encoding of a corpus.
        """
        if self.features_ is None:
            raise InvalidInput(f"{self.name} is not trained")
        if view != "served" and view not in VIEWS:
            raise InvalidInput(f"view must be 'served' or one of {VIEWS}")
        texts = list(texts)
        x = self.features_.transform(texts)
        if self.models_ and not self.tfidf_:  # a version saved before the stack
            return {label: m.predict_proba(x) for label, m in self.models_.items()}
        want = {label: self.served_view(label, view) for label in self.tfidf_}
        # A single view a label lacks (profanity of hate): that label is left out.
        want = {lb: v for lb, v in want.items() if self._has_view(lb, v)}
        if not want:
            raise InvalidInput(f"{self.name} has no {view} view")
        needed = set(want.values())
        for label, v in want.items():
            if v == "stacked":
                needed.update(self.stack_inputs_.get(label, ["tfidf", "embedding"]))
        z = {"tfidf": {label: head.decision(x) for label, head in self.tfidf_.items()}}
        if "embedding" in needed:
            if self.sentence_ is None:
                raise InvalidInput(f"{self.name} has no embedding view")
            emb = self.sentence_.transform(texts, cache_dir=embedding_cache, progress=progress)
            z["embedding"] = {label: h.decision(emb) for label, h in self.heads_.items()}
        if "profanity" in needed:
            score = logit(self._profanity().predict(texts))
            z["profanity"] = dict.fromkeys(self.tfidf_, score)
        return {label: self._calibrated(label, v, z) for label, v in want.items()}

    def _has_view(self, label: str, view: str) -> bool:
        return view in ("stacked", "tfidf") or label in self.view_platt_.get(view, {})

    def _calibrated(self, label: str, view: str, z: dict[str, dict[str, np.ndarray]]) -> np.ndarray:
        """One label's probability from its inputs' scores ``z`` (input -> label -> score)."""
        if view == "stacked":
            cols = self.stack_inputs_.get(label, ["tfidf", "embedding"])
            return self.meta_[label].predict_proba(np.column_stack([z[c][label] for c in cols]))
        if view == "tfidf":
            return self.platt_[label].predict_proba(z["tfidf"][label][:, None])
        if label in self.view_platt_.get(view, {}):
            return self.view_platt_[view][label].predict_proba(z[view][label][:, None])
        raise InvalidInput(f"{self.name} has no {view} view of {label!r}")

    def cuts(self, view: str = "served") -> dict[str, float]:
        """Decision thresholds of a view per label (see ``predict_proba``)."""
        out = {}
        for label in self.tfidf_thresholds_:
            v = self.served_view(label, view)
            if not self._has_view(label, v):
                continue
            if v == "stacked":
                out[label] = self.thresholds_[label]
            elif v == "tfidf":
                out[label] = self.tfidf_thresholds_[label]
            else:
                out[label] = self.view_thresholds_[v][label]
        return out or dict(self.thresholds_)

    def predict(self, texts: Sequence[str], *, view: str = "served") -> list[DetectorResult]:
        """One result per text: scores per label and the labels over their thresholds.

        The result's model names the views that answered where a label's is
        not the stack (``name@version:tfidf``, ``name@version:offensive=profanity``).
        """
        probs = self.predict_proba(texts, view=view)
        cuts = self.cuts(view)
        model = self.model + self._view_suffix(view)
        out = []
        for i in range(len(texts)):
            scores = {label: float(p[i]) for label, p in probs.items()}
            hits = [lb for lb, s in scores.items() if s >= cuts[lb]]
            out.append(DetectorResult(model, scores, hits))
        return out

    def _view_suffix(self, view: str) -> str:
        if self.sentence_ is None or not self.tfidf_:
            return ""
        views = {label: self.served_view(label, view) for label in self.tfidf_}
        if set(views.values()) == {"stacked"}:
            return ""
        if len(set(views.values())) == 1:
            return ":" + next(iter(views.values()))
        return ":" + ",".join(f"{lb}={v}" for lb, v in views.items())

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


def _classifier_v2(state: dict[str, Any]) -> dict[str, Any]:
    """Format 2: before the gate; the stack (or TF-IDF alone) served every label."""
    state.setdefault("view_platt_", {})
    state.setdefault("view_thresholds_", {})
    state.setdefault("stack_inputs_", {})
    state.setdefault("served_", {})
    state.setdefault("gate_", {})
    return state


TextClassifier.STATE_LOADERS = {
    1: lambda state: _classifier_v2(_classifier_v1(state)),
    2: _classifier_v2,
    3: dict,
}


class ToxicityClassifier(TextClassifier):
    """Offensive language (davidson classes hate or offensive) and hate speech."""

    name = "moderation-toxicity"
    label_names = ("offensive", "hate")
    profanity_labels = ("offensive",)


class SpamClassifier(TextClassifier):
    """Spam (SMS spam collection), with link features."""

    name = "moderation-spam"
    label_names = ("spam",)
    use_links = True
    # Spam is decided at the deployed threshold: F1 there is what must travel.
    gate_metric = "f1"
