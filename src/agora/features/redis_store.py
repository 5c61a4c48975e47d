"""Redis online store: one packed record per (view, entity id), one MGET per candidate set.

Key ``<prefix>:v:<view>:<id>`` holds a binary string laid out by the view's schema
(:class:`_Layout`): float64 ``[fingerprint, ts_1..ts_F, v_1..v_F]`` followed by the
UTF-8 bytes of the view's string features, where a string slot's ``v`` is its byte
length. A read is one ``MGET`` of every (view, id) key it needs: one round trip and
one reply that hiredis parses in C, decoded with one ``numpy.frombuffer`` per view
(a fixed-width record, no per-cell Python for numeric features). The fingerprint is
a hash of the view's schema: a record written under an older schema reads as missing
(defaults are served until the view is re-materialised) instead of being misread.

Each feature keeps its own event time, so TTL expiry and "older writes never win" are
per cell. Writes run a Lua script that merges a batch of patches into the stored
records server-side (a cell is replaced when the stored one is absent or not newer),
all inside one ``MULTI`` so a reader sees a batch entirely or not at all. On Redis
Cluster the keys of one read or write must share a hash slot (use a ``{tag}`` prefix).

URL: ``redis://host:port/db?prefix=agora`` (the prefix isolates deployments and tests).

Example:
    >>> store = RedisOnlineStore("redis://127.0.0.1:6379/0?prefix=doc",
    ...                          standard_registry())  # doctest: +SKIP
    >>> store.read("asset", ["a1"], ["price"]).shape  # doctest: +SKIP
    (1, 1)
"""

from __future__ import annotations

import struct
import time
import zlib
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
import redis

from agora.errors import BackendUnavailable, InvalidInput
from agora.features.base import Feature, FeatureView
from agora.features.registry import FeatureRegistry
from agora.features.rows import JsonRowsMixin, as_ts, check_ids

# KEYS: records of one view. ARGV[1]: the schema fingerprint (8 raw bytes); ARGV[2]:
# one kind per slot of the view ("n" numeric, "s" string); ARGV[3]: the written slots
# (1-based, space-separated); ARGV[3 + i]: the patch for KEYS[i], laid out like a
# record without fingerprint: [ts, v_w1..v_wk] float64 + the strings' bytes.
_MERGE = """
local fp, kinds = ARGV[1], ARGV[2]
local F = #kinds
local slots = {}
for s in string.gmatch(ARGV[3], '%d+') do slots[#slots + 1] = tonumber(s) end
local k = #slots
local zero = string.rep('\\0', 8)
for i = 1, #KEYS do
  local patch = ARGV[3 + i]
  local t = struct.unpack('<d', patch)
  local tb = string.sub(patch, 1, 8)
  local old = redis.call('GET', KEYS[i])
  local ts, vs, strs = {}, {}, {}
  if old and string.sub(old, 1, 8) == fp then
    local pos = 8 * (1 + 2 * F) + 1
    for j = 1, F do
      ts[j] = string.sub(old, 1 + 8 * j, 8 + 8 * j)
      vs[j] = string.sub(old, 1 + 8 * (F + j), 8 + 8 * (F + j))
      strs[j] = ''
      if string.sub(kinds, j, j) == 's' then
        local len = struct.unpack('<d', vs[j])
        strs[j] = string.sub(old, pos, pos + len - 1)
        pos = pos + len
      end
    end
  else
    for j = 1, F do ts[j], vs[j], strs[j] = zero, zero, '' end
  end
  local changed = false
  local pos = 8 * (1 + k) + 1
  for w = 1, k do
    local j = slots[w]
    local v = string.sub(patch, 1 + 8 * w, 8 + 8 * w)
    local s = ''
    if string.sub(kinds, j, j) == 's' then
      local len = struct.unpack('<d', v)
      s = string.sub(patch, pos, pos + len - 1)
      pos = pos + len
    end
    if struct.unpack('<d', ts[j]) <= t then
      ts[j], vs[j], strs[j], changed = tb, v, s, true
    end
  end
  if changed then
    redis.call('SET', KEYS[i], fp .. table.concat(ts) .. table.concat(vs) .. table.concat(strs))
  end
end
return 1
"""
_WRITE_CHUNK = 1000  # keys per script call: bounds how long one call holds Redis


