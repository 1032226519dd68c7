"""The application factory: :func:`create_app` wires the library into a FastAPI app.

``uvicorn --factory crossmargin.service:create_app`` works with no arguments: the database comes
from ``CROSSMARGIN_DATABASE_URL`` (else ``./crossmargin.db``), the admin key from
``CROSSMARGIN_ADMIN_KEY`` (else generated on first start into the 0600 file
``$CROSSMARGIN_SECRETS_DIR/admin-key``, whose path is printed), the enforced margin model from
``CROSSMARGIN_RISK_MODEL`` (default ``pm``), the oracle policy from the ``oracles.toml`` named by
``CROSSMARGIN_ORACLES_CONFIG`` (default: the shipped ``config/oracles.toml``). The key-hashing
secret lives in the same directory (:mod:`crossmargin.service.secrets_dir`).

Everything is opened and loaded when the factory runs (schema migrations, the key table, the
admin key, the start-up market and the daily market history of the shared data set, located once
by :mod:`crossmargin.shared_data`); no request reads a data file. Without the shared data set the
service starts on the built-in market and does not offer the ``var`` model: asking for it answers
422 naming ``model`` (and enforcing it with ``CROSSMARGIN_RISK_MODEL=var`` refuses to start). The
lifespan's shutdown closes the WebSocket streams and the database connections. The service holds
its state for one process: run a single worker (``crossmargin serve`` does).
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from crossmargin.core.errors import InputError
from crossmargin.ledger import Ledger, MarginModelRiskCheck, create_ledger_engine
from crossmargin.margin.base import MarginModel
from crossmargin.margin.registry import HISTORY_MODEL_NAMES, MODEL_NAMES, build_model
from crossmargin.market import MarketSnapshot
from crossmargin.market.history import MarketHistory, load_market_history
from crossmargin.oracles import OracleParameters, load_oracle_parameters
from crossmargin.service import (
    live_desk,
    routes_accounts,
    routes_admin,
    routes_liquidations,
    routes_stream,
)
from crossmargin.service.boundary import TrustBoundary
from crossmargin.service.context import ServiceContext
from crossmargin.service.errors import install_error_handlers
from crossmargin.service.keys import KeyStore, validate_admin_key
from crossmargin.service.limits import FailureLimiter, FailureLimits
from crossmargin.service.log_redaction import install_log_redaction
from crossmargin.service.market_state import MarketState, default_market
from crossmargin.service.oracle_state import OracleBook
from crossmargin.service.secrets_dir import (
    ADMIN_KEY_FILE,
    load_or_create_key_secret,
    secrets_dir,
    write_private_file,
)
from crossmargin.service.stream import MarginStream
from crossmargin.service.trading import load_trading_rules
from crossmargin.service.writer import LedgerWriter
from crossmargin.shared_data import SHARED_DATA_ENV, find_shared_data_dir

__all__ = [
    "ADMIN_KEY_ENV",
    "ORACLES_CONFIG_ENV",
    "RISK_MODEL_ENV",
    "create_app",
    "create_app_from_environment",
]

#: Environment variable holding the admin key.
ADMIN_KEY_ENV = "CROSSMARGIN_ADMIN_KEY"

#: Environment variable naming the margin model the ledger enforces (default ``pm``).
RISK_MODEL_ENV = "CROSSMARGIN_RISK_MODEL"

#: Environment variable naming an ``oracles.toml`` (default: the shipped ``config/oracles.toml``).
ORACLES_CONFIG_ENV = "CROSSMARGIN_ORACLES_CONFIG"


def _announce_admin_key(path: Path) -> None:
    sys.stdout.write(
        f"crossmargin: generated an admin key; it is in {path} (mode 0600, stored only hashed)\n"
    )
    sys.stdout.flush()


def _startup_inputs(
    market: MarketSnapshot | None, history: MarketHistory | None
) -> tuple[MarketSnapshot, MarketHistory | None]:
    """The start-up market and history: those given, else loaded from the shared data set
    (looked for once, here, and only when something is missing)."""
    if market is not None and history is not None:
        return market, history
    data_dir = find_shared_data_dir()
    if history is None and data_dir is not None:
        history = load_market_history(data_dir)
    return (market if market is not None else default_market(data_dir)), history


def _models(history: MarketHistory | None) -> dict[str, MarginModel]:
    """Every model that can be built from what was loaded (``var`` only with a history)."""
    return {
        name: build_model(name, history=history)
        for name in MODEL_NAMES
        if history is not None or name not in HISTORY_MODEL_NAMES
    }


def _check_enforced(risk_model: str, models: Mapping[str, MarginModel]) -> MarginModel:
    enforced = models.get(risk_model)
    if enforced is not None:
        return enforced
    if risk_model in MODEL_NAMES:
        raise InputError(
            RISK_MODEL_ENV,
            risk_model,
            "needs the daily market history of the shared data set, which was not found; set "
            f"{SHARED_DATA_ENV} to the shared data folder",
        )
    raise InputError(RISK_MODEL_ENV, risk_model, f"must be one of {', '.join(MODEL_NAMES)}")


def _keys(url: str, admin_key: str | None, announce: Callable[[Path], None]) -> KeyStore:
    """The key store, with the configured admin key, or a generated one written to the secrets
    directory on first start."""
    directory = secrets_dir()
    keys = KeyStore(create_ledger_engine(url), load_or_create_key_secret(directory))
    try:
        if admin_key:
            keys.set_admin_key(admin_key)
        elif not keys.has_admin_key():
            path = directory / ADMIN_KEY_FILE
            write_private_file(path, keys.create_admin_key() + "\n")
            announce(path)
    except Exception:
        keys.close()
        raise
    return keys


def _context(
    database_url: str | None,
    admin_key: str | None,
    inputs: tuple[MarketSnapshot, MarketHistory | None],
    risk_model: str,
    announce: Callable[[Path], None],
    oracles: OracleParameters,
) -> ServiceContext:
    market, history = inputs
    models = _models(history)
    state = MarketState(market)
    enforced = _check_enforced(risk_model, models)
    trading = load_trading_rules()
    ledger = Ledger(database_url, MarginModelRiskCheck(enforced, state.current))
    try:
        keys = _keys(ledger.url, admin_key, announce)
    except Exception:
        ledger.close()
        raise
    backend = "postgresql" if ledger.url.startswith("postgresql") else "sqlite"
    return ServiceContext(
        ledger,
        keys,
        state,
        MarginStream(),
        models,
        risk_model,
        backend,
        LedgerWriter(ledger),
        trading,
        OracleBook(oracles.policy, oracles.version),
    )


def create_app(
    database_url: str | None = None,
    admin_key: str | None = None,
    market: MarketSnapshot | None = None,
    *,
    risk_model: str | None = None,
    history: MarketHistory | None = None,
    announce: Callable[[Path], None] = _announce_admin_key,
    oracles: OracleParameters | None = None,
) -> FastAPI:
    """Build the service.

    Parameters
    ----------
    database_url:
        SQLAlchemy URL of the ledger (``None``: ``$CROSSMARGIN_DATABASE_URL``, else
        ``./crossmargin.db``). The ledger schema is migrated and the key table created.
    admin_key:
        The admin key (``None``: ``$CROSSMARGIN_ADMIN_KEY``); it replaces any stored one. Without
        either, a stored admin key is kept, or a new one is generated, written to the 0600 file
        ``admin-key`` of the secrets directory, and that file's path passed to ``announce``
        (printed to stdout).
    market:
        The starting market (``None``: :func:`crossmargin.service.market_state.default_market` of
        the shared data directory, if one is found).
    risk_model:
        The margin model the ledger holds withdrawals and trades to (``None``:
        ``$CROSSMARGIN_RISK_MODEL``, else ``"pm"``).
    history:
        The daily market history the ``var`` model draws its scenarios from (``None``: loaded
        here from the shared data set, if one is found; without it ``var`` is not offered).
    announce:
        Receives the path of the file holding a newly generated admin key.
    oracles:
        The oracle parameters whose ``policy`` judges ``POST /oracle/quotes`` (``None``: the
        file named by ``$CROSSMARGIN_ORACLES_CONFIG``, else the shipped ``config/oracles.toml``).

    Returns
    -------
    FastAPI
        The application, wrapped in the trust boundary
        (:class:`~crossmargin.service.boundary.TrustBoundary`).
    """
    admin = admin_key if admin_key is not None else os.environ.get(ADMIN_KEY_ENV) or None
    if admin:
        validate_admin_key(admin)  # before anything is opened or created
    enforced = risk_model or os.environ.get(RISK_MODEL_ENV) or "pm"
    if oracles is None:
        oracles = load_oracle_parameters(os.environ.get(ORACLES_CONFIG_ENV) or None)
    inputs = _startup_inputs(market, history)
    context = _context(database_url, admin, inputs, enforced, announce, oracles)
    install_log_redaction()

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
    app.state.liquidations = routes_liquidations.LiquidationDesk()
    limiter = FailureLimiter(FailureLimits.from_environment())
    app.add_middleware(TrustBoundary, keys=context.keys, limiter=limiter)
    install_error_handlers(app)
    app.include_router(routes_admin.router)
    app.include_router(routes_accounts.router)
    app.include_router(routes_stream.router)
    app.include_router(routes_liquidations.router)
    live_desk.install(app, context)  # the book engine as risk state, the dashboard, the replay
    return app


def create_app_from_environment() -> FastAPI:
    """The service configured from the environment alone (``CROSSMARGIN_DATABASE_URL``,
    ``CROSSMARGIN_ADMIN_KEY``, ``CROSSMARGIN_RISK_MODEL``): the factory ``crossmargin serve``
    hands to uvicorn."""
    return create_app()
