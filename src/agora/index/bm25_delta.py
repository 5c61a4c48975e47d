"""The delta of the embedded BM25 index: documents written since the main index was built.

Scored with the BM25 Lucene formula that bm25s uses, with document frequencies
of the main index plus the delta and the main index's average length, so delta
scores are on the main index's scale.

Example:
    >>> d = Delta()
    >>> d.put("a", ["red", "car", "car"])
    >>> d.freeze()
    >>> [(i, round(s, 3)) for i, s in d.score(["car"], {}, 1, 3.0, 1.2, 0.75, None)]
    [('a', 0.18)]
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np


class Delta:
    """Recently written documents with an inverted list rebuilt lazily after writes."""

    def __init__(self) -> None:
        self._docs: dict[str, list[str]] = {}
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._ids: list[str] = []
        self._lengths = np.zeros(0, dtype=np.float32)
        self.dirty = False

    def __len__(self) -> int:
        return len(self._docs)

    def put(self, id_: str, terms: list[str]) -> None:
        self._docs[id_] = terms
        self.dirty = True

    def drop(self, id_: str) -> None:
        if self._docs.pop(id_, None) is not None:
            self.dirty = True

    def has(self, term: str) -> bool:
        """Whether a (frozen) delta document contains ``term``."""
        return term in self._postings

    def freeze(self) -> None:
        """Rebuild the inverted lists (cheap: the delta is small)."""
        self._ids = list(self._docs)
        self._lengths = np.array([len(self._docs[i]) for i in self._ids], dtype=np.float32)
        lists: dict[str, tuple[list[int], list[int]]] = {}
        for row, id_ in enumerate(self._ids):
            for term, tf in Counter(self._docs[id_]).items():
                rows, tfs = lists.setdefault(term, ([], []))
                rows.append(row)
                tfs.append(tf)
        self._postings = {
            t: (np.array(r, dtype=np.int64), np.array(f, dtype=np.float32))
            for t, (r, f) in lists.items()
        }
        self.dirty = False

    def score(
        self,
        terms: list[str],
        main_doc_freq: dict[str, int],
        total_docs: int,
        avgdl: float,
        k1: float,
        b: float,
        allowed: set[str] | None,
    ) -> list[tuple[str, float]]:
        """(id, score) of delta documents matching any term (frozen state)."""
        if not self._ids:
            return []
        scores = np.zeros(len(self._ids), dtype=np.float32)
        norm = k1 * (1 - b + b * self._lengths / max(avgdl, 1e-9))
        for term in terms:
            posting = self._postings.get(term)
            if posting is None:
                continue
            rows, tf = posting
            df = main_doc_freq.get(term, 0) + len(rows)
            idf = math.log(1 + (total_docs - df + 0.5) / (df + 0.5))
            scores[rows] += idf * tf / (tf + norm[rows])
        hits = np.nonzero(scores > 0)[0]
        return [
            (self._ids[r], float(scores[r]))
            for r in hits
            if allowed is None or self._ids[r] in allowed
        ]
