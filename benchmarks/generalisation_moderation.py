"""Moderation text classifiers on corpora they were not trained on (issue 20, item 1).

The ``offensive``, ``hate`` and ``spam`` sections of ``generalisation.json``,
by the leave-one-corpus-out protocol of ``agora.moderation.generalisation``:

* offensive: davidson (classes 0, 1) <-> TweetEval offensive (label 1);
* hate: davidson (class 0) <-> TweetEval hate (label 1);
* spam: SMS spam collection <-> SpamAssassin e-mail (text, markup dropped).

Per task, each direction (``train->test``) and the in-source figure of each
corpus, for every view of the classifier recipe that ``agora moderation
train`` uses (same vectorisers, SVM, embedding logistic, out-of-fold stack,
thresholds chosen on out-of-fold training probabilities):

* ``tfidf``: TF-IDF word and character n-grams, linear SVM, Platt-calibrated;
* ``embedding``: MiniLM sentence embedding, logistic regression, calibrated;
* ``stacked``: the meta model over both (what is served today);
* ``profanity``: alt-profanity-check alone at 0.5 (offensive only, as in
  the served classifier: it measures profanity, not hate; not trained here;
  its own training data includes davidson, so its davidson figures are
  optimistic);
* ``stacked+profanity``: the meta model over the three (offensive).

The served view is chosen by mean LOCO ROC-AUC (offensive, hate) or F1 at
the deployed threshold (spam) on the other corpus's *training* rows; the
test splits are run once. ``shipped`` scores the classifiers shipped in the
package (trained on every corpus of the task together, each label's view
chosen by the training gate, ``agora.moderation.gate``) on both test splits;
those test rows were held out of its training, so these are in-source
figures of the served model, beside the LOCO ones.

``run(quick)`` returns the sections; standalone it merges them into
``benchmarks/results/generalisation.json`` (other sections are kept).
``--quick`` samples 2,000 training and 1,000 test rows per corpus
(stratified, seed 0); the full run uses every row (hours of encoding on 2 cores).

Run: ``.venv/bin/python benchmarks/generalisation_moderation.py [--quick]``
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agora.moderation.datasets import Corpus
from agora.moderation.embeddings import SentenceFeatures
from agora.moderation.generalisation import (
    FittedViews,
    Source,
    figures,
    run_protocol,
    task_sources,
)
from agora.moderation.profanity import ProfanitySignal
from agora.moderation.shipped import load_shipped
from agora.moderation.stacking import LinearHead, MetaModel, logit, out_of_fold
from agora.moderation.text_models import _best_threshold, vectorizers

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OUT = Path(__file__).resolve().parent / "results" / "generalisation.json"
CACHE = Path(tempfile.gettempdir()) / "agora-moderation-embeddings"
QUICK_TRAIN, QUICK_TEST = 2000, 1000
GOALS = {
    "offensive": ("loco_roc_auc", 0.85),
    "hate": ("loco_roc_auc", 0.75),
    "spam": ("loco_f1", 0.80),
}
SHIPPED = {
    "offensive": "moderation-toxicity",
    "hate": "moderation-toxicity",
    "spam": "moderation-spam",
}
FOLDS, SEED = 4, 0


def fit_views(
    corpus: Corpus,
    *,
    links: bool,
    sentence: SentenceFeatures,
    profanity: ProfanitySignal | None,
    cache: Path,
) -> FittedViews:
    """Every view of the training recipe, fitted on ``corpus`` (one label column)."""
    texts, y = corpus.texts, corpus.labels[:, 0]
    features = vectorizers(links)
    x = features.fit_transform(texts).tocsr()
    emb = sentence.transform(texts, cache_dir=cache)

    def svm(xs: Any, ys: np.ndarray) -> LinearHead:
        return LinearHead.fit_svm(xs, ys, C=0.5, seed=SEED)

    def logistic(xs: Any, ys: np.ndarray) -> LinearHead:
        return LinearHead.fit_logistic(xs, ys, seed=SEED)

    z = {
        "tfidf": out_of_fold(x, y, svm, FOLDS, SEED),
        "embedding": out_of_fold(emb, y, logistic, FOLDS, SEED),
    }
    heads = {"tfidf": svm(x, y), "embedding": logistic(emb, y)}
    if profanity is not None:
        z["profanity"] = logit(profanity.predict(texts))
    inputs = {"tfidf": ["tfidf"], "embedding": ["embedding"], "stacked": ["tfidf", "embedding"]}
    if profanity is not None:
        inputs["stacked+profanity"] = ["tfidf", "embedding", "profanity"]
    metas: dict[str, MetaModel] = {}
    cuts: dict[str, float] = {}
    for view, cols in inputs.items():
        metas[view], oof = MetaModel.fit(np.column_stack([z[c] for c in cols]), y, SEED)
        cuts[view] = _best_threshold(y, oof)
    if profanity is not None:
        cuts["profanity"] = 0.5

    def predict(batch: Sequence[str]) -> dict[str, np.ndarray]:
        batch = list(batch)
        zs = {
            "tfidf": heads["tfidf"].decision(features.transform(batch)),
            "embedding": heads["embedding"].decision(sentence.transform(batch, cache_dir=cache)),
        }
        out: dict[str, np.ndarray] = {}
        if profanity is not None:
            pc = profanity.predict(batch)
            zs["profanity"], out["profanity"] = logit(pc), pc
        for view, cols in inputs.items():
            out[view] = metas[view].predict_proba(np.column_stack([zs[c] for c in cols]))
        return out

    return FittedViews(predict, cuts)


def shipped_figures(task: str, sources: Sequence[Source], cache: Path) -> dict[str, Any]:
    """The shipped classifier of ``task`` (as served) on each corpus's test split."""
    clf, entry = load_shipped(SHIPPED[task])
    out: dict[str, Any] = {
        "trained_on": entry.get("data", "")[:200],
        "served_view": clf.served_view(task),
        "gate": clf.gate_.get(task, {}),
    }
    for s in sources:
        p = clf.predict_proba(s.test.texts, embedding_cache=cache)[task]
        out[s.name] = figures(s.test.labels[:, 0], p, clf.cuts()[task])
    return out


