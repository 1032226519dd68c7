"""Refusing new risk while an asset's oracle is unavailable (DESIGN.md §8 "Oracles fail safe").

When the oracle of an asset is ``unavailable`` (:class:`~crossmargin.service.oracle_state.
OracleBook`), the service keeps margining on the last good price but refuses, with a 503
``oracle_unavailable`` whose body carries each asset's reason:

* a **trade** or an **order check** that increases the account's position in an instrument on
  that asset (underlying, or a coin settlement currency) — its absolute size grows or its sign
  flips; a trade that only reduces the position passes;
* a **withdrawal** from an account that holds the asset — a position on it or a balance of it.

Deposits always pass. Each check costs nothing while every oracle is available (no ledger read).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from crossmargin.core.numeric import STABLECOINS
from crossmargin.instruments import Instrument, parse_instrument
from crossmargin.ledger.state import AccountHoldings
from crossmargin.service.context import ServiceContext
from crossmargin.service.errors import ServiceError
from crossmargin.service.oracle_state import OracleView

__all__ = [
    "check_trade",
    "check_withdrawal",
    "increases_position",
    "instrument_assets",
    "oracle_unavailable_body",
    "unavailable_views",
]


def instrument_assets(instrument: Instrument) -> set[str]:
    """The assets whose price an instrument's risk depends on: its underlying and its settlement
    currency when that is a coin (not a stablecoin)."""
    assets = {instrument.underlying}
    if instrument.settlement_currency not in STABLECOINS:
        assets.add(instrument.settlement_currency)
    return assets


def increases_position(before: Decimal, change: Decimal) -> bool:
    """Whether adding ``change`` to a position of ``before`` (native size, + long) increases
    risk: the absolute size grows or the sign flips. Reducing toward zero does not."""
    after = before + change
    return abs(after) > abs(before) or before * after < 0


def unavailable_views(context: ServiceContext, assets: set[str]) -> dict[str, OracleView]:
    """The oracle views of those of ``assets`` whose oracle refuses new risk now."""
    views = context.oracle.views(assets, datetime.now(UTC))
    return {a: v for a, v in views.items() if not v.accepts_new_risk}


def oracle_unavailable_body(operation: str, views: dict[str, OracleView]) -> dict[str, Any]:
    """The 503 body: ``detail`` joins the reasons; ``oracle`` holds each asset's view."""
    return {
        "error": "oracle_unavailable",
        "detail": "; ".join(v.reason for v in views.values()),
        "operation": operation,
        "assets": sorted(views),
        "oracle": {a: v.to_json() for a, v in views.items()},
    }


def _position(holdings: AccountHoldings, instrument: str) -> Decimal:
    for position in holdings.positions:
        if position.instrument == instrument:
            return position.size
    return Decimal(0)


def check_trade(
    context: ServiceContext,
    account_id: int,
    instrument: Instrument,
    size: Decimal,
    operation: str = "trade",
) -> None:
    """Raise a 503 :class:`ServiceError` when a trade of ``size`` (native amount, + buy) of
    ``instrument`` would increase the account's position while an oracle it depends on is
    unavailable. Blocking (reads the ledger only in that case): run on a worker thread."""
    refused = unavailable_views(context, instrument_assets(instrument))
    if not refused:
        return
    before = _position(context.ledger.holdings(account_id), instrument.name)
    if increases_position(before, size):
        raise ServiceError(503, oracle_unavailable_body(operation, refused))


def check_withdrawal(context: ServiceContext, account_id: int) -> None:
    """Raise a 503 :class:`ServiceError` when the account holds (a position on, or a balance of)
    an asset whose oracle is unavailable. Blocking: run on a worker thread."""
    refused = unavailable_views(context, set(context.oracle.assets()))
    if not refused:
        return
    holdings = context.ledger.holdings(account_id)
    held = {c for c, amount in holdings.balances.items() if amount}
    for position in holdings.positions:
        held |= instrument_assets(parse_instrument(position.instrument))
    touched = {a: v for a, v in refused.items() if a in held}
    if touched:
        raise ServiceError(503, oracle_unavailable_body("withdrawal", touched))
