"""Search interface and result types: hybrid, semantic, visual and similar-item retrieval.

Retrievers produce candidates from the indexes (keyword BM25, text vectors,
image vectors, ConSE vectors); the catalog is the source of truth for what may
be shown: only ``active`` assets of sellers that are not banned are returned,
and the filters (category, price range, seller, stock, tags) are applied
against the catalog rows, never against copies in the indexes.

Every hit carries its fused score, the raw score and rank from each retriever
that found it, and highlights of the matched fields; every result carries the
encoder/index keys (``name@version``) that produced it and, when a retriever
was down, the fallback that was taken (also counted in
``agora_fallbacks_total``).

Callers that need candidates for a later stage (the ranking pipeline) ask for
up to ``MAX_LIMIT`` hits in one page.

Example:
    >>> q = SearchQuery(text="low poly tank", filters=SearchFilters(max_price=10.0), limit=5)
    >>> q.mode, q.filters.max_price
    ('hybrid', 10.0)
    >>> hit = SearchHit(id="a1", score=0.03, scores={"keyword": 7.1}, ranks={"keyword": 1})
    >>> hit.retrievers
    ['keyword']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from agora.errors import InvalidInput

if TYPE_CHECKING:  # importing this module (API schemas, the SDK) stays light
    from PIL import Image

    from agora.search.fusion import Contribution

SearchMode = Literal["hybrid", "keyword", "semantic"]
# Candidate depth limits: a page never reaches past MAX_DEPTH fused candidates.
MAX_LIMIT = 1000
MAX_DEPTH = 2000
MAX_QUERY_CHARS = 1000
# An ``ids`` filter names at most this many assets (a marketplace's own candidates).
MAX_IDS = 1000
MAX_ID_CHARS = 64

# Fallback names, as flagged in results and counted in agora_fallbacks_total{kind}.
FALLBACK_VECTOR_DOWN = "vector_down_keyword_only"
FALLBACK_KEYWORD_DOWN = "keyword_down_vector_only"


@dataclass(frozen=True)
class SearchFilters:
    """Catalog filters. ``tags``: every tag must be on the asset (case-insensitive).
    ``ids``: only these assets (up to ``MAX_IDS``), e.g. a marketplace re-ranking
    its own candidates; they are handed to the indexes as their allow-list.

    Status is not a filter a caller can widen: search only ever returns active
    assets of sellers that are not banned.
    """

    category: str | None = None
    seller_id: str | None = None
    min_price: float | None = None
    max_price: float | None = None
    in_stock: bool | None = None
    tags: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()

    def validate(self) -> None:
        """Raise ``InvalidInput`` for contradictory or out-of-range values."""
        for name in ("min_price", "max_price"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise InvalidInput(f"{name} must be >= 0")
        if (
            self.min_price is not None
            and self.max_price is not None
            and self.min_price > self.max_price
        ):
            raise InvalidInput("min_price must not exceed max_price")
        if len(self.tags) > 20:
            raise InvalidInput("at most 20 tags per filter")
        if len(self.ids) > MAX_IDS:
            raise InvalidInput(f"at most {MAX_IDS} ids per filter")
        if any(not i or len(i) > MAX_ID_CHARS for i in self.ids):
            raise InvalidInput(f"ids must be 1 to {MAX_ID_CHARS} characters")

    def admits(self, asset_id: str) -> bool:
        """Whether the ``ids`` filter lets ``asset_id`` through (always, without one)."""
        return not self.ids or asset_id in self._id_set

    @property
    def _id_set(self) -> frozenset[str]:
        # Cached on the frozen instance: filters are checked per candidate.
        cached: frozenset[str] | None = self.__dict__.get("_ids_cache")
        if cached is None:
            cached = frozenset(self.ids)
            object.__setattr__(self, "_ids_cache", cached)
        return cached

    @property
    def empty(self) -> bool:
        return self == SearchFilters()


@dataclass(frozen=True)
class Page:
    """Offset pagination over the fused ranking (scores are not keyset-stable)."""

    offset: int = 0
    limit: int = 20

    def validate(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
        if self.offset < 0 or self.offset + self.limit > MAX_DEPTH:
            raise InvalidInput(f"offset must be >= 0 and offset + limit <= {MAX_DEPTH}")


@dataclass(frozen=True)
class SearchQuery:
    """A text query. ``mode``: hybrid (keyword + vectors fused), keyword, semantic."""

    text: str
    filters: SearchFilters = field(default_factory=SearchFilters)
    mode: SearchMode = "hybrid"
    offset: int = 0
    limit: int = 20
    # Also search images through their ConSE vectors (text-to-image) in hybrid/semantic.
    include_images: bool = True
    # Correct misspelt words before searching (None: ``SearchSettings.autocorrect``).
    autocorrect: bool | None = None
    # Show each hit's fusion contributions (the API's ``explain``).
    explain: bool = False

    @property
    def page(self) -> Page:
        return Page(self.offset, self.limit)

    def validate(self) -> None:
        """Raise ``InvalidInput`` for an empty, too long or otherwise bad query."""
        if not self.text or not self.text.strip():
            raise InvalidInput("query text must not be empty")
        if len(self.text) > MAX_QUERY_CHARS:
            raise InvalidInput(f"query text exceeds {MAX_QUERY_CHARS} characters")
        if "\x00" in self.text:
            raise InvalidInput("query text must not contain NUL characters")
        self.filters.validate()
        self.page.validate()


@dataclass(frozen=True)
class VisualQuery:
    """Search by picture: an uploaded image, an asset's images, or a text (via ConSE)."""

    image: Image.Image | None = None
    asset_id: str | None = None
    text: str | None = None
    filters: SearchFilters = field(default_factory=SearchFilters)
    offset: int = 0
    limit: int = 20
    # Show each hit's fusion contributions (the API's ``explain``).
    explain: bool = False

    @property
    def page(self) -> Page:
        return Page(self.offset, self.limit)

    def validate(self) -> None:
        given = [x is not None for x in (self.image, self.asset_id, self.text)]
        if sum(given) != 1:
            raise InvalidInput("give exactly one of: an image, an asset_id, a text")
        if self.text is not None:
            SearchQuery(self.text, self.filters, "semantic", self.offset, self.limit).validate()
        self.filters.validate()
        self.page.validate()


