"""Moderation quality on held-out splits of davidson and SMS spam.

Trains the toxicity (offensive, hate) and spam classifiers on the seeded 80 %
training splits (exactly as ``agora moderation train`` does) and reports, on
the 20 % held-out splits, precision, recall, F1 and ROC-AUC per label for:

* each trained detector (``offensive``, ``hate``, ``spam``) as served: TF-IDF
  and MiniLM sentence-embedding views stacked by a calibrated meta model;
* the same detectors' TF-IDF view alone (``tfidf.*``, from the same fit: the
  base model the stack is built on), i.e. without sentence embeddings;
* alt-profanity-check alone as the anchor (``profanity_check.*``; note its
  training data includes davidson, so its figures on davidson are optimistic);
* the ensemble used for listings (``ensemble.*``): noisy-OR of the trained
  offensive probability and the weighted profanity signal, as in the text
  analyser.

Goals: offensive-or-hate ROC-AUC >= 0.95, spam F1 >= 0.95.

Those are in-source figures (trained and tested on one corpus's splits). The
second protocol, leave-one-corpus-out (``loco.*``, from
``generalisation_moderation.run``: davidson <-> TweetEval offensive / hate,
SMS <-> SpamAssassin e-mail), reports each direction and the mean for the
served view, beside the in-source figures of the same run, and the shipped
classifiers' figures on both test splits (``loco.<task>.shipped.*``). Goals:
offensive LOCO ROC-AUC >= 0.85, hate >= 0.75, spam LOCO F1 >= 0.80.

Run: ``.venv/bin/python benchmarks/moderation_quality.py [--quick]``
(``--quick`` trains on 4,000 / 2,000 rows, the LOCO protocol on 2,000
training and 1,000 test rows per corpus, and writes
``moderation_quality_quick.json``). Corpus embeddings are kept in
``--embedding-cache`` (default: a folder in the system temp dir) so a re-run
encodes nothing; ``*.embed_s`` is the encoding time of this run.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

import generalisation_moderation  # benchmarks/ is this script's folder (sys.path[0])
from agora.moderation.datasets import load_davidson, load_sms_spam
from agora.moderation.embeddings import SentenceFeatures
from agora.moderation.profanity import ProfanitySignal
from agora.moderation.text_models import SpamClassifier, ToxicityClassifier

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OUT = Path(__file__).resolve().parent / "results" / "moderation_quality.json"
OUT_QUICK = OUT.with_name("moderation_quality_quick.json")


def scores(prefix: str, y: np.ndarray, p: np.ndarray, cut: float) -> dict[str, float]:
    hit = p >= cut
    return {
        f"{prefix}.precision": float(precision_score(y, hit, zero_division=0)),
        f"{prefix}.recall": float(recall_score(y, hit, zero_division=0)),
        f"{prefix}.f1": float(f1_score(y, hit, zero_division=0)),
        f"{prefix}.roc_auc": float(roc_auc_score(y, p)),
    }


def embed_seconds(texts: list[str], cache: Path) -> float:
    """Encode (or read from the cache) every text once; the time it took."""
    t0 = time.perf_counter()
    SentenceFeatures().transform(texts, cache_dir=cache)
    return time.perf_counter() - t0


def loco_figures(sections: dict[str, Any]) -> dict[str, float]:
    """Flat ``loco.<task>.*`` figures of the served view: each direction, the means,
    the in-source figures of the same run and the shipped classifiers' figures."""
    out: dict[str, float] = {}
    for task, rep in sections.items():
        pre = f"loco.{task}"
        for key in ("loco_roc_auc", "loco_f1", "in_source_roc_auc", "in_source_f1"):
            out[f"{pre}.{key}"] = rep[key]
        for part in ("loco", "in_source"):
            for name, fig in rep[part].items():
                for metric in ("roc_auc", "f1"):
                    out[f"{pre}.{part}.{name}.{metric}"] = fig[metric]
        for name, fig in rep["shipped"].items():
            if isinstance(fig, dict) and "roc_auc" in fig:  # a corpus (not the gate's figures)
                for metric in ("roc_auc", "f1"):
                    out[f"{pre}.shipped.{name}.{metric}"] = fig[metric]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--embedding-cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "agora-moderation-embeddings",
    )
    parser.add_argument(
        "--loco-from",
        type=Path,
        default=None,
        help="take the LOCO sections from this generalisation.json (written by "
        "generalisation_moderation.py with the same --quick) instead of running them again",
    )
    args = parser.parse_args()
    cache = args.embedding_cache
    results: dict[str, float] = {}
    profanity = ProfanitySignal()

    tox_train, tox_test = load_davidson(DATA).split()
    spam_train, spam_test = load_sms_spam(DATA).split()
    if args.quick:
        tox_train, spam_train = tox_train.sample(4000), spam_train.sample(2000)
    results["toxicity.embed_s"] = embed_seconds(tox_train.texts + tox_test.texts, cache)
    results["spam.embed_s"] = embed_seconds(spam_train.texts + spam_test.texts, cache)

    t0 = time.perf_counter()
    tox = ToxicityClassifier().fit(tox_train.texts, tox_train.labels, embedding_cache=cache)
    results["toxicity.train_s"] = time.perf_counter() - t0
    probs = tox.predict_proba(tox_test.texts, embedding_cache=cache)
    tfidf = tox.predict_proba(tox_test.texts, view="tfidf")
    pc = profanity.predict(tox_test.texts)
    for j, label in enumerate(("offensive", "hate")):
        y = tox_test.labels[:, j]
        results |= scores(label, y, probs[label], tox.thresholds_[label])
        results |= scores(f"tfidf.{label}", y, tfidf[label], tox.tfidf_thresholds_[label])
        results |= scores(f"profanity_check.{label}", y, pc, 0.5)
    # Ensemble: noisy-OR of the offensive classifier and the weighted profanity signal.
    ens = 1 - (1 - probs["offensive"]) * (1 - 0.6 * pc)
    results |= scores(
        "ensemble.offensive", tox_test.labels[:, 0], ens, tox.thresholds_["offensive"]
    )

    t0 = time.perf_counter()
    spam = SpamClassifier().fit(spam_train.texts, spam_train.labels, embedding_cache=cache)
    results["spam.train_s"] = time.perf_counter() - t0
    y = spam_test.labels[:, 0]
    sp = spam.predict_proba(spam_test.texts, embedding_cache=cache)["spam"]
    results |= scores("spam", y, sp, spam.thresholds_["spam"])
    sp_tfidf = spam.predict_proba(spam_test.texts, view="tfidf")["spam"]
    results |= scores("tfidf.spam", y, sp_tfidf, spam.tfidf_thresholds_["spam"])
    results |= scores("profanity_check.spam", y, profanity.predict(spam_test.texts), 0.5)
    results["davidson.test_rows"] = float(len(tox_test))
    results["sms_spam.test_rows"] = float(len(spam_test))
    results["quick"] = float(args.quick)
    if args.loco_from is not None:
        written = json.loads(args.loco_from.read_text())
        sections = {t: written[t] for t in ("offensive", "hate", "spam")}
        if any(bool(sec["sample"]["quick"]) != args.quick for sec in sections.values()):
            raise SystemExit(f"{args.loco_from} was not written with --quick={args.quick}")
    else:
        sections = generalisation_moderation.run(args.quick, cache)
    results |= loco_figures(sections)

    print(f"{'figure':40s} value")
    for key, value in results.items():
        print(f"{key:40s} {value:.4f}")
    print(
        f"goals: offensive ROC-AUC {results['offensive.roc_auc']:.3f} (>= 0.95), "
        f"spam F1 {results['spam.f1']:.3f} (>= 0.95); without embeddings: "
        f"{results['tfidf.offensive.roc_auc']:.3f}, {results['tfidf.spam.f1']:.3f}"
    )
    out = OUT_QUICK if args.quick else OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({k: round(v, 4) for k, v in results.items()}, indent=2) + "\n")


if __name__ == "__main__":
    main()
