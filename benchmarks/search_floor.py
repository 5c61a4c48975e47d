"""The relevance floor of dense retrieval: where cosine stops meaning "related".

A vector index always has nearest neighbours, so without a floor a query
that matches nothing (``zzzqqqxx``) returned the whole catalog. This chooses
the cosine floor of the ``text`` retriever (query embedding vs. the asset's
passage embedding) and of the ``conse`` retriever (query embedding vs. the
ConSE vectors of pictures) on data, and measures what it costs.

- ``text``: Home Depot product search (``../shared/data/homedepot-search-
  relevance``: 74k judged (query, product title) pairs, relevance 1-3, the mean
  of >= 3 raters). Queries are split by a hash of their text into a *tuning*
  half and a *test* half. The floor is the highest cosine that keeps
  ``KEEP`` (99 %) of the tuning half's relevant pairs (relevance >= 2, at least
  "partially relevant") above it: it must not cost recall. It is then measured
  on the test half: relevant pairs kept, irrelevant pairs (relevance < 1.5)
  cut, and gibberish queries (random letter strings, like ``zzzqqqxx``) that
  still find any of the 53k products above it. Cosine alone does not separate
  them (gibberish reaches 0.38 over 53k titles at the median), so dense rows of
  a query none of whose words occurs in the catalog need the stricter
  ``unmatched_floor``: the ``KEEP`` quantile of the tuning gibberish queries'
  best cosine. Also measured: the share of real queries without such keyword
  evidence, their relevant pairs kept, and how many get a ``did_you_mean``
  (from the titles' words) that does have evidence.
- ``conse``: the Kenney sprites with the label queries of
  ``benchmarks/visual_search.py``; ConSE is a weak retriever (precision@5
  0.22), so relevant pairs do not bound it usefully. Its floor is chosen to
  reject gibberish as the text floor does: the ``KEEP`` quantile of the
  gibberish queries' best ConSE cosine over the sprites (tuning seed), measured
  on fresh gibberish and on the label queries' top-5.

Run: ``.venv/bin/python benchmarks/search_floor.py`` (embeddings are cached
under ``benchmarks/.cache/search_floor/``; the first run embeds 53k titles,
~20 minutes on 2 busy cores). Writes ``benchmarks/results/search_floor.json``.
"""

from __future__ import annotations

import csv
import json
import random
import string
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from agora.encoders import Encoders
from agora.index.analysis import Analyzer
from agora.search.lexicon import has_known_word
from agora.search.spelling import Speller, words_of

# This benchmark's own encoders (in the product, the platform owns them).
ENCODERS = Encoders()
ROOT = Path(__file__).resolve().parent
DATA = ROOT.parents[1] / "shared" / "data" / "homedepot-search-relevance" / "train.csv"
CACHE = ROOT / ".cache" / "search_floor"
RESULTS = ROOT / "results" / "search_floor.json"
KEEP = 0.99  # share of relevant tuning pairs the floor keeps
CHUNK = 2000


def tuning(query: str) -> bool:
    """The query's half: a stable hash of its text (a query never spans both halves)."""
    return zlib.crc32(query.encode()) % 2 == 0


def gibberish(n: int, seed: int) -> list[str]:
    """Random letter strings of 1-3 words, 3-12 letters each (keyboard mashes, ``zzzqqqxx``)."""
    rng = random.Random(seed)
    return [
        " ".join(
            "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 12)))
            for _ in range(rng.choice((1, 1, 2, 3)))
        )
        for _ in range(n)
    ]


