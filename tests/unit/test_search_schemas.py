"""The search and ranking API schemas agree with the capabilities they front."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from pydantic import ValidationError

from agora.api.routers.search import filters_of
from agora.api.schemas import ranking as ranking_schemas
from agora.api.schemas.search import SearchFilterBody, SearchParams, SearchRequest
from agora.ranking import service as ranking_service
from agora.search.base import SearchFilters


def test_ranking_limits_mirror_the_service():
    assert ranking_schemas.MAX_N == ranking_service.MAX_N
    assert ranking_schemas.MAX_QUERY_CHARS == ranking_service.MAX_QUERY_CHARS


def test_every_capability_filter_is_a_request_field():
    fields = {f.name for f in dataclasses.fields(SearchFilters)}
    assert fields == set(SearchFilterBody.model_fields)
    body = SearchFilterBody(category="vehicles", tags=["2d"], ids=["a", "b", "a"])
    assert filters_of(body) == SearchFilters(category="vehicles", tags=("2d",), ids=("a", "b"))


def test_get_parameters_split_commas_and_share_the_body_rules():
    params = SearchParams.model_validate({"q": "tank", "ids": ["a,b", "c"], "tags": "x, y"})
    assert params.ids == ["a", "b", "c"] and params.tags == ["x", "y"]
    for bad in ({"min_price": 5, "max_price": 1}, {"ids": ["a"] * 1001}, {"limit": 0}):
        with pytest.raises(ValidationError):
            SearchParams.model_validate({"q": "tank", **bad})
        with pytest.raises(ValidationError):
            filters = {k: v for k, v in bad.items() if k != "limit"}
            page = {k: v for k, v in bad.items() if k == "limit"}
            SearchRequest.model_validate({"q": "tank", "filters": filters, **page})


def test_schema_modules_import_light():
    # The Python SDK imports these modules: no web framework, no image or array library.
    code = (
        "import sys, agora.api.schemas.search, agora.api.schemas.ranking; "
        "print(sorted(m for m in ('fastapi', 'PIL', 'numpy', 'sqlalchemy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_documented_example_is_a_valid_request():
    from agora.api.schemas import search

    models = [
        search.SearchFilterBody,
        search.SearchParams,
        search.SearchRequest,
        search.SemanticSearchParams,
        search.SemanticSearchRequest,
        search.SimilarParams,
        search.VisualSearchParams,
        search.VisualSearchRequest,
        ranking_schemas.FeedParams,
        ranking_schemas.RankedSearchParams,
    ]
    for model in models:
        examples = model.model_json_schema()["examples"]
        assert examples, model
        for example in examples:
            model.model_validate(example)
