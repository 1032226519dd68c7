"""Applying a hypothetical or real trade to a portfolio (netting, entry prices, realised P&L).

This is the float side of the netting rule (what-ifs and risk); the ledger's ``Decimal`` side is
:func:`crossmargin.ledger.netting.net_trade`. ``tests/property/test_netting_agreement.py`` holds
the two to the same sizes, entries and realised P&L.
"""

from __future__ import annotations

import math
from decimal import Decimal

from crossmargin.core.errors import InputError
from crossmargin.core.numeric import to_decimal_nearest
from crossmargin.instruments import Instrument, InstrumentKind
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio.model import Portfolio, Position
from crossmargin.pricing import instrument_arrays, unit_values_usd

__all__ = ["apply_trade"]


def _entry_value(instrument: Instrument, size: float, price: float) -> float:
    """Coin amount (inverse: N/E) or USD cost (linear: q·E) of a delta-one position."""
    return size / price if instrument.is_inverse else size * price


def apply_trade(
    portfolio: Portfolio,
    instrument: Instrument,
    size: float,
    market: MarketSnapshot,
    price: float | None = None,
) -> Portfolio:
    """Return ``portfolio`` after buying (``size`` > 0) or selling ``size`` native units.

    ``price`` is the trade price (USD per coin for delta-one contracts, premium per unit in the
    settlement currency for options); ``None`` trades at the current mark (forward). Netting:
    increasing a futures position averages its entry (harmonically for inverse contracts, whose
    exposure is N/E coin); reducing it realises the P&L of the closed part into the settlement
    currency's collateral balance. Option premiums and spot purchases move cash: buying pays
    size × price in the settlement (quote) currency. A position that nets to zero is removed.
    """
    if not math.isfinite(size) or size == 0.0:
        raise InputError("trade.size", size, "must be a finite, non-zero number")
    mark = market.forward(instrument.underlying, instrument.expiry)
    positions = list(portfolio.positions)
    collateral = dict(portfolio.collateral)
    existing_index = next((i for i, p in enumerate(positions) if p.instrument == instrument), None)
    existing = positions[existing_index] if existing_index is not None else None
    new_size = size + (existing.size if existing else 0.0)
    cash = Decimal(0)
    average: float | None
    if instrument.kind is InstrumentKind.OPTION:
        if price is None:
            arrays = instrument_arrays((instrument,), market)
            price = float(unit_values_usd(arrays)[0] / arrays.settlement_usd[0])
        cash = -to_decimal_nearest(size * price, instrument.settlement_currency, "trade.price")
        average = existing.average_price if existing else None
    else:
        trade_price = mark if price is None else float(price)
        if trade_price <= 0 or not math.isfinite(trade_price):
            raise InputError("trade.price", price, "must be a finite price > 0")
    if instrument.kind is InstrumentKind.SPOT:
        cash = -to_decimal_nearest(size * trade_price, instrument.settlement_currency, "trade")
        average = None
    elif instrument.kind is not InstrumentKind.OPTION:
        old_entry = (existing.average_price or mark) if existing else trade_price
        old_size = existing.size if existing else 0.0
        if old_size == 0.0 or (old_size > 0) == (size > 0):
            total = _entry_value(instrument, old_size, old_entry) + _entry_value(
                instrument, size, trade_price
            )
            average = new_size / total if instrument.is_inverse else total / new_size
        else:
            closed = -size if abs(size) <= abs(old_size) else old_size
            if instrument.is_inverse:
                realised = closed * (1.0 / old_entry - 1.0 / trade_price)
            else:
                realised = closed * (trade_price - old_entry)
            cash = to_decimal_nearest(realised, instrument.settlement_currency, "trade.pnl")
            average = old_entry if abs(size) <= abs(old_size) else trade_price
    if cash != 0:
        currency = instrument.settlement_currency
        collateral[currency] = collateral.get(currency, Decimal(0)) + cash
    if existing_index is not None:
        del positions[existing_index]
    if new_size != 0.0:
        positions.append(Position(instrument, new_size, average))
    return Portfolio(tuple(positions), collateral)
