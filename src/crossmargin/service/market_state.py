"""The service's current market: a versioned, swappable :class:`MarketSnapshot`.

Snapshots are immutable, so the state is one reference: readers (margin requests, the ledger's
risk check on another thread) take whatever snapshot is current; ``POST /market`` swaps in a new
one and bumps the version. The market lives in memory: a restart begins again from the default.

The default market (:func:`default_market`) is the real Deribit BTC option chain of 2024-03-11
(index, an explicit forward and a smile per expiry, valued at 15:17 UTC) when the shared data set
was found at start-up (:func:`crossmargin.service.create_app` locates it once and passes the
directory in), plus ETH at 4,000 USD with a flat 70 % vol; without the data set it is the examples'
market: BTC 72,000 USD at 60 %, ETH 4,000 USD at 70 %, same instant.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from crossmargin.core.errors import InputError
from crossmargin.core.numeric import decimal_to_float
from crossmargin.market import (
    DERIBIT_CHAIN_2024_03_11,
    MarketSnapshot,
    VolSurface,
    load_deribit_chain,
)

__all__ = [
    "BUILTIN_VALUATION_TIME",
    "MarketState",
    "apply_tick",
    "builtin_market",
    "default_market",
]

#: The instant of the built-in markets (the Deribit chain's inferred pricing time).
BUILTIN_VALUATION_TIME = datetime(2024, 3, 11, 15, 17, tzinfo=UTC)

_ETH_INDEX_USD = 4000.0
_ETH_VOL_ANNUAL = 0.70


def builtin_market() -> MarketSnapshot:
    """The examples' market: BTC 72,000 USD (60 % vol), ETH 4,000 USD (70 %), rate 0."""
    return MarketSnapshot(
        BUILTIN_VALUATION_TIME,
        {"BTC": 72000.0, "ETH": _ETH_INDEX_USD},
        0.0,
        {"BTC": VolSurface.flat(0.60), "ETH": VolSurface.flat(_ETH_VOL_ANNUAL)},
    )


def default_market(data_dir: Path | None) -> MarketSnapshot:
    """The service's start-up market.

    Parameters
    ----------
    data_dir:
        The shared data directory, or None when there is none.

    Returns
    -------
    MarketSnapshot
        The Deribit 2024-03-11 BTC chain of ``data_dir`` plus ETH (see the module docstring), or
        :func:`builtin_market` when ``data_dir`` is None or holds no such chain file.
    """
    if data_dir is None:
        return builtin_market()
    try:
        chain = load_deribit_chain(data_dir / DERIBIT_CHAIN_2024_03_11)
    except FileNotFoundError:
        return builtin_market()
    return MarketSnapshot(
        chain.valuation_time,
        {**chain.index_usd, "ETH": _ETH_INDEX_USD},
        chain.rate_annual,
        {**chain.vol_surfaces, "ETH": VolSurface.flat(_ETH_VOL_ANNUAL)},
        chain.forwards_usd,
    )


def apply_tick(market: MarketSnapshot, index_usd: Mapping[str, Decimal]) -> MarketSnapshot:
    """``market`` with new index prices (USD per coin, > 0).

    An asset already priced moves with its explicit forwards (each scaled by new / old index,
    so the basis is kept in relative terms; smiles are by log-moneyness and move along); a new
    asset is added. The new index prices are exactly the given ones.
    """
    if not index_usd:
        raise InputError("tick.index_usd", {}, "must name at least one asset")
    exact: dict[str, float] = {}
    for asset, price in index_usd.items():
        value = decimal_to_float(price)
        if not value > 0.0:
            raise InputError(f"tick.index_usd.{asset}", str(price), "must be a price > 0")
        exact[asset] = value
    moves = {
        asset: exact[asset] / market.index_usd[asset] - 1.0
        for asset in exact
        if asset in market.index_usd
    }
    moved = market.shocked(moves)
    return MarketSnapshot(
        moved.valuation_time,
        {**moved.index_usd, **exact},
        moved.rate_annual,
        moved.vol_surfaces,
        moved.forwards_usd,
    )


class MarketState:
    """The current snapshot and its version (1 for the start-up market, +1 per update)."""

    def __init__(self, market: MarketSnapshot) -> None:
        self._lock = threading.Lock()
        self._market = market
        self._version = 1

    def current(self) -> MarketSnapshot:
        """The current snapshot (for :class:`~crossmargin.ledger.MarginModelRiskCheck`)."""
        return self._market

    def versioned(self) -> tuple[int, MarketSnapshot]:
        """The version and the snapshot, read together."""
        with self._lock:
            return self._version, self._market

    def replace(self, market: MarketSnapshot) -> int:
        """Make ``market`` current; returns its version."""
        with self._lock:
            self._market = market
            self._version += 1
            return self._version

    def tick(self, index_usd: Mapping[str, Decimal]) -> tuple[int, MarketSnapshot]:
        """Apply :func:`apply_tick` to the current snapshot atomically; returns the new version
        and snapshot."""
        with self._lock:
            self._market = apply_tick(self._market, index_usd)
            self._version += 1
            return self._version, self._market
