"""Test helpers: where the PostGIS test server is, and how to fail (not skip) under CI."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tweeling.services.settings import Settings

POSTGRES_ENV = "TWEELING_TEST_POSTGRES_URL"


def postgres_url_or_skip() -> str:
    """The PostGIS test URL; under CI a missing server fails the test instead of skipping it."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        message = f"{POSTGRES_ENV} is not set (start one with scripts/postgres-test-server.sh start)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return url


@contextmanager
def fresh_postgres_schema(url: str) -> Iterator[str]:
    """A URL whose search_path is a new, empty schema (dropped afterwards), PostGIS still visible."""
    import psycopg

    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}%2Cpublic"
    finally:
        with psycopg.connect(url, autocommit=True) as con:
            con.execute(f"DROP SCHEMA {schema} CASCADE")


def bearer(settings: Settings, *roles: str, subject: str | None = None) -> dict[str, str]:
    """An ``Authorization`` header with a service token for ``roles``, signed with the deployment's key
    (what ``tweeling users token`` issues), for tests that act as a given role."""
    from tweeling.governance.roles import Role
    from tweeling.governance.tokens import TokenService
    from tweeling.services.settings import secret_key

    tokens = TokenService(secret_key(settings, "token"))
    name = subject or "test-" + "-".join(roles)
    return {"Authorization": f"Bearer {tokens.issue(name, [Role(role) for role in roles]).token}"}


TEST_TOKEN_KEY = "tweeling-test-token-key-0123456789abcdef0123456789"
"""The token key the test servers started by ``running_server`` sign with (``TWEELING_TOKEN_KEY``)."""


def server_bearer(*roles: str, subject: str | None = None) -> dict[str, str]:
    """An ``Authorization`` header for a test server started by ``running_server``."""
    from tweeling.services.settings import load_settings

    return bearer(load_settings(token_key=TEST_TOKEN_KEY), *roles, subject=subject)
