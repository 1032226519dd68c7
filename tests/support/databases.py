"""Scratch databases for tests of the ledger and of what is built on it (the service).

SQLite always works (a fresh file per database). PostgreSQL is used when
``CROSSMARGIN_TEST_DATABASE_URL`` names a server: each scratch database is a new schema there
(``search_path`` set through the URL), dropped again by :meth:`ScratchDatabases.close`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from crossmargin.ledger.database import database_url
from support.shared_data import in_ci

__all__ = [
    "POSTGRESQL_SKIP_REASON",
    "TEST_DATABASE_URL_ENV",
    "Backend",
    "ScratchDatabases",
    "postgresql_test_url",
    "require_postgresql",
]

#: Environment variable naming a PostgreSQL server the tests may use.
TEST_DATABASE_URL_ENV = "CROSSMARGIN_TEST_DATABASE_URL"

#: Why a PostgreSQL variant cannot run: no server was named.
POSTGRESQL_SKIP_REASON = (
    f"{TEST_DATABASE_URL_ENV} not set: no PostgreSQL server to run the PostgreSQL variant "
    "against (the SQLite variant of the same test still runs; README 'Ledger and database' "
    "shows how to start one; .ci/run does it)"
)


def require_postgresql() -> str:
    """The test server's URL. Without one the PostgreSQL variant is skipped on a developer's
    machine (its SQLite twin still runs) and fails under CI, where ``.ci/run`` starts a server:
    a CI run can never pass with the PostgreSQL half silently missing."""
    url = postgresql_test_url()
    if url is None:
        if in_ci():
            pytest.fail(f"CI run without PostgreSQL: {POSTGRESQL_SKIP_REASON}")
        pytest.skip(POSTGRESQL_SKIP_REASON)
    return url


class Backend(StrEnum):
    """Database backends the ledger supports."""

    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


def postgresql_test_url(environ: Mapping[str, str] | None = None) -> str | None:
    """The PostgreSQL URL for tests, or ``None`` when ``CROSSMARGIN_TEST_DATABASE_URL`` is
    unset."""
    raw = (os.environ if environ is None else environ).get(TEST_DATABASE_URL_ENV, "").strip()
    return database_url(raw) if raw else None


class ScratchDatabases:
    """Hands out URLs of fresh, empty databases of one backend.

    Parameters
    ----------
    backend:
        :class:`Backend`.
    directory:
        Where SQLite files go.
    postgresql_url:
        Server URL for :attr:`Backend.POSTGRESQL` (see :func:`postgresql_test_url`).
    """

    def __init__(
        self, backend: Backend, directory: Path, postgresql_url: str | None = None
    ) -> None:
        if backend is Backend.POSTGRESQL and postgresql_url is None:
            raise ValueError(POSTGRESQL_SKIP_REASON)
        self.backend = backend
        self.directory = directory
        self._server_url = postgresql_url
        self._schemas: list[str] = []
        self._count = 0

    def new_url(self) -> str:
        """URL of a new, empty database (schema not yet migrated)."""
        self._count += 1
        if self.backend is Backend.SQLITE:
            return f"sqlite:///{self.directory / f'ledger-{self._count}.db'}"
        assert self._server_url is not None
        schema = f"ledger_test_{uuid.uuid4().hex[:16]}"
        self._execute(f'CREATE SCHEMA "{schema}"')
        self._schemas.append(schema)
        url = make_url(self._server_url).update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    def _execute(self, statement: str) -> None:
        assert self._server_url is not None
        engine = create_engine(self._server_url)
        try:
            with engine.begin() as connection:
                connection.execute(text(statement))
        finally:
            engine.dispose()

    def close(self) -> None:
        """Drop every PostgreSQL schema handed out."""
        while self._schemas:
            self._execute(f'DROP SCHEMA IF EXISTS "{self._schemas.pop()}" CASCADE')