class _Layout:
    """Where each feature of a view lives in its packed record."""

    def __init__(self, view: FeatureView) -> None:
        self.view = view
        self.slot = {f.name: s for s, f in enumerate(view.features)}
        self.width = len(view.features)  # F
        self.kinds = "".join("n" if f.dtype.numeric else "s" for f in view.features)
        self.string_slots = [s for s, k in enumerate(self.kinds) if k == "s"]
        schema = ";".join(f"{f.name}:{f.dtype.value}" for f in view.features)
        # + 1: a record of zeros (the "missing" filler) never matches a real schema.
        self.fingerprint = float(zlib.crc32(f"{view.name}|{schema}".encode()) + 1)
        self.fp_bytes = struct.pack("<d", self.fingerprint)
        self.fixed = 8 * (1 + 2 * self.width)  # bytes before the strings
        self.missing = bytes(self.fixed)

    def decode(self, replies: list[bytes | None]) -> np.ndarray:
        """``n x (1 + 2F)`` float64 of the records' fixed parts (zeros where missing)."""
        n, fixed, missing = len(replies), self.fixed, self.missing
        if n == 0:
            return np.zeros((0, 1 + 2 * self.width))
        if not self.string_slots:
            cells = [r or missing for r in replies]
            buf = b"".join(cells)
            if len(buf) == n * fixed and min(map(len, cells), default=fixed) == fixed:
                return np.frombuffer(buf, dtype="<f8").reshape(n, -1)
        # Strings follow the fixed part; a record too short is from another schema.
        buf = b"".join(r[:fixed] if r is not None and len(r) >= fixed else missing for r in replies)
        return np.frombuffer(buf, dtype="<f8").reshape(n, -1)


