"""What every request handler needs: the ledger, the keys, the market, the stream, the models."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from starlette.requests import HTTPConnection

from crossmargin.core.errors import InputError
from crossmargin.ledger import Ledger
from crossmargin.margin.base import MarginModel
from crossmargin.margin.registry import MODEL_NAMES
from crossmargin.service.keys import KeyStore
from crossmargin.service.market_state import MarketState
from crossmargin.service.oracle_state import OracleBook
from crossmargin.service.stream import MarginStream
from crossmargin.service.trading import TradingRules
from crossmargin.service.writer import LedgerWriter
from crossmargin.shared_data import SHARED_DATA_ENV

__all__ = ["LiveDeskSlot", "ServiceContext", "get_context"]


@dataclass
class LiveDeskSlot:
    """Where the live desk (:mod:`crossmargin.service.live_desk`) hangs its risk state once it
    is installed: ``book`` is its :class:`~crossmargin.service.book_state.BookState` (typed
    loosely here so the context does not import the engine)."""

    book: Any = None


@dataclass(frozen=True)
class ServiceContext:
    """The service's collaborators, built once by :func:`crossmargin.service.create_app`.

    ``models`` holds one instance of every margin model the service offers, by name (they are
    stateless and hold what they need, e.g. ``var`` its market history, loaded at start-up);
    ``risk_model`` names the one the ledger enforces on withdrawals and trades.

    Ledger postings go through ``writer`` (group commit: one thread, one transaction per batch;
    :mod:`crossmargin.service.writer`); ``trading`` holds the venue's order rules; ``oracle`` the
    quotes and last good prices of the oracle-driven assets
    (:mod:`crossmargin.service.oracle_state`).
    """

    ledger: Ledger
    keys: KeyStore
    market: MarketState
    stream: MarginStream
    models: Mapping[str, MarginModel]
    risk_model: str
    backend: str
    writer: LedgerWriter
    trading: TradingRules
    oracle: OracleBook
    market_update_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    live: LiveDeskSlot = field(default_factory=LiveDeskSlot, repr=False)

    def model(self, name: str, field: str = "model") -> MarginModel:
        """The model called ``name``; :class:`InputError` naming ``field`` otherwise (a 422),
        which says so when the model exists but this service started without its inputs."""
        found = self.models.get(name)
        if found is not None:
            return found
        if name in MODEL_NAMES:
            raise InputError(
                field,
                name,
                "not offered by this service: it started without the shared data set's daily "
                f"market history (set {SHARED_DATA_ENV} and restart); offered: "
                + ", ".join(self.models),
            )
        raise InputError(field, name, f"must be one of {', '.join(MODEL_NAMES)}")

    def close(self) -> None:
        """End the streams, finish queued writes and release the database connections."""
        self.stream.close()
        self.writer.close()
        self.ledger.close()
        self.keys.close()


def get_context(connection: HTTPConnection) -> ServiceContext:
    """The context of the app serving ``connection`` (a FastAPI dependency)."""
    return cast(ServiceContext, connection.app.state.service)
