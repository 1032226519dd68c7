"""The practical limit of this stack: a minimal FastAPI endpoint that inserts one row.

``POST /rows`` validates a small pydantic body and inserts one row into ``bench_rows`` in its own
transaction, on an engine from :func:`crossmargin.ledger.create_ledger_engine` (so SQLite runs
with the ledger's WAL, ``synchronous=FULL`` and ``BEGIN IMMEDIATE``); ``GET /health`` answers
like the service's. ``benchmarks/service_load.py`` serves it with uvicorn exactly as it serves
the service (``--factory minimal_insert_app:create_minimal_app``) and reports the service's
throughput as a ratio to it.
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from crossmargin.ledger import create_ledger_engine

__all__ = ["create_minimal_app"]

_METADATA = MetaData()
_ROWS = Table(
    "bench_rows",
    _METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", Integer, nullable=False),
    Column("amount", String(64), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
)


class RowIn(BaseModel):
    """The body: like a deposit's."""

    model_config = ConfigDict(extra="forbid")
    account_id: int
    amount: str
    idempotency_key: str


def create_minimal_app() -> FastAPI:
    """The app, on ``$CROSSMARGIN_DATABASE_URL``."""
    engine = create_ledger_engine(os.environ["CROSSMARGIN_DATABASE_URL"])
    _METADATA.create_all(engine)
    writer = engine.execution_options(crossmargin_ledger_write=True)
    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/rows", status_code=201)
    def post_row(body: RowIn) -> dict[str, int]:
        with writer.begin() as connection:
            row_id = connection.execute(
                insert(_ROWS).values(**body.model_dump())
            ).inserted_primary_key
        assert row_id is not None
        return {"id": int(row_id[0])}

    return app
