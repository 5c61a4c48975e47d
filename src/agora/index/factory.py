"""Open an index by settings: embedded files when the URL is empty, PostgreSQL otherwise.

Example:
    >>> import tempfile
    >>> from agora.config import Settings
    >>> settings = Settings(data_dir=tempfile.mkdtemp())
    >>> index = open_vector_index(settings, "assets")
    >>> type(index).__name__, len(index)
    ('HnswIndex', 0)
    >>> index.close()
"""

from __future__ import annotations

from pathlib import Path

from agora.config import Settings
from agora.errors import InvalidInput
from agora.index.base import KeywordIndex, VectorIndex
from agora.index.vectors import validate_name

_POSTGRES = ("postgresql://", "postgres://", "postgresql+")


def index_root(settings: Settings) -> Path:
    """Where embedded indexes live: ``<data_dir>/index``."""
    return settings.data_dir.absolute() / "index"


def open_vector_index(settings: Settings, name: str) -> VectorIndex:
    """The vector index ``name``: usearch HNSW under ``data_dir/index/vector/<name>``
    when ``search.vector_url`` is empty, pgvector when it is a PostgreSQL URL."""
    validate_name(name)
    url = settings.search.vector_url
    if not url:
        from agora.index.hnsw import HnswIndex

        return HnswIndex(index_root(settings) / "vector" / name, name)
    if url.startswith(_POSTGRES):
        from agora.index.pg_vector import PgVectorIndex

        return PgVectorIndex(url, name)
    raise InvalidInput(f"unsupported search.vector_url {url!r}: use '' or postgresql://")


def open_keyword_index(settings: Settings, name: str) -> KeywordIndex:
    """The keyword index ``name``: bm25s under ``data_dir/index/keyword/<name>`` when
    ``search.keyword_url`` is empty, PostgreSQL full-text when it is a PostgreSQL URL."""
    validate_name(name)
    url = settings.search.keyword_url
    if not url:
        from agora.index.bm25 import Bm25Index

        analyser = settings.search.keyword_analyser
        return Bm25Index(index_root(settings) / "keyword" / name, name, analyser=analyser)
    if url.startswith(_POSTGRES):
        from agora.index.pg_fulltext import PgFullTextIndex

        return PgFullTextIndex(url, name, analyser=settings.search.keyword_analyser)
    raise InvalidInput(f"unsupported search.keyword_url {url!r}: use '' or postgresql://")
