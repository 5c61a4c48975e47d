"""Language heads: sentiment, emotion, intent, chat intent, and analyze-text latency.

The heads (``agora.language``) are trained through the gated pipeline
(``train.language``) into a fresh platform's model store, choosing their
settings on the training and development splits; each test split is read
once, here. Figures (``benchmarks/results/language.json``):

* ``sentiment.macro_f1``: macro-F1 on the XLM-T test split of each of the 8
  languages, averaged (``sentiment.<lang>.macro_f1`` each);
  ``sentiment.lolo_macro_f1``: leave-one-language-out, a head fitted on the
  7 other languages' training splits (the served head's C) and tested on the
  held-out language; ``sentiment.vader_en.macro_f1``: VADER (compound >= 0.05
  positive, <= -0.05 negative, else neutral; Hutto and Gilbert 2014) on the
  same English test split, in the same run.
* other source for sentiment: TweetEval sentiment (SemEval-2017 English, a
  seeded sample of its test file), the head and VADER.
* ``emotion.weighted_f1``: MELD test, 7 classes (published text-only:
  about 0.55 text-CNN, up to about 0.64 fine-tuned RoBERTa with dialogue
  context). Other source: TweetEval emotion test rows of the classes MELD
  shares (anger, joy, sadness), the head's argmax among those three.
* ``intent.accuracy`` (in-scope accuracy, as Larson et al. 2019 report it)
  and ``intent.oos_recall`` on CLINC150 test (4,500 in scope + 1,000 out of
  scope); ``intent.overall_accuracy`` counts both.
* ``chat_intent.accuracy``: the written chat set's seeded test rows;
  other source: ``chat_intent.held_out_language.accuracy``, a head fitted on
  two languages and tested on the third, averaged.
* ``analyze_text.p95_ms``: ``POST /api/v1/analyze-text`` over HTTP with every
  head and moderation, each request a text never seen before (<= 300
  characters), sequential, keep-alive; with the load average beside it.

Embeddings of the corpora are cached under ``benchmarks/.cache/language``
(one file per encoder key), so a rerun encodes nothing.

Run: ``.venv/bin/python benchmarks/language.py [--quick]``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import uvicorn

from agora.config import Settings
from agora.language import datasets as ds
from agora.language.heads import TextHead, score
from agora.language.training import HEADS, chat_splits, embed, sample_rows, train_language
from agora.mlops.training.pipeline import TrainingServices
from agora.runtime import Platform
from agora.testing.net import free_port

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OUT = Path(__file__).resolve().parent / "results" / "language.json"
CACHE = Path(__file__).resolve().parent / ".cache" / "language"


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def corpora(test_sample: int | None) -> dict[str, ds.LabelledTexts]:
    """Every test split the benchmark reads (``test_sample``: at most that many rows
    per XLM-T language and of CLINC's in-scope rows, seeded; None: whole splits)."""
    out = {
        "sent_test": ds.xlmt_all(DATA, "test"),
        "tweeteval_sent": ds.tweeteval_sentiment(DATA, "test"),
        "meld_test": ds.meld_emotion(DATA, "test"),
        "tweeteval_emo": ds.tweeteval_emotion(DATA, "test"),
        "clinc_test": ds.clinc150(DATA, "test"),
    }
    rng = random.Random(13)
    n_other = min(test_sample or 2000, 2000)
    rows = sorted(rng.sample(range(len(out["tweeteval_sent"])), n_other))
    out["tweeteval_sent"] = out["tweeteval_sent"].take(rows)
    if test_sample:
        sent = out["sent_test"]
        keep = []
        for code in ds.XLMT_LANGUAGES.values():
            rows = [i for i, g in enumerate(sent.groups) if g == code]
            keep += sorted(rng.sample(rows, min(len(rows), test_sample)))
        out["sent_test"] = sent.take(keep)
        clinc = out["clinc_test"]
        oos = clinc.classes.index(ds.OOS)
        scope = [i for i, y in enumerate(clinc.labels) if y != oos]
        outside = [i for i, y in enumerate(clinc.labels) if y == oos]
        picked = sorted(rng.sample(scope, min(len(scope), test_sample * 4)))
        out["clinc_test"] = clinc.take(picked + outside)
    return out


def encode_all(train_sample: int | None, test_sample: int | None) -> None:
    """Fill the embedding cache for every split, in chunks (the cache is written
    after each, so an interrupted run keeps what it encoded)."""
    texts: list[str] = list(ds.chat_intents().texts)
    for spec in HEADS.values():
        train, dev = spec.splits(DATA)
        train = sample_rows(train, train_sample)
        dev = sample_rows(dev, train_sample // 4 if train_sample else None)
        texts += train.texts + dev.texts
    for data in corpora(test_sample).values():
        texts += data.texts
    unique = list(dict.fromkeys(texts))
    started = time.perf_counter()
    for start in range(0, len(unique), 2500):
        embed(unique[start : start + 2500], cache_dir=CACHE)
        done = min(start + 2500, len(unique))
        print(f"  encoded {done}/{len(unique)} ({time.perf_counter() - started:.0f} s)", flush=True)


def vader(texts: list[str]) -> list[int]:
    """VADER's class per text (0 negative, 1 neutral, 2 positive)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    sia = SentimentIntensityAnalyzer()
    out = []
    for text in texts:
        c = sia.polarity_scores(text)["compound"]
        out.append(2 if c >= 0.05 else 0 if c <= -0.05 else 1)
    return out


def head_on(head: TextHead, data: ds.LabelledTexts) -> dict[str, float]:
    x, _ = embed(data.texts, cache_dir=CACHE)
    return head.evaluate(data.texts, data.labels, x)


def sentiment_figures(head: TextHead, data: dict[str, ds.LabelledTexts]) -> dict[str, Any]:
    test = data["sent_test"]
    out: dict[str, Any] = {}
    per_lang = []
    for code in ds.XLMT_LANGUAGES.values():
        rows = [i for i, g in enumerate(test.groups) if g == code]
        f1 = head_on(head, test.take(rows))["macro_f1"]
        out[f"sentiment.{code}.macro_f1"] = round(f1, 4)
        per_lang.append(f1)
    out["sentiment.macro_f1"] = round(float(np.mean(per_lang)), 4)
    en = test.take([i for i, g in enumerate(test.groups) if g == "en"])
    out["sentiment.vader_en.macro_f1"] = round(score("macro_f1", en.labels, vader(en.texts)), 4)
    other = data["tweeteval_sent"]
    out["sentiment.tweeteval_en.macro_f1"] = round(head_on(head, other)["macro_f1"], 4)
    out["sentiment.tweeteval_en.vader.macro_f1"] = round(
        score("macro_f1", other.labels, vader(other.texts)), 4
    )
    return out


def sentiment_lolo(
    head: TextHead, data: dict[str, ds.LabelledTexts], train_sample: int | None
) -> dict[str, Any]:
    """Leave one language out: fit on the 7 others (the served head's C), test on it."""
    test = data["sent_test"]
    train_all = sample_rows(ds.xlmt_all(DATA, "train"), train_sample)
    dev_all = sample_rows(ds.xlmt_all(DATA, "val"), train_sample // 4 if train_sample else None)
    out: dict[str, Any] = {}
    figures = []
    for code in ds.XLMT_LANGUAGES.values():
        train = train_all.take([i for i, g in enumerate(train_all.groups) if g != code])
        dev = dev_all.take([i for i, g in enumerate(dev_all.groups) if g != code])
        lolo = TextHead(head.name, head.classes, ngrams=head.ngrams, c_grid=(head.C,),
                        balanced=(head.class_weight == "balanced",))  # fmt: skip
        x, key = embed(train.texts, cache_dir=CACHE)
        dx, _ = embed(dev.texts, cache_dir=CACHE)
        lolo.fit(train.texts, train.labels, x, val=(dev.texts, dev.labels, dx), encoder_key=key)
        rows = [i for i, g in enumerate(test.groups) if g == code]
        f1 = head_on(lolo, test.take(rows))["macro_f1"]
        out[f"sentiment.lolo.{code}.macro_f1"] = round(f1, 4)
        figures.append(f1)
        print(f"  lolo {code}: {f1:.4f}", flush=True)
    out["sentiment.lolo_macro_f1"] = round(float(np.mean(figures)), 4)
    return out


def emotion_figures(head: TextHead, data: dict[str, ds.LabelledTexts]) -> dict[str, Any]:
    meld = head_on(head, data["meld_test"])
    other = data["tweeteval_emo"]
    shared = [c for c in other.classes if c in head.classes]  # anger, joy, sadness
    rows = [i for i, y in enumerate(other.labels) if other.classes[y] in shared]
    sub = other.take(rows)
    x, _ = embed(sub.texts, cache_dir=CACHE)
    probs = head.predict_proba(sub.texts, x)
    cols = [head.classes.index(c) for c in shared]
    pred = [shared[k] for k in probs[:, cols].argmax(axis=1)]
    truth = [sub.classes[y] for y in sub.labels]
    idx = {c: i for i, c in enumerate(shared)}
    y, p = [idx[t] for t in truth], [idx[q] for q in pred]
    return {
        "emotion.weighted_f1": round(meld["weighted_f1"], 4),
        "emotion.macro_f1": round(meld["macro_f1"], 4),
        "emotion.accuracy": round(meld["accuracy"], 4),
        "emotion.tweeteval_shared3.macro_f1": round(score("macro_f1", y, p), 4),
        "emotion.tweeteval_shared3.accuracy": round(score("accuracy", y, p), 4),
        "emotion.tweeteval_shared3.rows": len(sub),
    }


def intent_figures(head: TextHead, data: dict[str, ds.LabelledTexts]) -> dict[str, Any]:
    clinc = head_on(head, data["clinc_test"])
    return {
        "intent.accuracy": round(clinc["in_scope_accuracy"], 4),
        "intent.oos_recall": round(clinc["oos_recall"], 4),
        "intent.overall_accuracy": round(clinc["accuracy"], 4),
        "intent.oos_threshold": round(head.oos_threshold, 3),
    }


def chat_figures(head: TextHead) -> dict[str, Any]:
    data = ds.chat_intents()
    _train, _dev, test = chat_splits(data)
    out: dict[str, Any] = {
        "chat_intent.accuracy": round(head_on(head, test)["accuracy"], 4),
        "chat_intent.macro_f1": round(head_on(head, test)["macro_f1"], 4),
        "chat_intent.rows": len(data),
    }
    figures = []
    for lang in sorted(set(data.groups)):
        others = data.take([i for i, g in enumerate(data.groups) if g != lang])
        held = data.take([i for i, g in enumerate(data.groups) if g == lang])
        train, dev, _ = chat_splits(others)
        lolo = TextHead(head.name, head.classes, ngrams=head.ngrams, n_features=head.n_features,
                        c_grid=head.c_grid, balanced=(False,))  # fmt: skip
        x, key = embed(train.texts, cache_dir=CACHE)
        dx, _ = embed(dev.texts, cache_dir=CACHE)
        lolo.fit(train.texts, train.labels, x, val=(dev.texts, dev.labels, dx), encoder_key=key)
        acc = head_on(lolo, held)["accuracy"]
        out[f"chat_intent.held_out.{lang}.accuracy"] = round(acc, 4)
        figures.append(acc)
    out["chat_intent.held_out_language.accuracy"] = round(float(np.mean(figures)), 4)
    return out


def latency(platform: Platform, n: int) -> dict[str, Any]:
    """analyze-text over HTTP, every text new (<= 300 characters), every head on."""
    from agora.api.app import create_app

    token = platform.keys.create(["read"]).token
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(platform, start_background=False), port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    source = ds.tweeteval_sentiment(DATA, "val").texts + ds.meld_emotion(DATA, "val").texts
    rng = random.Random(5)
    texts = [t[:300] for t in rng.sample(source, n + 10)]
    times: list[float] = []
    heads_seen: set[str] = set()
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ) as client:
            for i, text in enumerate(texts):
                started = time.perf_counter()
                r = client.post("/analyze-text", json={"text": f"{text} #{i}"[:300]})
                elapsed = time.perf_counter() - started
                r.raise_for_status()
                body = r.json()
                heads_seen |= {k for k in ("sentiment", "emotion", "intent") if body.get(k)}
                if i >= 10:  # the first requests load models
                    times.append(elapsed)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    ms = np.asarray(times) * 1000
    return {
        "analyze_text.p50_ms": round(float(np.percentile(ms, 50)), 2),
        "analyze_text.p95_ms": round(float(np.percentile(ms, 95)), 2),
        "analyze_text.requests": len(times),
        "analyze_text.heads": sorted(heads_seen),
        "analyze_text.loadavg": loadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small samples everywhere")
    parser.add_argument("--encode-only", action="store_true", help="fill the embedding cache")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument(
        "--train-sample", type=int, default=None, help="cap each training split (default: all)"
    )
    parser.add_argument(
        "--test-sample",
        type=int,
        default=None,
        help="rows per XLM-T language in test (CLINC: 4x in scope, all out of scope)",
    )
    args = parser.parse_args()
    if args.quick:
        args.train_sample = args.train_sample or 1000
        args.test_sample = args.test_sample or 100
    print(f"encoding (cache {CACHE}) ...", flush=True)
    encode_all(args.train_sample, args.test_sample)
    if args.encode_only:
        return
    settings = Settings.load(
        data_dir=Path(tempfile.mkdtemp()) / "agora",
        server={"log_json": False},
        moderation={"model_refresh_s": 3600.0},
    )
    platform = Platform.build(settings)
    results: dict[str, Any] = {"loadavg.start": loadavg(), "encoder": "minilm"}
    started = time.perf_counter()
    trained = train_language(
        TrainingServices(settings, platform.db, platform.models),
        data_dir=str(DATA),
        embedding_cache=str(CACHE),
        sample=args.train_sample,
    )
    results["train_s"] = round(time.perf_counter() - started, 1)
    heads: dict[str, TextHead] = {}
    for name, outcome in trained["models"].items():
        results[f"{name}.model"] = outcome["model"]
        results[f"{name}.decision"] = outcome["decision"]
        heads[name] = platform.models.load(name, version=outcome["version"])
    data = corpora(args.test_sample)
    results["train_sample"] = args.train_sample
    results["test_sample"] = args.test_sample
    results |= {f"rows.{k}": len(v) for k, v in data.items()}
    results |= sentiment_figures(heads["language-sentiment"], data)
    results |= emotion_figures(heads["language-emotion"], data)
    results |= intent_figures(heads["language-intent"], data)
    results |= chat_figures(heads["language-chat-intent"])
    results |= sentiment_lolo(heads["language-sentiment"], data, args.train_sample)
    results |= latency(platform, 60 if args.quick else args.requests)
    results["loadavg.end"] = loadavg()
    results["quick"] = args.quick
    platform.close()
    width = max(len(k) for k in results)
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")
    out = OUT.with_suffix(".quick.json") if args.quick else OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
