"""Features of (user, candidate asset) pairs for the learning-to-rank hybrid.

The candidates of a user are the union of every component's top ``pool``
unseen assets. Each pair gets features that keep their meaning when the
components are refitted on more data (the ranker is trained on validation
folds and serves models refitted on everything), so raw scores never appear:

- per component: the z-score over the user's unseen assets and the log rank;
  the equal-weight sum of the z-scores;
- user-kNN: z-score and log rank of a user-user cosine neighbourhood score
  (the ``neighbours`` most similar users), a signal none of the item-side
  components carries;
- popularity: the asset's log share of the interactions (against a uniform
  share) and percentile, the user's log history length against the mean,
  asset minus user's mean log popularity (how mainstream);
- history similarity: the rank among the candidates of the largest EASE
  weight between the asset and any asset of the history, the largest and
  mean item-kNN weight;
- content (:class:`SideInfo`): the share of the user's history in the
  asset's categories (max and mean over them), the asset's category code;
  each user attribute (numeric value or categorical code) and, for numeric
  attributes, the asset's mean over its users minus the user's value;
- content profile (when a content model is given): the cosine between the
  asset's text+image embedding and the user's decay-weighted profile, and
  its rank among the candidates;
- time (when the interaction times are given): how many of the asset's
  interactions fall within the user's active window (log share of all
  interactions, and share of the asset's own), the
  asset's median and first interaction time relative to the user's, and the
  length of that window (days);
- publication (when the assets' publication times are given): the asset's
  publication time against the median of the user's history (years, and in
  units of the history's spread) and the asset's age at the middle of the
  user's active window (years): whether a user follows new releases or
  older titles, which no co-occurrence carries.

Missing side information (:class:`~agora.recommend.side_info.SideInfo`)
yields constant columns, which the ranker ignores.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp

from agora.mlops.artifact_state import VersionedState
from agora.recommend.base import InteractionMatrix
from agora.recommend.blend import standardise
from agora.recommend.content import ContentRecommender
from agora.recommend.matrix import (
    MatrixRecommender,
    row_max,
    stored_entries,
    weighted_row_sum,
)

# (Also where artifacts pickled before SideInfo moved to side_info look it up.)
from agora.recommend.side_info import SideInfo

DAY_S = 86400.0
YEAR_S = 365.25 * DAY_S


def _ranks(z: np.ndarray) -> np.ndarray:
    order = np.argsort(-z, kind="stable")
    rank = np.empty(len(z), dtype=np.float32)
    rank[order] = np.arange(len(z), dtype=np.float32)
    return rank


def _quantile(ordered: np.ndarray, q: float) -> float:
    """``np.quantile(ordered, q)`` (linear) of a sorted array, without its ~0.1 ms overhead."""
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))


def _rank_share(values: np.ndarray) -> np.ndarray:
    """Rank of each value among ``values`` (0 = largest) over their number."""
    return _ranks(values) / max(len(values), 1)


class FeatureBuilder(VersionedState):
    """Per-fit statistics (popularity, categories, neighbours) and per-user feature rows.

    Stored format 2 has the publication-time columns (``published``); format 1,
    pickled before versioning, may predate them: ``published`` None, and its
    ranker was trained without those columns.
    """

    FORMAT_VERSION = 2

    def __init__(
        self,
        data: InteractionMatrix,
        components: Mapping[str, MatrixRecommender],
        side: SideInfo,
        *,
        pool: int = 100,
        neighbours: int = 50,
        content: ContentRecommender | None = None,
    ):
        self.data, self.components, self.side = data, dict(components), side
        self.pool, self.neighbours = pool, neighbours
        self.content = content
        x = sp.csr_matrix(data.matrix, copy=True)
        x.data = np.ones_like(x.data)
        self.x = x
        n_items = data.shape[1]
        pop = np.asarray(x.sum(axis=0)).ravel()
        self.pop = pop
        self.log_pop = np.log1p(pop).astype(np.float32)
        # Shares rather than counts: the ranker is trained on folds holding a
        # fraction of the data and serves on all of it, so a feature must not
        # grow with the amount of data (a count does, a share does not).
        self.per_item = max(float(pop.sum()), 1.0) / max(n_items, 1)
        self.log_share = self._log_share(pop).astype(np.float32)
        self.pop_pct = (pop.argsort().argsort() / max(n_items, 1)).astype(np.float32)
        lengths = np.asarray(x.sum(axis=1)).ravel()
        self.mean_length = max(float(lengths.mean()), 1.0)
        # Assets x users, each user's row L2-normalised: a history's cosine to
        # every user is the sum of its assets' rows (a row slice, no product).
        xn = sp.diags(1.0 / np.sqrt(np.maximum(lengths, 1.0))) @ x
        self.xn_by_item = sp.csr_matrix(xn.T)
        self._categories(side)
        self._attributes(side)
        self._times(side)
        self.published: np.ndarray | None = np.array(
            [float(side.item_times.get(a, np.nan)) for a in data.item_ids], dtype=np.float64
        )

    # -- fit-time statistics ---------------------------------------------------
    def _categories(self, side: SideInfo) -> None:
        names = sorted({c for cs in side.item_categories.values() for c in cs})
        col = {c: k for k, c in enumerate(names)}
        n_items = self.data.shape[1]
        cats = sp.lil_matrix((n_items, max(len(names), 1)), dtype=np.float32)
        first = np.full(n_items, -1.0, dtype=np.float32)
        for j, asset in enumerate(self.data.item_ids):
            for k, c in enumerate(side.item_categories.get(asset, ())):
                cats[j, col[c]] = 1.0
                if k == 0:
                    first[j] = col[c]
        self.item_cats = sp.csr_matrix(cats)
        self.first_cat = first

    def _attributes(self, side: SideInfo) -> None:
        self.attr_keys = side.attr_keys()
        self.vocab: dict[str, dict[str, int]] = {}
        self.numeric: list[str] = []
        for key in self.attr_keys:
            values = [a[key] for a in side.user_attrs.values() if key in a]
            if values and all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in values
            ):
                self.numeric.append(key)
            else:
                self.vocab[key] = {v: k for k, v in enumerate(sorted({str(v) for v in values}))}
        # Mean numeric attribute of each asset's users (e.g. the age of its audience).
        xt = sp.csr_matrix(self.x.T)
        self.item_attr_mean: dict[str, np.ndarray] = {}
        for key in self.numeric:
            vals = np.array(
                [float(side.user_attrs.get(u, {}).get(key, np.nan)) for u in self.data.user_ids]
            )
            known = ~np.isnan(vals)
            total = xt @ np.where(known, vals, 0.0)
            count = xt @ known.astype(np.float64)
            self.item_attr_mean[key] = np.where(count > 0, total / np.maximum(count, 1.0), np.nan)

    def _times(self, side: SideInfo) -> None:
        self.time_keys: np.ndarray | None = None
        if side.times is None:
            return
        t = sp.csc_matrix(side.times)
        n_items = t.shape[1]
        cols = np.repeat(np.arange(n_items), np.diff(t.indptr))
        order = np.lexsort((t.data, cols))
        times, cols = t.data[order].astype(np.float64), cols[order]
        # One sorted key per interaction, asset-major (asset * span + time), so
        # the counts of every candidate's interactions in a window are two
        # vectorised searchsorted calls instead of two per candidate.
        # (No times at all still gives the time columns, as NaN: a fold and the
        # full data must give the ranker the same number of columns.)
        self.time_origin = float(times.min()) - 2 * DAY_S if len(times) else 0.0
        self.time_span = float(times.max()) - self.time_origin + 2 * DAY_S if len(times) else 1.0
        self.time_keys = cols * self.time_span + (times - self.time_origin)
        starts = np.searchsorted(cols, np.arange(n_items))
        ends = np.searchsorted(cols, np.arange(n_items), side="right")
        has = ends > starts
        self.item_first = np.full(n_items, np.nan)
        self.item_first[has] = times[starts[has]]
        self.item_median = np.array(
            [np.median(times[a:b]) if b > a else np.nan for a, b in zip(starts, ends, strict=True)]
        )
        self.user_times = sp.csr_matrix(side.times)

    def _window_counts(self, idx: np.ndarray, lo: float, hi: float) -> np.ndarray:
        """Interactions of each asset of ``idx`` with a time in [lo, hi)."""
        assert self.time_keys is not None
        base = idx.astype(np.float64) * self.time_span - self.time_origin
        return (
            np.searchsorted(self.time_keys, base + hi) - np.searchsorted(self.time_keys, base + lo)
        ).astype(np.float64)

    # -- per user ----------------------------------------------------------------
    def _user_knn(self, history: sp.csr_matrix, own_row: int | None) -> np.ndarray:
        """Scores from the ``neighbours`` users most similar to ``history`` (cosine).

        ``own_row`` (the user's row in the matrix, when there is one) is no
        neighbour of itself.
        """
        seen = np.unique(history.indices)
        n_users = self.x.shape[0]
        if not len(seen) or not n_users:
            return np.zeros(self.x.shape[1])
        sim = weighted_row_sum(self.xn_by_item, seen) / np.sqrt(len(seen))
        if own_row is not None:
            sim[own_row] = 0.0
        k = min(self.neighbours, n_users)
        # Every user tied with the k-th nearest counts (small histories tie often).
        kth = np.partition(sim, n_users - k)[n_users - k]
        nearest = np.flatnonzero((sim >= kth) & (sim > 0))
        return weighted_row_sum(self.x, nearest, sim[nearest])

    def rows(
        self,
        scores: Mapping[str, np.ndarray],
        history: sp.csr_matrix,
        user: str | None,
        *,
        head: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(candidate item indexes, features) for one user.

        ``scores`` are the components' raw scores over the catalog, ``history``
        the user's 1 x n_items row; ``user`` (when known) finds the attributes
        and, for a user of the training matrix, drops that user from user-kNN.
        ``head`` keeps only the candidates in some component's top ``head``;
        their features are still built over the whole pool (some are ranks
        among its candidates), so they are the rows the ranker was trained on.
        """
        n_items = self.data.shape[1]
        seen = history.indices
        unseen = np.ones(n_items, dtype=bool)
        unseen[seen] = False
        zs: dict[str, np.ndarray] = {}
        cand = np.zeros(n_items, dtype=bool)
        pool = min(self.pool, max(int(unseen.sum()), 1))
        own_row = self.data.user_index.get(user) if user is not None else None
        for name, s in {**scores, "user_knn": self._user_knn(history, own_row)}.items():
            z = standardise(s.astype(np.float64), seen)
            z[seen] = -np.inf
            zs[name] = z
            if name != "user_knn":
                cand[np.argpartition(-z, pool - 1)[:pool]] = True
        idx = np.flatnonzero(cand & unseen)
        cols: list[np.ndarray] = []
        best = np.full(len(idx), np.inf)
        for name, z in zs.items():
            rank = _ranks(z)[idx]
            cols += [z[idx], np.log1p(rank)]
            if name != "user_knn":
                best = np.minimum(best, rank)
        cols.append(sum((zs[n][idx] for n in scores), np.zeros(len(idx))))
        cols += self._popularity(idx, seen)
        cols += self._similarity(idx, seen)
        cols += self._content(idx, seen, user)
        cols += self._profile(idx, history)
        times = self._user_times(own_row)
        cols += self._time(idx, times)
        cols += self._published(idx, seen, times)
        x = np.column_stack(cols).astype(np.float32)
        if head is not None and head < pool:
            keep = best < head
            return idx[keep], x[keep]
        return idx, x

    def _popularity(self, idx: np.ndarray, seen: np.ndarray) -> list[np.ndarray]:
        n = len(idx)
        mean_pop = float(self.log_pop[seen].mean()) if len(seen) else 0.0
        return [
            self.log_share[idx],
            self.pop_pct[idx],
            np.full(n, np.log((len(seen) + 0.5) / self.mean_length)),
            self.log_pop[idx] - mean_pop,
        ]

    def _similarity(self, idx: np.ndarray, seen: np.ndarray) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for name in ("ease", "item_knn"):
            model = self.components.get(name)
            if model is None or not len(seen):
                out += [np.zeros(len(idx))] * (1 if name == "ease" else 2)
                continue
            if name == "ease":
                w = np.asarray(getattr(model, "weights"))[np.ix_(seen, idx)]  # noqa: B009
                # EASE weights shrink with less data: their order among the
                # candidates is what carries over.
                out.append(_rank_share(w.max(axis=0)))
            else:
                # Off the CSR arrays: slicing rows then columns cost ~0.5 ms a request.
                sim = sp.csr_matrix(getattr(model, "similarity"))  # noqa: B009
                out += [row_max(sim, seen)[idx], weighted_row_sum(sim, seen)[idx] / len(seen)]
        return out

    def _content(self, idx: np.ndarray, seen: np.ndarray, user: str | None) -> list[np.ndarray]:
        n = len(idx)
        share = weighted_row_sum(self.item_cats, seen) / max(len(seen), 1)
        # Per candidate, the max and mean share over its categories, read off
        # the CSR arrays (sparse multiply/max cost ~1 ms a request).
        pos, counts = stored_entries(self.item_cats, idx)
        owner = np.repeat(np.arange(n), counts)
        values = share[self.item_cats.indices[pos]]
        top = np.zeros(n)
        np.maximum.at(top, owner, values)
        mean = np.bincount(owner, weights=values, minlength=n) / np.maximum(counts, 1)
        out = [top, mean, self.first_cat[idx]]
        attrs = self.side.user_attrs.get(user, {}) if user is not None else {}
        for key in self.attr_keys:
            value = attrs.get(key)
            if key in self.item_attr_mean:
                v = float(value) if isinstance(value, int | float) else np.nan
                out += [np.full(n, v), self.item_attr_mean[key][idx] - v]
            else:
                code = self.vocab[key].get(str(value), -1) if value is not None else -1
                out.append(np.full(n, float(code)))
        return out

    def _log_share(self, counts: np.ndarray) -> np.ndarray:
        """log of ``counts`` against an asset's uniform share of the interactions."""
        return np.log((counts + 0.5) / self.per_item)

    def _profile(self, idx: np.ndarray, history: sp.csr_matrix) -> list[np.ndarray]:
        if self.content is None or not self.content.ready:
            return [np.zeros(len(idx))] * 2
        ids = self.data.item_ids
        weights = {ids[j]: float(v) for j, v in zip(history.indices, history.data, strict=True)}
        sims = self.content.profile_similarity(weights, [ids[j] for j in idx])
        return [sims, _rank_share(sims)]

    def _user_times(self, own_row: int | None) -> np.ndarray | None:
        """The user's interaction times, sorted (None: no times at all; empty: none known).

        Read off the CSR arrays: a scipy row slice costs ~0.1 ms a request.
        """
        if self.time_keys is None:
            return None
        if own_row is None:
            return np.empty(0)
        t = self.user_times
        return np.sort(t.data[t.indptr[own_row] : t.indptr[own_row + 1]])

    def _time(self, idx: np.ndarray, ts: np.ndarray | None) -> list[np.ndarray]:
        n = len(idx)
        if ts is None:
            return []
        if not len(ts):
            return [np.full(n, np.nan)] * 5
        lo, hi, med = float(ts[0]), float(ts[-1]), _quantile(ts, 0.5)
        counts = self._window_counts(idx, lo - DAY_S, hi + DAY_S)
        return [
            self._log_share(counts),
            counts / np.maximum(self.pop[idx], 1.0),
            (self.item_median[idx] - med) / DAY_S,
            (self.item_first[idx] - hi) / DAY_S,
            np.full(n, np.log1p((hi - lo) / DAY_S)),
        ]

    def _published(
        self, idx: np.ndarray, seen: np.ndarray, times: np.ndarray | None
    ) -> list[np.ndarray]:
        """Publication time against the user's history and the user's active time.

        Always three columns (NaN where unknown), so folds and the full data
        give the ranker the same number of columns.
        """
        published = self.published
        if published is None:  # a format-1 builder: its ranker was trained without these
            return []
        n = len(idx)
        pub = published[idx]
        history = np.sort(published[seen])
        history = history[~np.isnan(history)]
        if not len(history):
            return [np.full(n, np.nan)] * 3
        centre = _quantile(history, 0.5)
        # The spread has a floor of a month: a history of one release date
        # would otherwise turn every other date into an infinite distance.
        spread = max(_quantile(history, 0.75) - _quantile(history, 0.25), 30 * DAY_S)
        active = _quantile(times, 0.5) if times is not None and len(times) else np.nan
        return [(pub - centre) / YEAR_S, (pub - centre) / spread, (active - pub) / YEAR_S]


def _builder_v1(state: dict[str, object]) -> dict[str, object]:
    """Format 1: builders pickled before versioning; the oldest lack ``published``."""
    state.setdefault("published", None)
    return state


FeatureBuilder.STATE_LOADERS = {1: _builder_v1, 2: dict}
