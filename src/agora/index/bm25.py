"""Embedded keyword index: bm25s (BM25, Lucene variant) with a main index plus a small delta.

bm25s builds static indexes, so writes go to a durable document store
(:mod:`agora.index.bm25_store`) and become the *delta*: documents changed
since the main index was built. A query scores the main index with bm25s and
the delta with the same BM25 formula using the main index's statistics (as
Lucene scores segments with index-wide statistics), masking main rows that
were updated or deleted since. When the delta outgrows ``max(min_delta,
delta_share * main)`` the main index is rebuilt: in the query's thread for
small indexes, in a background thread otherwise; ``optimize()`` rebuilds now
(bulk imports call it). The last rebuild time is in ``last_rebuild_s``.

Fields are weighted by repetition (title x3, tags x2, description x1 by
default): simple, and BM25's saturation keeps a repeated title from swamping
a long description. Highlights wrap matched words in ``<mark>``.

Documents and queries go through one analyser (``agora.index.analysis``:
``standard`` or ``product``), whose version the store records. An index
opened with another analyser than the one that wrote it re-analyses every
stored document (their text is kept) and rebuilds its main index before it
answers, so terms written one way are never matched against queries
analysed another way; an index from before versions were recorded counts
as ``standard-1``.

Example:
    >>> import tempfile, pathlib
    >>> index = Bm25Index(pathlib.Path(tempfile.mkdtemp()), "assets")
    >>> index.add([KeywordDoc("a", {"title": "Red sports car", "tags": "vehicle"})])
    >>> hit = index.search("red cars", 3)[0]
    >>> hit.id, hit.highlights["title"]
    ('a', '<mark>Red</mark> sports <mark>car</mark>')
    >>> index.close()
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Collection, Sequence
from pathlib import Path

import bm25s
import numpy as np

from agora.errors import InvalidInput
from agora.index.analysis import LEGACY_VERSION, AnalyserName, Analyzer, language_code
from agora.index.base import KeywordDoc, KeywordHit
from agora.index.bm25_delta import Delta
from agora.index.bm25_store import DocStore
from agora.index.locks import ReadWriteLock
from agora.index.vectors import validate_name

log = logging.getLogger(__name__)
FIELD_WEIGHTS = {"title": 3, "tags": 2, "description": 1}
_WORDS = re.compile(r"\w+", re.UNICODE)
POINTER = "main.json"
ANALYSER_LABEL = "analyser"


class _Main:
    """A built bm25s index over the documents as of sequence ``seq``."""

    def __init__(self, retriever: bm25s.BM25 | None, ids: list[str], seq: int, avgdl: float):
        self.retriever, self.ids, self.seq, self.avgdl = retriever, ids, seq, avgdl
        self.row_of = {i: n for n, i in enumerate(ids)}
        self.alive = np.ones(len(ids), dtype=np.float32)
        self.doc_freq: dict[str, int] = {}
        if retriever is not None:
            indptr = np.asarray(retriever.scores["indptr"])
            counts = np.diff(indptr)
            # bm25s appends an empty token to the vocabulary without a matrix column.
            self.doc_freq = {
                t: int(counts[n]) for t, n in retriever.vocab_dict.items() if n < len(counts)
            }


class Bm25Index:
    """BM25 keyword index over string ids, persisted in ``directory``."""

    def __init__(
        self,
        directory: Path,
        name: str,
        *,
        field_weights: dict[str, int] | None = None,
        k1: float = 1.2,
        b: float = 0.75,
        min_delta: int = 2000,
        delta_share: float = 0.05,
        sync_rebuild_below: int = 20_000,
        refresh_interval_s: float = 0.5,
        analyser: AnalyserName = "standard",
    ) -> None:
        self.name = validate_name(name)
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._weights = field_weights or FIELD_WEIGHTS
        self._k1, self._b = k1, b
        self._min_delta, self._delta_share = min_delta, delta_share
        self._sync_below = sync_rebuild_below
        self._refresh_interval_s = refresh_interval_s
        self._analyzer = Analyzer(analyser)
        self._store = DocStore(self.directory / "docs.db")
        self._lock = ReadWriteLock()
        self._build_lock = threading.Lock()
        self._main = _Main(None, [], 0, 1.0)
        self._delta = Delta()
        self._languages: set[str] = set()
        self._seen = 0
        self._checked_at = 0.0
        self._builder: threading.Thread | None = None
        self.last_rebuild_s: float | None = None
        with self._lock.write():
            self._main = self._load_main() or self._main
            self._reload_delta()
        self.reanalysed = self._check_analyser()

    @property
    def analyser(self) -> str:
        """Version of the analyser documents and queries go through (``product-1``)."""
        return self._analyzer.version

    def _check_analyser(self) -> int:
        """Re-analyse the stored documents when another analyser wrote them; how many."""
        recorded = self._store.label(ANALYSER_LABEL)
        if recorded is None and self._store.count() > 0:
            recorded = LEGACY_VERSION
        if recorded == self.analyser or (recorded is None and self._store.count() == 0):
            self._store.set_label(ANALYSER_LABEL, self.analyser)
            return 0
        log.warning(
            "keyword index %s was analysed with %s, this process uses %s: re-analysing it",
            self.name,
            recorded,
            self.analyser,
        )
        count = 0
        for batch in self._store.documents():
            self.add([KeywordDoc(i, fields, lang) for i, lang, fields in batch])
            count += len(batch)
        self._store.set_label(ANALYSER_LABEL, self.analyser)
        self._rebuild()
        return count

    def __len__(self) -> int:
        return self._store.count()

    def add(self, docs: Sequence[KeywordDoc]) -> None:
        """Insert or replace documents; durable when this returns."""
        rows = []
        for doc in docs:
            if not isinstance(doc.id, str) or not doc.id:
                raise InvalidInput("document ids must be non-empty strings")
            if not all(isinstance(v, str) for v in doc.fields.values()):
                raise InvalidInput(f"fields of document {doc.id!r} must be strings")
            lang = language_code(doc.language)
            rows.append((doc.id, lang, dict(doc.fields), self._doc_terms(doc.fields, lang)))
        if not rows:
            return
        if len({r[0] for r in rows}) != len(rows):
            raise InvalidInput("duplicate ids in one batch")
        with self._lock.write():
            seq = self._store.upsert(rows)
            for id_, lang, _, terms in rows:
                self._delta.put(id_, terms)
                self._kill_main_row(id_)
                self._languages.add(lang)
            self._seen = seq if self._seen == seq - 1 else self._seen

    def delete(self, ids: Sequence[str]) -> None:
        """Remove ids; unknown ids are ignored."""
        ids = [i for i in ids if isinstance(i, str)]
        if not ids:
            return
        with self._lock.write():
            removed, seq = self._store.delete(ids)
            for id_ in removed:
                self._delta.drop(id_)
                self._kill_main_row(id_)
            if removed:
                self._seen = seq if self._seen == seq - 1 else self._seen

    def search(
        self,
        query: str,
        k: int,
        *,
        allowed: Collection[str] | None = None,
        language: str | None = None,
        highlights: bool = True,
    ) -> list[KeywordHit]:
        """Top-``k`` documents for ``query`` with ``<mark>`` highlights. ``language``
        (ISO 639-1) picks the stemmer when the index holds documents in it; otherwise
        every language in the index is tried. ``highlights=False`` skips marking
        (most of the cost at large ``k``); ``highlight`` marks chosen hits later."""
        if not isinstance(query, str):
            raise InvalidInput("query must be a string")
        if k < 0:
            raise InvalidInput("k must be >= 0")
        self._ensure_fresh()
        terms = self._query_terms(query, language)
        if not terms or k == 0:
            return []
        with self._lock.read():
            scored = self._score(terms, k, None if allowed is None else set(allowed))
        if not highlights:
            return [KeywordHit(id_, score, {}) for id_, score in scored]
        marks = self._marks(terms, [i for i, _ in scored])
        return [KeywordHit(id_, score, marks.get(id_, {})) for id_, score in scored]

    def highlight(
        self, query: str, ids: Sequence[str], *, language: str | None = None
    ) -> dict[str, dict[str, str]]:
        """Field -> marked text for the stored documents ``ids`` (as ``search`` marks them).

        >>> index.highlight("red cars", ["a"])  # doctest: +SKIP
        {'a': {'title': '<mark>Red</mark> sports <mark>car</mark>'}}
        """
        return self._marks(self._query_terms(query, language), list(ids))

    def word_presence(self, query: str, *, language: str | None = None) -> dict[str, bool]:
        """Each word of ``query`` (stopwords aside) -> whether an indexed document
        contains it: keyword evidence for the relevance floor, and the candidates
        for a spelling suggestion. Cheap: a dictionary lookup per word.

        >>> index.word_presence("the red tnak")  # doctest: +SKIP
        {'red': True, 'tnak': False}
        """
        self._ensure_fresh()
        out: dict[str, bool] = {}
        with self._lock.read():
            known, delta = self._main.doc_freq, self._delta
            for word in _WORDS.findall(query):
                terms = self._query_terms(word, language)
                if terms:
                    out[word] = any(t in known or delta.has(t) for t in terms)
        return out

    def _query_terms(self, query: str, language: str | None) -> list[str]:
        lang = language_code(language) if language else None
        langs = [lang] if lang in self._languages else sorted(self._languages or {"en"})
        return list(dict.fromkeys(t for lg in langs for t in self._analyzer.terms(query, lg)))

    def _marks(self, terms: list[str], ids: list[str]) -> dict[str, dict[str, str]]:
        fields = self._store.fields(ids)
        term_set = set(terms)
        out: dict[str, dict[str, str]] = {}
        for id_ in ids:
            lang, doc_fields = fields.get(id_, ("en", {}))
            out[id_] = {
                f: h
                for f, text in doc_fields.items()
                if (h := self._analyzer.highlight(text, term_set, lang)) is not None
            }
        return out

    def optimize(self) -> float:
        """Rebuild the main index from every document now; return the seconds it took."""
        self._rebuild()
        return self.last_rebuild_s or 0.0

    def close(self) -> None:
        """Wait for a running rebuild and release files (writes are already durable)."""
        if self._builder is not None:
            self._builder.join()
        self._store.close()

    # -- scoring ----------------------------------------------------------

    def _score(self, terms: list[str], k: int, allowed: set[str] | None) -> list[tuple[str, float]]:
        main, candidates = self._main, []
        if main.retriever is not None and main.ids:
            scores = main.retriever.get_scores(terms) * main.alive
            if allowed is not None:
                mask = np.zeros(len(main.ids), dtype=np.float32)
                rows = [main.row_of[i] for i in allowed if i in main.row_of]
                mask[rows] = 1.0
                scores = scores * mask
            top = (
                np.argpartition(-scores, min(k, len(scores) - 1))[:k]
                if len(scores) > k
                else np.arange(len(scores))
            )
            candidates += [(main.ids[r], float(scores[r])) for r in top if scores[r] > 0]
        total = len(main.ids) + len(self._delta)
        candidates += self._delta.score(
            terms, main.doc_freq, total, main.avgdl, self._k1, self._b, allowed
        )
        candidates.sort(key=lambda c: (-c[1], c[0]))
        return candidates[:k]

    # -- state ------------------------------------------------------------

    def _doc_terms(self, fields: dict[str, str], language: str) -> list[str]:
        terms: list[str] = []
        for field, text in fields.items():
            terms += self._analyzer.terms(text, language) * self._weights.get(field, 1)
        return terms

    def _kill_main_row(self, id_: str) -> None:
        row = self._main.row_of.get(id_)
        if row is not None:
            self._main.alive[row] = 0.0

    def _reload_delta(self) -> None:
        """Delta and dead rows from the store, relative to the main index's sequence."""
        self._seen = self._store.head()
        self._main.alive[:] = 1.0
        self._delta = Delta()
        for id_, _, terms in self._store.changed_since(self._main.seq):
            self._delta.put(id_, terms)
            self._kill_main_row(id_)
        for id_ in self._store.deleted_since(self._main.seq):
            self._kill_main_row(id_)
        self._languages = self._store.languages()

    def _ensure_fresh(self) -> None:
        now = time.monotonic()
        if now - self._checked_at >= self._refresh_interval_s:
            self._checked_at = now
            if self._store.head() != self._seen:  # another process wrote
                with self._lock.write():
                    pointer = self._read_pointer()
                    if pointer and pointer["seq"] != self._main.seq:
                        self._main = self._load_main() or self._main
                    self._reload_delta()
        limit = max(self._min_delta, self._delta_share * len(self._main.ids))
        if (self._main.retriever is None and len(self._delta)) or len(self._delta) > limit:
            if (
                len(self._main.ids) + len(self._delta) <= self._sync_below
                or self._main.retriever is None
            ):
                self._rebuild()
            elif self._builder is None or not self._builder.is_alive():
                self._builder = threading.Thread(
                    target=self._rebuild, name=f"bm25-{self.name}", daemon=True
                )
                self._builder.start()
        with self._lock.read():
            dirty = self._delta.dirty
        if dirty:
            with self._lock.write():
                self._delta.freeze()

    def _rebuild(self) -> None:
        with self._build_lock:
            started = time.perf_counter()
            seq, rows = self._store.snapshot()
            if seq == self._main.seq and self._main.retriever is not None:
                return
            ids, corpus = [], []
            for id_, _, terms in rows:
                ids.append(id_)
                corpus.append(terms)
            main = self._save_main(ids, corpus, seq)
            with self._lock.write():
                self._main = main
                self._reload_delta()
            self._store.prune_tombstones(seq)
            self.last_rebuild_s = time.perf_counter() - started
            log.info(
                "bm25 index %s rebuilt: %d docs in %.2f s", self.name, len(ids), self.last_rebuild_s
            )

    def _save_main(self, ids: list[str], corpus: list[list[str]], seq: int) -> _Main:
        retriever = None
        avgdl = max(1.0, sum(map(len, corpus)) / len(corpus)) if corpus else 1.0
        folder = self.directory / f"main-{seq}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        if ids:
            retriever = bm25s.BM25(k1=self._k1, b=self._b, method="lucene")
            retriever.index(corpus, show_progress=False)
            retriever.save(str(folder), show_progress=False)
        (folder / "ids.json").write_text(json.dumps(ids))
        pointer = {"folder": folder.name, "seq": seq, "avgdl": avgdl, "docs": len(ids)}
        tmp = self.directory / f"{POINTER}.tmp"
        tmp.write_text(json.dumps(pointer))
        os.replace(tmp, self.directory / POINTER)
        for old in self.directory.glob("main-*"):
            if old != folder:
                shutil.rmtree(old, ignore_errors=True)
        return _Main(retriever, ids, seq, avgdl)

    def _read_pointer(self) -> dict[str, object] | None:
        path = self.directory / POINTER
        return json.loads(path.read_text()) if path.exists() else None

    def _load_main(self) -> _Main | None:
        pointer = self._read_pointer()
        if pointer is None:
            return None
        folder = self.directory / str(pointer["folder"])
        try:
            ids = json.loads((folder / "ids.json").read_text())
            retriever = bm25s.BM25.load(str(folder), show_progress=False) if ids else None
        except FileNotFoundError:  # replaced by another process's rebuild meanwhile
            return None
        seq, avgdl = pointer["seq"], pointer["avgdl"]
        assert isinstance(seq, int) and isinstance(avgdl, float | int)
        return _Main(retriever, ids, seq, float(avgdl))
