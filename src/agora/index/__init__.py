"""Vector and keyword indexes: embedded (usearch HNSW, bm25s) and PostgreSQL (pgvector, FTS).

Open them through the factories, which pick the backend from settings:

    >>> import tempfile
    >>> from agora.config import Settings
    >>> index = open_keyword_index(Settings(data_dir=tempfile.mkdtemp()), "assets")
    >>> index.add([KeywordDoc("a1", {"title": "Red sports car"})])
    >>> [h.id for h in index.search("cars", 5)]
    ['a1']
    >>> index.close()
"""

from agora.index.base import KeywordDoc, KeywordHit, KeywordIndex, VectorHit, VectorIndex
from agora.index.bm25 import Bm25Index
from agora.index.factory import index_root, open_keyword_index, open_vector_index
from agora.index.hnsw import HnswIndex
from agora.index.pg_fulltext import PgFullTextIndex
from agora.index.pg_vector import PgVectorIndex

__all__ = [
    "Bm25Index",
    "HnswIndex",
    "KeywordDoc",
    "KeywordHit",
    "KeywordIndex",
    "PgFullTextIndex",
    "PgVectorIndex",
    "VectorHit",
    "VectorIndex",
    "index_root",
    "open_keyword_index",
    "open_vector_index",
]
