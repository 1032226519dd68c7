"""Where the ledger lives and how it connects: URL resolution, engines, migrations.

* SQLite by default (``./crossmargin.db``), PostgreSQL when ``CROSSMARGIN_DATABASE_URL`` (or an
  explicit URL) says so. ``postgresql://`` and ``postgres://`` URLs use the psycopg 3 driver.
* A new SQLite file is created with mode 0600 (the ledger is not for other users to read).
* SQLite connections turn foreign keys on, use WAL with ``synchronous=FULL`` (a committed entry
  survives a crash) and a 30 s busy timeout; SQLAlchemy, not the ``sqlite3`` module, emits
  ``BEGIN``: ``BEGIN IMMEDIATE`` for writers, so two writers (threads or processes) queue for the
  database's write lock instead of interleaving, and a plain ``BEGIN`` for readers (a consistent
  snapshot under WAL).
* PostgreSQL writers run at READ COMMITTED and serialise on a row lock of ``ledger_head``;
  readers run at REPEATABLE READ, so a multi-table read sees one snapshot.
* The schema is created and upgraded by Alembic (:func:`upgrade_database`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from crossmargin.core.errors import InputError

__all__ = [
    "DATABASE_URL_ENV",
    "DEFAULT_SQLITE_FILE",
    "MIGRATIONS_DIR",
    "WRITE_OPTION",
    "create_ledger_engine",
    "current_revision",
    "database_url",
    "head_revision",
    "redacted_url",
    "upgrade_database",
    "upgrade_engine",
]

#: Environment variable naming the database.
DATABASE_URL_ENV = "CROSSMARGIN_DATABASE_URL"

#: File used when nothing else is configured (relative to the working directory).
DEFAULT_SQLITE_FILE = "crossmargin.db"

#: Directory of the Alembic environment shipped with the package.
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

#: Execution option marking a connection as a writer (SQLite then begins IMMEDIATE).
WRITE_OPTION = "crossmargin_ledger_write"

_SQLITE_BUSY_TIMEOUT_SECONDS = 30.0

#: Alembic keeps its migration context in a process-wide global (``alembic.context``), so two
#: threads must never run migrations at the same time. This lock is the only module state.
_ALEMBIC_LOCK = threading.Lock()


def redacted_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (safe for messages and logs)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def database_url(explicit: str | None = None, *, environ: Mapping[str, str] | None = None) -> str:
    """The ledger's SQLAlchemy URL: ``explicit`` if given, else ``$CROSSMARGIN_DATABASE_URL``,
    else an SQLite file ``crossmargin.db`` in the working directory (as an absolute path).

    ``postgres://`` and ``postgresql://`` become ``postgresql+psycopg://``. Raises
    :class:`InputError` (field ``database_url``, password redacted) for anything that is not an
    SQLite or PostgreSQL URL.
    """
    variables = os.environ if environ is None else environ
    raw = explicit if explicit is not None else variables.get(DATABASE_URL_ENV, "")
    if not raw.strip():
        return f"sqlite:///{Path(DEFAULT_SQLITE_FILE).resolve()}"
    raw = raw.strip()
    try:
        url = make_url(raw)
    except ArgumentError:
        raise InputError("database_url", redacted_url(raw), "is not a database URL") from None
    backend, _, driver = url.drivername.partition("+")
    if backend == "postgres":
        backend = "postgresql"
    if backend == "postgresql" and driver in ("", "psycopg"):
        url = url.set(drivername="postgresql+psycopg")
    elif backend == "sqlite" and driver in ("", "pysqlite"):
        if url.database in (None, "", ":memory:") or "mode=memory" in str(url.query):
            raise InputError(
                "database_url",
                redacted_url(raw),
                "in-memory SQLite is not supported (each connection would see its own "
                "database); use a file",
            )
        url = url.set(drivername="sqlite")
    else:
        raise InputError(
            "database_url",
            redacted_url(raw),
            "must be an sqlite:/// or postgresql:// URL (psycopg driver)",
        )
    return url.render_as_string(hide_password=False)


def create_ledger_engine(url: str | None = None) -> Engine:
    """An engine for the ledger database with the connection settings described above."""
    resolved = database_url(url)
    if resolved.startswith("sqlite"):
        _create_private_file(make_url(resolved).database)
        engine = create_engine(resolved, connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_SECONDS})
        event.listen(engine, "connect", _configure_sqlite_connection)
        event.listen(engine, "begin", _begin_sqlite_transaction)
        return engine
    return create_engine(resolved, pool_pre_ping=True)


def _create_private_file(path: str | None) -> None:
    """Create a missing SQLite file readable by its owner only (0600); SQLite gives its WAL and
    shared-memory files the database file's permissions. An existing file is left alone."""
    if not path:
        return
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except (FileExistsError, FileNotFoundError):
        return  # exists already, or its folder does not (SQLite will say so)
    os.close(descriptor)


def _configure_sqlite_connection(dbapi_connection: Any, connection_record: object) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
    finally:
        cursor.close()


def _begin_sqlite_transaction(connection: Any) -> None:
    writer = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest migration revision shipped with this version of the package."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None`` for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_engine(engine: Engine, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` on ``engine`` in one transaction.

    Concurrent upgrades are serialised: across processes by SQLite's write lock or a PostgreSQL
    advisory lock, across threads by a lock around Alembic's global context. A database already
    at the head revision is left alone without running Alembic.
    """
    if revision == "head" and current_revision(engine) == head_revision():
        return
    config = _alembic_config()
    with _ALEMBIC_LOCK, engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def upgrade_database(url: str | None = None, revision: str = "head") -> str:
    """Create or upgrade the ledger schema at ``url`` (see :func:`database_url`) to
    ``revision``; returns the revision the database is at afterwards. Idempotent."""
    engine = create_ledger_engine(url)
    try:
        upgrade_engine(engine, revision)
        current = current_revision(engine)
    finally:
        engine.dispose()
    assert current is not None
    return current