def split_prefix(url: str, default: str = "agora") -> tuple[str, str]:
    """``(redis url without prefix, prefix)``."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    prefix = next((v for k, v in query if k == "prefix"), default)
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    return urlunsplit(parts._replace(query=rest)), prefix


class RedisOnlineStore(JsonRowsMixin):
    """Online store on packed Redis strings (see module doc)."""

    def __init__(self, url: str, registry: FeatureRegistry) -> None:
        redis_url, self.prefix = split_prefix(url)
        self.registry = registry
        self.client: Any = redis.Redis.from_url(redis_url)
        self._merge = self.client.register_script(_MERGE)
        self._layouts: dict[str, _Layout] = {}

    def _layout(self, entity: str, feature: str) -> _Layout:
        view = self.registry.view_of(entity, feature)
        layout = self._layouts.get(view.name)
        if layout is None or layout.view is not view:
            layout = self._layouts[view.name] = _Layout(view)
        return layout

    def _keys(self, view: str, ids: Sequence[str]) -> list[str]:
        head = f"{self.prefix}:v:{view}:"
        return [f"{head}{i}" for i in ids]

    def write(
        self,
        entity: str,
        ids: Sequence[str],
        values: Mapping[str, Sequence[Any] | np.ndarray],
        event_ts: float | Sequence[float] | np.ndarray,
    ) -> None:
        ids = check_ids(ids)
        ts = as_ts(event_ts, len(ids))
        resolved = self.registry.resolve(entity, list(values))
        by_view: dict[str, tuple[_Layout, list[Feature]]] = {}
        for feat, _ in resolved:
            if len(values[feat.name]) != len(ids):
                raise InvalidInput(
                    f"feature {feat.name!r} has {len(values[feat.name])} values for {len(ids)} ids"
                )
            layout = self._layout(entity, feat.name)
            by_view.setdefault(layout.view.name, (layout, []))[1].append(feat)
        patches = [self._patches(lay, feats, values, ts) for lay, feats in by_view.values()]
        if not ids:
            return
        # Oldest first: duplicates of one id in this batch settle on the newest.
        order = np.argsort(ts, kind="stable").tolist()
        pipe = self.client.pipeline(transaction=True)
        for (layout, feats), rows in zip(by_view.values(), patches, strict=True):
            head = [
                layout.fp_bytes,
                layout.kinds,
                " ".join(str(layout.slot[f.name] + 1) for f in feats),
            ]
            keys = self._keys(layout.view.name, ids)
            for start in range(0, len(order), _WRITE_CHUNK):
                part = order[start : start + _WRITE_CHUNK]
                self._merge(
                    keys=[keys[r] for r in part], args=head + [rows[r] for r in part], client=pipe
                )
        self._run_call(pipe.execute)

    @staticmethod
    def _patches(
        layout: _Layout,
        feats: list[Feature],
        values: Mapping[str, Sequence[Any] | np.ndarray],
        ts: np.ndarray,
    ) -> list[bytes]:
        """One patch per row: ``[ts, v...]`` float64, then the strings' bytes."""
        fixed = np.empty((len(ts), 1 + len(feats)), dtype="<f8")
        fixed[:, 0] = ts
        strings: list[list[bytes]] = []
        for j, feat in enumerate(feats, start=1):
            column = values[feat.name]
            if feat.dtype.numeric:
                try:
                    fixed[:, j] = np.asarray(column, dtype="<f8")
                except (TypeError, ValueError):
                    raise InvalidInput(f"feature {feat.name!r} needs numbers") from None
            else:
                encoded = [str(v).encode() for v in column]
                fixed[:, j] = [len(e) for e in encoded]
                strings.append(encoded)
        raw, width = fixed.tobytes(), fixed.shape[1] * 8
        rows = [raw[r * width : (r + 1) * width] for r in range(len(ts))]
        if strings:
            rows = [row + b"".join(cells) for row, *cells in zip(rows, *strings, strict=True)]
        return rows

    def read(
        self,
        entity: str,
        ids: Sequence[str],
        features: Sequence[str],
        *,
        now: float | None = None,
    ) -> np.ndarray:
        resolved = self.registry.resolve(entity, features)
        layouts = [self._layout(entity, feat.name) for feat, _ in resolved]
        views = list(dict.fromkeys(lay.view.name for lay in layouts))
        ids = list(ids)
        keys = [k for v in views for k in self._keys(v, ids)]
        replies = self._run_call(lambda: self.client.mget(keys)) if ids else []
        n = len(ids)
        block = {v: replies[b * n : (b + 1) * n] for b, v in enumerate(views)}
        decoded: dict[str, np.ndarray] = {}
        now = time.time() if now is None else now
        numeric = all(f.dtype.numeric for f, _ in resolved)
        out = np.empty((n, len(resolved)), dtype=np.float64 if numeric else object)
        for j, ((feat, ttl), layout) in enumerate(zip(resolved, layouts, strict=True)):
            name = layout.view.name
            if name not in decoded:
                decoded[name] = layout.decode(block[name])
            rec, s, width = decoded[name], layout.slot[feat.name], layout.width
            ts = rec[:, 1 + s]
            stale = (rec[:, 0] != layout.fingerprint) | (ts <= 0.0)
            if ttl is not None:
                stale |= ts < now - ttl
            if feat.dtype.numeric:
                out[:, j] = np.where(stale, feat.fill, rec[:, 1 + width + s])
            else:
                out[:, j] = self._strings(layout, rec, block[name], s, stale, feat.fill)
        return out

    @staticmethod
    def _strings(
        layout: _Layout,
        rec: np.ndarray,
        replies: list[bytes | None],
        slot: int,
        stale: np.ndarray,
        fill: str,
    ) -> list[str]:
        """Values of string slot ``slot`` from the records' tails."""
        lengths = rec[:, [1 + layout.width + s for s in layout.string_slots]].astype(np.int64)
        k = layout.string_slots.index(slot)
        starts = (layout.fixed + lengths[:, :k].sum(axis=1)).tolist()
        ends = (np.asarray(starts) + lengths[:, k]).tolist()
        return [
            fill if bad or r is None else r[a:b].decode()
            for bad, r, a, b in zip(stale.tolist(), replies, starts, ends, strict=True)
        ]

    def delete(self, entity: str, ids: Sequence[str]) -> None:
        self.registry.entity(entity)
        views = [v.name for v in self.registry.views.values() if v.entity.name == entity]
        keys = [k for v in views for k in self._keys(v, ids)]
        if keys:
            self._run_call(lambda: self.client.delete(*keys))

    def close(self) -> None:
        self.client.close()

    @staticmethod
    def _run_call(fn: Any) -> Any:
        try:
            return fn()
        except redis.RedisError as exc:
            raise BackendUnavailable(f"Redis online store: {exc}") from exc