def embed(
    name: str, texts: list[str], fn: Callable[[list[str]], np.ndarray], key: str
) -> np.ndarray:
    """Embeddings in cached chunks (rerunning the benchmark is instant)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    parts = []
    for n, start in enumerate(range(0, len(texts), CHUNK)):
        path = CACHE / f"{key}-{name}-{n:03d}.npy"
        if not path.exists():
            t0 = time.perf_counter()
            np.save(path, np.asarray(fn(texts[start : start + CHUNK]), dtype=np.float32))
            print(f"  {name}: {start + CHUNK}/{len(texts)} ({time.perf_counter() - t0:.0f} s)")
        parts.append(np.load(path))
    return np.concatenate(parts) if parts else np.zeros((0, 384), np.float32)


def best_cosines(queries: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Each query's highest cosine over ``base`` (exact, blockwise)."""
    best = np.full(len(queries), -1.0, dtype=np.float32)
    for start in range(0, len(base), 20_000):
        best = np.maximum(best, (queries @ base[start : start + 20_000].T).max(axis=1))
    return best


def text_floor() -> dict[str, float]:
    enc = ENCODERS.text("minilm")
    key = enc.info.key
    with DATA.open(encoding="latin-1") as fh:
        rows = list(csv.DictReader(fh))
    titles = list(dict.fromkeys(r["product_title"] for r in rows))
    queries = list(dict.fromkeys(r["search_term"] for r in rows))
    tv = embed("titles", titles, enc.encode_passages, key)
    qv = embed("queries", queries, enc.encode_queries, key)
    t_row = {t: i for i, t in enumerate(titles)}
    q_row = {q: i for i, q in enumerate(queries)}
    # Keyword evidence: a query word (stemmed, as the BM25 index does) in some title.
    analyzer = Analyzer()
    vocab = {t for title in titles for t in analyzer.terms(title, "en")}

    def evidence(q: str) -> bool:
        return any(t in vocab for t in analyzer.terms(q, "en"))

    def any_evidence(q: str) -> bool:  # what search uses: keyword or language evidence
        return evidence(q) or has_known_word(q)

    cos: dict[bool, tuple[list[float], list[float], list[float]]] = {
        True: ([], [], []),
        False: ([], [], []),
    }  # half -> (relevant, irrelevant, relevant of queries without keyword evidence)
    for r in rows:
        rel, q = float(r["relevance"]), r["search_term"]
        c = float(qv[q_row[q]] @ tv[t_row[r["product_title"]]])
        if rel >= 2.0:
            cos[tuning(q)][0].append(c)
            if not any_evidence(q):
                cos[tuning(q)][2].append(c)
        elif rel < 1.5:
            cos[tuning(q)][1].append(c)
    tune_rel, test_rel = np.array(cos[True][0]), np.array(cos[False][0])
    test_irr, test_unmatched = np.array(cos[False][1]), np.array(cos[False][2])
    floor = float(np.floor(np.quantile(tune_rel, 1 - KEEP) * 100) / 100)
    junk_q = gibberish(500, 0), gibberish(500, 1)
    junk_tune = best_cosines(embed("gibberish-0", junk_q[0], enc.encode_queries, key), tv)
    junk_test = best_cosines(embed("gibberish-1", junk_q[1], enc.encode_queries, key), tv)
    unmatched = float(np.ceil(np.quantile(junk_tune, KEEP) * 100) / 100)
    test_queries = [q for q in queries if not tuning(q)]
    # What those queries get instead: a did_you_mean from the titles' words.
    counts: Counter[str] = Counter()
    for title in titles:
        counts.update(set(words_of(title)))
    speller = Speller(lambda: counts)
    lost = [q for q in test_queries if not evidence(q)]
    suggested = [speller.suggest(q, "en") for q in lost]
    fixed = [s for s in suggested if s is not None and evidence(s)]
    pairs = list(zip(lost, suggested, strict=True))
    print(f"\nno keyword evidence, did_you_mean (first 15): {pairs[:15]}")
    out = {
        "text.floor": floor,
        "text.unmatched_floor": unmatched,
        "text.tune.relevant_pairs": float(len(tune_rel)),
        "text.tune.relevant_kept": float(np.mean(tune_rel >= floor)),
        "text.test.relevant_pairs": float(len(test_rel)),
        "text.test.relevant_kept": float(np.mean(test_rel >= floor)),
        "text.test.irrelevant_pairs": float(len(test_irr)),
        "text.test.irrelevant_cut": float(np.mean(test_irr < floor)),
        "text.test.gibberish_with_no_hit.floor_only": float(np.mean(junk_test < floor)),
        "text.test.gibberish_with_no_hit": float(
            np.mean(
                [
                    c < (floor if any_evidence(q) else unmatched)
                    for q, c in zip(junk_q[1], junk_test, strict=True)
                ]
            )
        ),
        "text.test.gibberish_with_language_evidence": float(
            np.mean([has_known_word(q) for q in junk_q[1]])
        ),
        "text.test.queries_without_evidence": float(
            np.mean([not any_evidence(q) for q in test_queries])
        ),
        "text.test.gibberish_with_keyword_evidence": float(
            np.mean([evidence(q) for q in junk_q[1]])
        ),
        "text.test.queries_without_keyword_evidence": float(
            np.mean([not evidence(q) for q in test_queries])
        ),
        "text.test.relevant_pairs_without_evidence": float(len(test_unmatched)),
        "text.test.relevant_kept_without_evidence": float(
            np.mean(test_unmatched >= unmatched) if len(test_unmatched) else 1.0
        ),
        "text.test.did_you_mean_for_queries_without_evidence": float(
            len(fixed) / max(1, len(lost))
        ),
        "text.test.gibberish_with_did_you_mean": float(
            np.mean([speller.suggest(q, "en") is not None for q in junk_q[1]])
        ),
        "text.catalog_titles": float(len(titles)),
    }
    for q in (0.5, 0.9, 0.99):
        out[f"text.test.gibberish_best_cosine.q{int(q * 100)}"] = float(np.quantile(junk_test, q))
    for q in (0.01, 0.05, 0.5):
        out[f"text.test.relevant_cosine.q{int(q * 100)}"] = float(np.quantile(test_rel, q))
    print("\nfloor  tune-rel-kept  test-rel-kept  test-irr-cut  gibberish-no-hit (test)")
    for f in np.arange(0.06, 0.56, 0.04):
        print(
            f"{f:5.2f}  {np.mean(tune_rel >= f):13.3f}  {np.mean(test_rel >= f):13.3f}"
            f"  {np.mean(test_irr < f):12.3f}  {np.mean(junk_test < f):16.3f}"
        )
    return out


