"""Offline feature store: Parquet files per feature view, point-in-time joins in DuckDB.

Layout: ``root/<view>/<write-seq>-<uuid>.parquet``. Each ``write`` adds one file
(append-only, so concurrent writers never rewrite each other's data). A file holds
the entity key column(s), ``event_timestamp`` (when the value was true in the world),
``created_timestamp`` (when it landed in the store) and the feature columns.

Point-in-time semantics of :meth:`OfflineStore.training_set`, for a label row
``(entity, t)`` and one view:

* candidate rows: same entity, ``event_timestamp <= t`` and, with
  ``guard_created=True``, also ``created_timestamp <= t`` (a late backfill written
  after ``t`` was not knowable at ``t`` and must not leak into training);
* winner: the candidate with the greatest ``event_timestamp``; ties go to the greatest
  ``created_timestamp`` (the correction wins), then to the last written row;
* TTL: when ``t - winner.event_timestamp > ttl`` the features are NULL (stale);
* no candidate: NULL features. Output keeps the label rows, count and order.

Method (benchmarks/feature_store_pit.py; a single window over every feature row took
24 s for 1M labels x 10M rows, this takes about 2x a bare ASOF join of the same data):

1. one DuckDB ``ASOF LEFT JOIN`` on ``event_timestamp <= t`` per label gives the row
   with the entity's latest event time ``e*`` (a timestamp inequality: DuckDB's fast
   path; packing both timestamps into one HUGEINT key made the ASOF join 3x slower);
2. that row is the answer unless another row shares ``(entity, e*)`` (a tie, found by
   one hash join of the labels' winners back to the rows on ``(entity, e*)``) or,
   guarded, it was created after ``t``. Why not "ASOF, then filter on created_timestamp":
   that would drop a label's value instead of falling back to an older visible row;
3. for those labels only (a few percent: late backfills and ties), a range join with
   their entity's rows visible at ``t`` and ``arg_max`` over the full rank (event time,
   created time, write order). Ties need only the rows at ``e*``; late labels need the
   rows back to ``t - TTL`` (an older winner would be served as NULL anyway), so the
   cost grows with those labels times their entities' rows in one TTL.

The result comes back unordered and is put back into label order once, at the end.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from agora.errors import InvalidInput, NotFound

EVENT_TS = "event_timestamp"
CREATED_TS = "created_timestamp"
_TS_TYPE = pa.timestamp("us", tz="UTC")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class ViewSpec:
    """Which features of one view to join, by which entity key, with which TTL.

    Example:
        >>> ViewSpec("user_stats", "user_id", ["clicks_7d"], ttl=timedelta(days=2))
        ... # doctest: +ELLIPSIS
        ViewSpec(name='user_stats', ...)
    """

    name: str
    entity_key: str | tuple[str, ...]
    features: list[str]
    ttl: timedelta | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.entity_key,) if isinstance(self.entity_key, str) else self.entity_key


def _check_name(name: str, what: str) -> str:
    # Names are spliced into SQL as quoted identifiers; a strict pattern keeps that safe.
    if not _NAME.match(name):
        raise InvalidInput(f"invalid {what} name {name!r}: use letters, digits and '_'")
    return name


def _as_table(data: pa.Table | Mapping[str, Any], what: str) -> pa.Table:
    table = data if isinstance(data, pa.Table) else pa.table(dict(data))
    for name in table.column_names:
        _check_name(name, f"{what} column")
    return table


def _utc(table: pa.Table, column: str, what: str) -> pa.Table:
    """Cast a timestamp column to timestamp[us, UTC]; naive timestamps are read as UTC."""
    if column not in table.column_names:
        raise InvalidInput(f"{what} needs a {column!r} column")
    col = table.column(column)
    if not pa.types.is_timestamp(col.type):
        raise InvalidInput(f"{what} column {column!r} must be a timestamp, got {col.type}")
    if col.null_count:
        raise InvalidInput(f"{what} column {column!r} has null values")
    # Via naive microseconds: tz-aware values are stored as UTC instants already.
    col = col.cast(pa.timestamp("us")).cast(_TS_TYPE)
    return table.set_column(table.column_names.index(column), column, col)


def _q(name: str) -> str:
    return f'"{name}"'


class OfflineStore:
    """Append-only Parquet feature views with point-in-time-correct training sets.

    Example:
        >>> store = OfflineStore(tmp_path)  # doctest: +SKIP
        >>> store.write("user_stats", {"user_id": [1], "event_timestamp": [ts],
        ...     "created_timestamp": [ts], "clicks_7d": [3]})  # doctest: +SKIP
        >>> store.training_set({"user_id": [1], "event_timestamp": [ts2]},
        ...     [ViewSpec("user_stats", "user_id", ["clicks_7d"])])  # doctest: +SKIP
    """

    def __init__(self, root: Path, *, threads: int | None = None) -> None:
        self.root = Path(root)
        self.threads = threads

    def view_files(self, view: str) -> list[Path]:
        """The Parquet files of ``view`` in write order."""
        folder = self.root / _check_name(view, "view")
        files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
        if not files:
            raise NotFound(f"feature view {view!r} has no data under {folder}")
        return files

    def write(self, view: str, data: pa.Table | Mapping[str, Any]) -> Path:
        """Append rows to ``view`` as one new Parquet file and return its path."""
        _check_name(view, "view")
        table = _as_table(data, "feature")
        table = _utc(_utc(table, EVENT_TS, "feature data"), CREATED_TS, "feature data")
        folder = self.root / view
        folder.mkdir(parents=True, exist_ok=True)
        # A growing ns prefix makes lexical file order the write order, which breaks exact
        # ties (same entity, event and created time): the later write wins.
        newest = max((int(p.name[:20]) for p in folder.glob("*.parquet")), default=0)
        seq = max(time.time_ns(), newest + 1)
        path = folder / f"{seq:020d}-{uuid.uuid4().hex[:8]}.parquet"
        tmp = path.with_suffix(".tmp")
        pq.write_table(table, tmp)
        tmp.replace(path)  # readers never see a half-written file
        return path

    def connect(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        # The result is sorted by label row explicitly: operators need not keep order.
        con.execute("SET preserve_insertion_order = false")
        if self.threads:
            con.execute(f"SET threads = {int(self.threads)}")
        return con

    def training_set(
        self,
        labels: pa.Table | Mapping[str, Any],
        views: Sequence[ViewSpec],
        *,
        guard_created: bool = True,
        con: duckdb.DuckDBPyConnection | None = None,
    ) -> pa.Table:
        """Join each label row with its point-in-time feature values (see module doc)."""
        table = _utc(_as_table(labels, "label"), EVENT_TS, "labels")
        seen = set(table.column_names)
        names = [*seen, *(f for spec in views for f in spec.features)]
        if any(name.startswith("__") for name in names):
            raise InvalidInput("label and feature names starting with '__' are reserved")
        for spec in views:
            for key in spec.keys:
                if key not in seen or key == EVENT_TS:
                    raise InvalidInput(f"labels lack entity key {key!r} of view {spec.name!r}")
            for feature in spec.features:
                if feature in seen:
                    raise InvalidInput(
                        f"feature {feature!r} of {spec.name!r} clashes with a column"
                    )
                seen.add(_check_name(feature, "feature"))
        table = table.append_column("__row", pa.array(range(table.num_rows), pa.int64()))
        own = con is None
        con = con or self.connect()
        try:
            con.register("__labels", table)
            sql = self._sql(table.column_names, views, guard_created, con)
            result = con.sql(sql).to_arrow_table()
        finally:
            con.unregister("__labels")
            if own:
                con.close()
        # Back into label order: __row is a permutation of 0..n-1, so its inverse is one
        # scatter (cheaper than a sort in DuckDB).
        rows = result.column("__row").to_numpy()
        order = np.empty_like(rows)
        order[rows] = np.arange(len(rows))
        return result.take(order).drop_columns(["__row"])

    def _view_stage(
        self, i: int, spec: ViewSpec, guard: bool, prev: str, con: duckdb.DuckDBPyConnection
    ) -> list[str]:
        """CTEs ending in ``s{i}``: the rows of ``prev`` with this view's features added."""
        files = [str(p) for p in self.view_files(spec.name)]
        scan = f"read_parquet({files!r}, union_by_name=true, file_row_number=true)"
        columns = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()}
        for col in (*spec.keys, EVENT_TS, CREATED_TS, *spec.features):
            if col not in columns:
                raise InvalidInput(f"feature view {spec.name!r} has no column {col!r}")
        keys = [_q(k) for k in spec.keys]
        feats = [_q(f) for f in spec.features]
        on = " AND ".join(f"{{0}}.{k} = f.{k}" for k in keys)
        ts = f"a.{EVENT_TS}"
        ttl = ""
        if spec.ttl is not None:
            ttl = f" - to_microseconds({int(spec.ttl / timedelta(microseconds=1))})"
        # Late labels may fall back to any older visible row, but one older than the TTL
        # would be served as NULL anyway: the range join below skips those rows.
        lowest = f"{ts}{ttl}" if ttl else "NULL"
        late = f"a.__c > {ts}" if guard else "FALSE"
        value = f"struct_pack({', '.join(f'{f} := f.{f}' for f in feats)}, __ets := f.{EVENT_TS})"
        # Rank among rows of one event time: latest created, then last written (file
        # index in write order, row in file).
        rank = f"(f.{EVENT_TS}, f.{CREATED_TS}, f.__s)"
        visible = f" AND f.{CREATED_TS} <= x.__t" if guard else ""
        candidates = f"""x{i} x JOIN f{i} f ON {on.format("x")} AND f.{EVENT_TS} <= x.__hi
      AND (x.__lo IS NULL OR f.{EVENT_TS} >= x.__lo)"""
        winner = "CASE WHEN z.__row IS NULL THEN a.{0} ELSE z.__val.{1} END"
        fresh = f"{winner.format('__e', '__ets')} >= {ts}{ttl}" if ttl else "TRUE"
        values = [f"CASE WHEN {fresh} THEN {winner.format(f, f)} END AS {f}" for f in feats]
        return [
            f"""f{i} AS NOT MATERIALIZED (
  SELECT {", ".join(keys)}, {EVENT_TS}, {CREATED_TS}, {", ".join(feats)},
    (file_index::BIGINT << 40) + file_row_number AS __s
  FROM {scan}
)""",
            # Step 1: per label, the row with the entity's latest event_ts <= t (ASOF join).
            f"""a{i} AS (
  SELECT l.*, f.{EVENT_TS} AS __e, f.{CREATED_TS} AS __c, f.__s AS __s,
    {", ".join(f"f.{f}" for f in feats)}
  FROM {prev} l ASOF LEFT JOIN f{i} f ON {on.format("l")} AND f.{EVENT_TS} <= l.{EVENT_TS}
)""",
            # Step 2: labels whose step-1 row may not be the answer: another row shares its
            # (entity, e*) (a tie), or, guarded, it landed after t (a late backfill).
            f"""t{i} AS (
  SELECT DISTINCT a.__row FROM a{i} a JOIN f{i} f ON {on.format("a")} AND f.{EVENT_TS} = a.__e
  WHERE f.__s <> a.__s
)""",
            f"""x{i} AS (
  SELECT a.__row, {", ".join(f"a.{k}" for k in keys)}, {ts} AS __t,
    CASE WHEN {late} THEN {lowest} ELSE a.__e END AS __lo, a.__e AS __hi
  FROM a{i} a WHERE {late} OR a.__row IN (SELECT __row FROM t{i})
)""",
            # Step 3, for those only: the best row visible at t by the full rank, among
            # the rows with event time in [__lo, e*] (nothing lies in (e*, t]).
            f"""z{i} AS (
  SELECT x.__row, v.__val FROM x{i} x LEFT JOIN (
    SELECT x.__row, arg_max({value}, {rank}) AS __val
    FROM {candidates}{visible}
    GROUP BY x.__row
  ) v ON v.__row = x.__row
)""",
            f"""s{i} AS (
  SELECT a.* EXCLUDE (__e, __c, __s, {", ".join(feats)}), {", ".join(values)}
  FROM a{i} a LEFT JOIN z{i} z ON z.__row = a.__row
)""",
        ]

    def _sql(
        self,
        label_columns: list[str],
        views: Sequence[ViewSpec],
        guard: bool,
        con: duckdb.DuckDBPyConnection,
    ) -> str:
        ctes: list[str] = []
        prev = "__labels"
        for i, spec in enumerate(views):
            ctes += self._view_stage(i, spec, guard, prev, con)
            prev = f"s{i}"
        select = [_q(c) for c in label_columns] + [_q(f) for v in views for f in v.features]
        with_ = "WITH " + ",\n".join(ctes) if ctes else ""
        return f"{with_}\nSELECT {', '.join(select)}\nFROM {prev}"
