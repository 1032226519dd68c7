"""Alembic environment of the ledger schema.

Run programmatically by :func:`crossmargin.ledger.upgrade_database`, which passes an open
connection in ``config.attributes["connection"]``; from the command line
(``alembic -c src/crossmargin/ledger/migrations/alembic.ini upgrade head``) the URL comes from
:func:`crossmargin.ledger.database_url` (``CROSSMARGIN_DATABASE_URL`` or ``./crossmargin.db``).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from crossmargin.ledger.database import WRITE_OPTION, create_ledger_engine
from crossmargin.ledger.models import Base

#: Key of the PostgreSQL advisory lock that serialises concurrent migrations.
MIGRATION_LOCK_KEY = 727_011


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    engine = create_ledger_engine(context.config.get_main_option("sqlalchemy.url") or None)
    try:
        with engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
            run_migrations(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("the ledger migrations run online only (they need a database connection)")
run_online()
