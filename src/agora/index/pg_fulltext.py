"""Server keyword index: PostgreSQL full-text search, one table per named index.

Each document's ``tsvector`` weights title A, description B, tags C (other
fields D), built with the text search configuration of its language
(``english``, ``german``, ... or ``simple``). A GIN index serves
``websearch_to_tsquery`` (quotes, ``OR``, ``-word`` as users type them),
ranked by ``ts_rank_cd`` (cover density); ``ts_headline`` marks matches.
Works on any PostgreSQL (no extension needed).

The ``product`` analyser (``agora.index.analysis``) rewrites document and
query text with ``agora.index.normalise`` before PostgreSQL parses it. The
analyser's version is recorded per index in ``agora_kw_analysers``; an index
written with another one is re-analysed from its stored fields when opened.

Example:
    >>> index = PgFullTextIndex("postgresql://postgres@127.0.0.1/agora", "assets")  # doctest: +SKIP
    >>> index.search("red car", 10)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from typing import Any

from agora.errors import InvalidInput
from agora.index.analysis import (
    ANALYSER_VERSIONS,
    LEGACY_VERSION,
    AnalyserName,
    language_code,
)
from agora.index.base import KeywordDoc, KeywordHit
from agora.index.normalise import normalise_product_text
from agora.index.vectors import validate_name
from agora.storage.database import make_engine, raw_cursor

# ISO 639-1 -> PostgreSQL text search configuration shipped with every server.
CONFIGS = {
    "en": "english", "de": "german", "fr": "french", "es": "spanish", "it": "italian",
    "pt": "portuguese", "nl": "dutch", "sv": "swedish", "no": "norwegian", "da": "danish",
    "ru": "russian", "tr": "turkish", "fi": "finnish", "hu": "hungarian", "ro": "romanian",
}  # fmt: skip
FIELD_WEIGHTS = {"title": "A", "description": "B", "tags": "C"}
# ts_rank_cd weights in {D, C, B, A} order: title counts most, then description, tags.
RANK_WEIGHTS = "{0.1, 0.3, 0.5, 1.0}"
HEADLINE = "StartSel=<mark>, StopSel=</mark>, HighlightAll=true"
VERSIONS_TABLE = "agora_kw_analysers"
log = logging.getLogger(__name__)


def config_for(language: str | None) -> str:
    return CONFIGS.get(language_code(language), "simple")


class PgFullTextIndex:
    """PostgreSQL full-text keyword index over string ids."""

    def __init__(
        self, url: str, name: str, *, pool_size: int = 4, analyser: AnalyserName = "standard"
    ) -> None:
        self.name = validate_name(name)
        self.table = f"agora_kw_{self.name}"
        self.analyser = ANALYSER_VERSIONS[analyser]
        self._product = analyser == "product"
        self._engine = make_engine(url, pool_size=pool_size)
        with self._cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.table,))
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} (id text PRIMARY KEY, "
                "config regconfig NOT NULL, fields jsonb NOT NULL, tsv tsvector NOT NULL)"
            )
            cur.execute(
                f"CREATE INDEX IF NOT EXISTS {self.table}_tsv ON {self.table} USING gin (tsv)"
            )
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {VERSIONS_TABLE} "
                "(name text PRIMARY KEY, analyser text NOT NULL)"
            )
            cur.execute(f"SELECT analyser FROM {VERSIONS_TABLE} WHERE name = %s", (self.name,))
            row = cur.fetchone()
            cur.execute(f"SELECT EXISTS (SELECT 1 FROM {self.table})")
            exists = cur.fetchone()
            recorded = row[0] if row else (LEGACY_VERSION if exists and exists[0] else None)
        self.reanalysed = 0 if recorded in (None, self.analyser) else self._reanalyse(recorded)
        with self._cursor() as cur:
            cur.execute(
                f"INSERT INTO {VERSIONS_TABLE} (name, analyser) VALUES (%s, %s) "
                "ON CONFLICT (name) DO UPDATE SET analyser = EXCLUDED.analyser",
                (self.name, self.analyser),
            )

    def _reanalyse(self, recorded: str, batch: int = 2000) -> int:
        """Rewrite every row's tsvector with this analyser; how many rows."""
        log.warning(
            "keyword index %s was analysed with %s, this process uses %s: re-analysing it",
            self.name,
            recorded,
            self.analyser,
        )
        languages = {config: code for code, config in CONFIGS.items()}
        last, count = "", 0
        while True:
            with self._cursor() as cur:
                cur.execute(
                    f"SELECT id, config::text, fields FROM {self.table} "
                    "WHERE id > %s ORDER BY id LIMIT %s",
                    (last, batch),
                )
                rows = cur.fetchall()
            if not rows:
                return count
            last = rows[-1][0]
            fields = [f if isinstance(f, dict) else json.loads(f) for _, _, f in rows]
            self.add(
                [
                    KeywordDoc(i, {k: str(v) for k, v in doc.items()}, languages.get(cfg))
                    for (i, cfg, _), doc in zip(rows, fields, strict=True)
                ]
            )
            count += len(rows)

    def _analysed(self, text: str) -> str:
        """The text PostgreSQL parses: normalised for the product analyser."""
        return normalise_product_text(text) if self._product else text

    def __len__(self) -> int:
        with self._cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {self.table}")
            row = cur.fetchone()
        return int(row[0]) if row else 0

    def add(self, docs: Sequence[KeywordDoc]) -> None:
        """Insert or replace documents."""
        rows = []
        for doc in docs:
            if not isinstance(doc.id, str) or not doc.id:
                raise InvalidInput("document ids must be non-empty strings")
            if not all(isinstance(v, str) for v in doc.fields.values()):
                raise InvalidInput(f"fields of document {doc.id!r} must be strings")
            fields = {f: v.replace("\x00", "") for f, v in doc.fields.items()}
            analysed = {f: self._analysed(v) for f, v in fields.items()}
            rows.append(
                (doc.id, config_for(doc.language), json.dumps(fields), json.dumps(analysed))
            )
        if len({r[0] for r in rows}) != len(rows):
            raise InvalidInput("duplicate ids in one batch")
        if not rows:
            return
        weighted = " || ".join(
            f"setweight(to_tsvector(%(cfg)s::regconfig, "
            f"coalesce(%(a)s::jsonb->>'{field}', '')), '{w}')"
            for field, w in FIELD_WEIGHTS.items()
        )
        other = (
            "setweight(to_tsvector(%(cfg)s::regconfig, coalesce((SELECT string_agg(value, ' ') "
            "FROM jsonb_each_text(%(a)s::jsonb) "
            "WHERE key NOT IN ('title', 'description', 'tags')), '')), 'D')"
        )
        with self._cursor() as cur:
            cur.executemany(
                f"INSERT INTO {self.table} (id, config, fields, tsv) "
                f"VALUES (%(id)s, %(cfg)s::regconfig, %(f)s::jsonb, {weighted} || {other}) "
                "ON CONFLICT (id) DO UPDATE SET config = EXCLUDED.config, "
                "fields = EXCLUDED.fields, tsv = EXCLUDED.tsv",
                [{"id": i, "cfg": c, "f": f, "a": a} for i, c, f, a in rows],
            )

    def delete(self, ids: Sequence[str]) -> None:
        """Remove ids; unknown ids are ignored."""
        ids = [i for i in ids if isinstance(i, str)]
        if ids:
            with self._cursor() as cur:
                cur.execute(f"DELETE FROM {self.table} WHERE id = ANY(%s)", (ids,))

    def search(
        self,
        query: str,
        k: int,
        *,
        allowed: Collection[str] | None = None,
        language: str | None = None,
    ) -> list[KeywordHit]:
        """Top-``k`` documents by ``ts_rank_cd`` with ``<mark>`` highlights per field."""
        if not isinstance(query, str):
            raise InvalidInput("query must be a string")
        if k < 0:
            raise InvalidInput("k must be >= 0")
        query = self._analysed(query.replace("\x00", ""))
        if not query.strip() or k == 0:
            return []
        params: dict[str, Any] = {"q": query, "cfg": config_for(language), "k": k}
        where = ""
        if allowed is not None:
            params["allowed"] = list(set(allowed))
            where = "AND id = ANY(%(allowed)s)"
        with self._cursor() as cur:
            cur.execute(
                f"WITH q AS (SELECT websearch_to_tsquery(%(cfg)s::regconfig, %(q)s) AS q), "
                f"top AS (SELECT id, config, fields, "
                f"ts_rank_cd('{RANK_WEIGHTS}', tsv, q.q) AS score "
                f"FROM {self.table}, q WHERE tsv @@ q.q {where} "
                "ORDER BY score DESC, id LIMIT %(k)s) "
                "SELECT top.id, top.score, f.key, "
                f"ts_headline(top.config, f.value, q.q, '{HEADLINE}') "
                "FROM top CROSS JOIN q CROSS JOIN LATERAL jsonb_each_text(top.fields) f "
                "ORDER BY top.score DESC, top.id",
                params,
            )
            rows = cur.fetchall()
        hits: dict[str, KeywordHit] = {}
        for id_, score, field, headline in rows:
            hit = hits.setdefault(id_, KeywordHit(id_, float(score), {}))
            if "<mark>" in headline:
                hit.highlights[field] = headline
        return list(hits.values())

    def close(self) -> None:
        """Release pooled connections (every write is already committed)."""
        self._engine.dispose()

    def _cursor(self) -> AbstractContextManager[Any]:
        return raw_cursor(self._engine)