@dataclass(frozen=True)
class SearchHit:
    """One result. ``scores``/``ranks``: per retriever (keyword, text, image, conse)."""

    id: str
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    ranks: dict[str, int] = field(default_factory=dict)
    highlights: dict[str, str] = field(default_factory=dict)
    # Catalog fields shown with the hit: title, category, price, seller_id, tags.
    asset: dict[str, Any] = field(default_factory=dict)
    # Retriever -> what it added to ``score`` (they sum to it); None when the
    # hit was not fused by the search service (e.g. built by a caller).
    explain: dict[str, Contribution] | None = None

    @property
    def retrievers(self) -> list[str]:
        return sorted(self.scores)


@dataclass(frozen=True)
class SearchResult:
    """A page of hits and how they were produced.

    ``total``: matching candidates after the catalog filters and the relevance
    floor, within the candidate pool searched so far (a lower bound while the
    indexes may hold more: ``next_offset`` then still points past the page).
    ``models``: retriever -> ``name@version`` of the encoder/index it used.
    ``fallbacks``: fallbacks taken (``vector_down_keyword_only``, ...); empty
    when every retriever answered. ``did_you_mean``: a spelling of the query
    from the catalog's own words, when the query matched nothing as typed.
    ``corrected_query``: the text actually searched when autocorrect changed
    misspelt words (None: the query was searched as typed).
    """

    hits: list[SearchHit]
    total: int
    mode: str
    offset: int
    limit: int
    models: dict[str, str] = field(default_factory=dict)
    fallbacks: list[str] = field(default_factory=list)
    language: str | None = None
    took_ms: float = 0.0
    did_you_mean: str | None = None
    corrected_query: str | None = None

    @property
    def degraded(self) -> bool:
        return bool(self.fallbacks)

    @property
    def next_offset(self) -> int | None:
        end = self.offset + len(self.hits)
        return end if end < self.total else None


@runtime_checkable
class SearchService(Protocol):
    """Retrieval over the catalog's indexes, filtered by the catalog."""

    def search(self, query: SearchQuery) -> SearchResult:
        """Hybrid (or keyword / semantic, per ``query.mode``) text search."""

    def semantic(self, query: SearchQuery) -> SearchResult:
        """Vector-only text search (text embeddings, plus ConSE image vectors)."""

    def visual(self, query: VisualQuery) -> SearchResult:
        """Image-to-image (upload or asset id) or text-to-image (ConSE) search."""

    def similar(
        self,
        asset_id: str,
        *,
        filters: SearchFilters | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> SearchResult:
        """Assets like ``asset_id`` (its text and image vectors), itself excluded."""
