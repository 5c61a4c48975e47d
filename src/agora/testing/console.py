"""Signing a TestClient in to the operator console, for tests and benchmarks.

Example:
    >>> csrf = sign_in(client, platform.keys.create(["admin"]).token)  # doctest: +SKIP
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def sign_in(client: TestClient, token: str) -> str:
    """Sign in through the form as a browser would; returns the session's CSRF token."""
    form = client.get("/console/sign-in")
    pre = CSRF.search(form.text)
    if form.status_code != 200 or pre is None:
        raise AssertionError(f"no sign-in form: {form.status_code}")
    r = client.post(
        "/console/sign-in",
        data={"api_key": token, "csrf": pre.group(1), "next": "/console/"},
        follow_redirects=False,
    )
    if r.status_code != 303 or r.headers["location"] != "/console/":
        raise AssertionError(f"sign-in refused: {r.status_code} {r.text[:300]}")
    page = client.get("/console/")
    found = CSRF.search(page.text)
    if page.status_code != 200 or found is None:
        raise AssertionError(f"no session after sign-in: {page.status_code}")
    return found.group(1)