def conse_floor() -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    import visual_search as vs  # the sprites, their labels, cached image encodings

    paths = vs.images()
    labels = [vs.label_of(p) for p in paths]
    _, probs, _, _ = vs.encode(paths)
    bridge = ENCODERS.conse("minilm")
    conse = np.asarray(bridge.from_probs(probs), dtype=np.float32)
    text = ENCODERS.text("minilm")
    junk_tune = best_cosines(np.asarray(text.encode_queries(gibberish(500, 0))), conse)
    junk_test = best_cosines(np.asarray(text.encode_queries(gibberish(500, 1))), conse)
    floor = float(np.ceil(np.quantile(junk_tune, KEEP) * 100) / 100)
    top5_kept, top5_rel_kept = [], []
    for lab, query in vs.TEXT_QUERIES.items():
        sims = conse @ text.encode_queries([query])[0]
        top = np.argsort(-sims)[:5]
        top5_kept += [sims[j] >= floor for j in top]
        top5_rel_kept += [sims[j] >= floor for j in top if labels[j] == lab]
    return {
        "conse.floor": floor,
        "conse.test.gibberish_with_no_hit": float(np.mean(junk_test < floor)),
        "conse.label_queries.top5_kept": float(np.mean(top5_kept)),
        "conse.label_queries.relevant_top5_kept": float(np.mean(top5_rel_kept)),
        "conse.images": float(len(paths)),
    }


def main() -> None:
    if not DATA.exists():
        sys.exit(f"Home Depot data not found at {DATA}")
    out = {"encoder": ENCODERS.text("minilm").info.key, "keep": KEEP}
    out |= text_floor()
    out |= conse_floor()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    rounded = {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}
    RESULTS.write_text(json.dumps(rounded, indent=2, sort_keys=True) + "\n")
    for k, v in rounded.items():
        print(f"{k:45} {v}")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
