"""The application factory: :func:`create_app` wires the library into a FastAPI app.

``uvicorn --factory crossmargin.service:create_app`` works with no arguments: the database comes
from ``CROSSMARGIN_DATABASE_URL`` (else ``./crossmargin.db``), the admin key from
``CROSSMARGIN_ADMIN_KEY`` (else generated on first start and printed once), the enforced margin
model from ``CROSSMARGIN_RISK_MODEL`` (default ``pm``).

Everything is opened when the factory runs (schema migrations, the key table, the admin key);
the lifespan's shutdown closes the WebSocket streams and the database connections. The service
holds its state for one process: run a single worker (``crossmargin serve`` does).
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from crossmargin.core.errors import InputError
from crossmargin.ledger import Ledger, MarginModelRiskCheck, create_ledger_engine
from crossmargin.margin.registry import MODEL_NAMES, build_model
from crossmargin.market import MarketSnapshot
from crossmargin.service import routes_accounts, routes_admin, routes_stream
from crossmargin.service.context import ServiceContext
from crossmargin.service.errors import install_error_handlers
from crossmargin.service.keys import KeyStore
from crossmargin.service.market_state import MarketState, default_market
from crossmargin.service.stream import MarginStream

__all__ = [
    "ADMIN_KEY_ENV",
    "RISK_MODEL_ENV",
    "TokenRedactingFilter",
    "create_app",
    "create_app_from_environment",
]

#: Environment variable holding the admin key.
ADMIN_KEY_ENV = "CROSSMARGIN_ADMIN_KEY"

#: Environment variable naming the margin model the ledger enforces (default ``pm``).
RISK_MODEL_ENV = "CROSSMARGIN_RISK_MODEL"

_TOKEN_IN_QUERY = re.compile(r"(token=)[^&\s\"']*")


class TokenRedactingFilter(logging.Filter):
    """Replaces ``token=…`` in log lines (uvicorn logs WebSocket paths with their query)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "token=" in message:
            record.msg = _TOKEN_IN_QUERY.sub(r"\1***", message)
            record.args = ()
        return True


def _install_log_redaction() -> None:
    for name in ("uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, TokenRedactingFilter) for f in logger.filters):
            logger.addFilter(TokenRedactingFilter())


def _announce_admin_key(token: str) -> None:
    sys.stdout.write(
        f"crossmargin: generated admin key (shown once; it is stored only hashed): {token}\n"
    )
    sys.stdout.flush()


def _context(
    database_url: str | None,
    admin_key: str | None,
    market: MarketSnapshot | None,
    risk_model: str,
    announce: Callable[[str], None],
) -> ServiceContext:
    models = {name: build_model(name) for name in MODEL_NAMES}
    state = MarketState(market if market is not None else default_market())
    enforced = models.get(risk_model)
    if enforced is None:
        raise InputError(RISK_MODEL_ENV, risk_model, f"must be one of {', '.join(MODEL_NAMES)}")
    ledger = Ledger(database_url, MarginModelRiskCheck(enforced, state.current))
    try:
        keys = KeyStore(create_ledger_engine(ledger.url))
        try:
            if admin_key:
                keys.set_admin_key(admin_key)
            else:
                generated = keys.ensure_admin_key()
                if generated is not None:
                    announce(generated)
        except Exception:
            keys.close()
            raise
    except Exception:
        ledger.close()
        raise
    backend = "postgresql" if ledger.url.startswith("postgresql") else "sqlite"
    return ServiceContext(ledger, keys, state, MarginStream(), models, risk_model, backend)


def create_app(
    database_url: str | None = None,
    admin_key: str | None = None,
    market: MarketSnapshot | None = None,
    *,
    risk_model: str | None = None,
    announce: Callable[[str], None] = _announce_admin_key,
) -> FastAPI:
    """Build the service.

    Parameters
    ----------
    database_url:
        SQLAlchemy URL of the ledger (``None``: ``$CROSSMARGIN_DATABASE_URL``, else
        ``./crossmargin.db``). The ledger schema is migrated and the key table created.
    admin_key:
        The admin key (``None``: ``$CROSSMARGIN_ADMIN_KEY``); it replaces any stored one. Without
        either, a stored admin key is kept, or a new one is generated and passed to ``announce``
        (printed to stdout) — the only time it is shown.
    market:
        The starting market (``None``: :func:`crossmargin.service.market_state.default_market`).
    risk_model:
        The margin model the ledger holds withdrawals and trades to (``None``:
        ``$CROSSMARGIN_RISK_MODEL``, else ``"pm"``).
    announce:
        Receives a newly generated admin key.
    """
    admin = admin_key if admin_key is not None else os.environ.get(ADMIN_KEY_ENV) or None
    enforced = risk_model or os.environ.get(RISK_MODEL_ENV) or "pm"
    context = _context(database_url, admin, market, enforced, announce)
    _install_log_redaction()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            context.close()

    app = FastAPI(
        title="crossmargin",
        summary="Cross-margining risk engine: accounts, margin and a live risk stream.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.service = context
    install_error_handlers(app)
    app.include_router(routes_admin.router)
    app.include_router(routes_accounts.router)
    app.include_router(routes_stream.router)
    return app


def create_app_from_environment() -> FastAPI:
    """The service configured from the environment alone (``CROSSMARGIN_DATABASE_URL``,
    ``CROSSMARGIN_ADMIN_KEY``, ``CROSSMARGIN_RISK_MODEL``): the factory ``crossmargin serve``
    hands to uvicorn."""
    return create_app()
