"""Unit tests of database URL resolution: explicit, environment, default SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossmargin.core.errors import InputError
from crossmargin.ledger import DATABASE_URL_ENV, database_url


def test_the_default_is_crossmargin_db_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert database_url(environ={}) == f"sqlite:///{tmp_path.resolve() / 'crossmargin.db'}"


def test_the_environment_variable_names_the_database() -> None:
    environ = {DATABASE_URL_ENV: "postgresql://ledger:pw@127.0.0.1:5432/books"}
    assert database_url(environ=environ) == "postgresql+psycopg://ledger:pw@127.0.0.1:5432/books"


def test_an_explicit_url_wins_over_the_environment(tmp_path: Path) -> None:
    explicit = f"sqlite:///{tmp_path / 'mine.db'}"
    assert database_url(explicit, environ={DATABASE_URL_ENV: "postgresql://x/y"}) == explicit


def test_postgres_urls_use_psycopg() -> None:
    assert database_url("postgres://u@h/d", environ={}) == "postgresql+psycopg://u@h/d"
    assert database_url("postgresql+psycopg://u@h/d", environ={}).startswith("postgresql+psycopg")


@pytest.mark.parametrize(
    "url",
    [
        "mysql://ledger:s3cret@db/books",
        "postgresql+psycopg2://ledger:s3cret@db/books",
        "sqlite://",
        "sqlite:///:memory:",
        "not a url",
    ],
)
def test_unsupported_urls_are_refused_without_leaking_the_password(url: str) -> None:
    with pytest.raises(InputError) as caught:
        database_url(url, environ={})
    assert caught.value.field == "database_url"
    assert "s3cret" not in str(caught.value)
