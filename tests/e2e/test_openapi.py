"""The OpenAPI document is valid and complete: every operation declares its
response schema, its security (scope) and an example for its request body;
every error is problem+json; the docs pages load only vendored files."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

PUBLIC = {"/healthz", "/readyz", "/metrics", "/"}
# Responses that are not JSON documents: raw image bytes, an HTML report.
NON_JSON = {
    ("get", "/api/v1/assets/{asset_id}/images/{index}"),
    ("get", "/api/v1/models/{name}/drift/report"),
}


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from agora.api.app import create_app
    from agora.config import Settings
    from agora.runtime import Platform

    platform = Platform.build(Settings.load(data_dir=tmp_path_factory.mktemp("oa") / "agora"))
    try:
        with TestClient(create_app(platform, start_background=False)) as client:
            doc: dict[str, Any] = client.get("/openapi.json").json()
    finally:
        platform.close()
    return doc


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in {"get", "put", "post", "patch", "delete"}
    ]


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = document["components"]["schemas"][name]
    return schema


def test_document_validates(document: dict[str, Any]) -> None:
    validate(document)
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_every_operation_has_a_response_schema(document: dict[str, Any]) -> None:
    missing = []
    for method, path, op in _operations(document):
        for status, response in op["responses"].items():
            if not status.startswith("2") or status == "204":
                continue
            content = response.get("content", {})
            schemas = [c.get("schema") for c in content.values()]
            if not schemas or not all(schemas):
                missing.append(f"{method.upper()} {path} {status}")
            elif (method, path) not in NON_JSON and path not in PUBLIC:
                schema = _resolve(document, content.get("application/json", {}).get("schema", {}))
                if not schema.get("properties") and schema.get("type") != "array":
                    missing.append(f"{method.upper()} {path} {status}: untyped object")
    assert not missing, "operations without a typed response:\n" + "\n".join(missing)


def test_every_operation_declares_security_and_scope(document: dict[str, Any]) -> None:
    missing = []
    for method, path, op in _operations(document):
        if path in PUBLIC:
            assert not op.get("security"), f"{path} is public"
            continue
        roles = [r for req in op.get("security", []) for rs in req.values() for r in rs]
        if not roles:
            missing.append(f"{method.upper()} {path}")
    assert not missing, "operations without a scope:\n" + "\n".join(missing)


def test_every_request_body_has_an_example(document: dict[str, Any]) -> None:
    missing = []
    for method, path, op in _operations(document):
        body = op.get("requestBody")
        if not body:
            continue
        for media, spec in body["content"].items():
            schema = _resolve(document, spec.get("schema", {}))
            has = "example" in spec or "examples" in spec or "examples" in schema
            if not has and media == "multipart/form-data":
                props = schema.get("properties", {})
                has = any("examples" in p or "example" in p for p in props.values())
            if not has:
                missing.append(f"{method.upper()} {path} ({media})")
    assert not missing, "request bodies without an example:\n" + "\n".join(missing)


def test_errors_are_problem_json(document: dict[str, Any]) -> None:
    for method, path, op in _operations(document):
        if path in PUBLIC:
            continue
        for status, response in op["responses"].items():
            if status == "default" or status[0] in "45":
                assert set(response.get("content", {})) <= {"application/problem+json"}, (
                    method,
                    path,
                    status,
                )
        assert "401" in op["responses"] and "default" in op["responses"], (method, path)


def test_docs_pages_load_only_vendored_files(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assert '<html lang="en">' in html, page
        urls = re.findall(r"""(?:src|href)=["']?([^"' >]+)""", html)
        assert urls, page
        for url in urls:
            # The vendored front-end, or Agora's own fixes to it (static/docs).
            assert url.startswith(("/static/vendor/", "/static/docs/", "/openapi")), url
            if url.startswith("/static/"):
                assert client.get(url).status_code == 200, url
        assert "cdn" not in html and "googleapis" not in html