def run(quick: bool, cache: Path = CACHE) -> dict[str, Any]:
    """The ``offensive``, ``hate`` and ``spam`` sections of ``generalisation.json``."""
    sentence = SentenceFeatures()
    profanity = ProfanitySignal()
    rows = {"train_rows": QUICK_TRAIN, "test_rows": QUICK_TEST} if quick else {}
    out: dict[str, Any] = {}
    done: dict[str, list[Source]] = {}
    for task in ("offensive", "hate", "spam"):
        t0 = time.perf_counter()
        sources = task_sources(DATA, task, **rows)
        metric = GOALS[task][0].removeprefix("loco_")

        def fit(corpus: Corpus, task: str = task) -> FittedViews:
            return fit_views(
                corpus,
                links=task == "spam",
                sentence=sentence,
                profanity=profanity if task == "offensive" else None,
                cache=cache,
            )

        report = run_protocol(sources, fit, metric=metric)
        key, goal = GOALS[task]
        report["goal"] = {key: goal, "met": bool(report[key] >= goal)}
        report["sample"] = {
            s.name: {"train_rows": len(s.train), "test_rows": len(s.test)} for s in sources
        } | {"quick": quick, "seed": 0}
        report["seconds"] = time.perf_counter() - t0
        out[task] = report
        done[task] = sources
    # The shipped classifiers last: every protocol first, so a run started while
    # the artefacts are re-exported scores the new ones.
    for task, sources in done.items():
        out[task]["shipped"] = shipped_figures(task, sources, cache)
    return out


def merge_into(path: Path, sections: dict[str, Any]) -> None:
    """Read-modify-write ``path``: replace these sections, keep every other one."""
    current: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    current.update(sections)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(_rounded(current), indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--embedding-cache", type=Path, default=CACHE)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    sections = run(args.quick, args.embedding_cache)
    for task, rep in sections.items():
        print(
            f"{task}: served {rep['served_view']}, LOCO ROC-AUC {rep['loco_roc_auc']:.3f}, "
            f"LOCO F1 {rep['loco_f1']:.3f}, in-source ROC-AUC {rep['in_source_roc_auc']:.3f}, "
            f"in-source F1 {rep['in_source_f1']:.3f}; goal {rep['goal']}"
        )
        for view, fig in rep["views"].items():
            dirs = ", ".join(
                f"{d} auc {f['roc_auc']:.3f} f1 {f['f1']:.3f}" for d, f in fig["loco"].items()
            )
            print(f"  {view:18s} {dirs}")
    merge_into(args.out, sections)


if __name__ == "__main__":
    main()
