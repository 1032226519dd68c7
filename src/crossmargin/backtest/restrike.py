"""A portfolio carried back to a historical moment: same moneyness, same time to expiry, same USD
exposure.

The example books are written at one market (2024-03-11, BTC 72,000 USD). Held as-is in March 2020
(BTC 5,000 USD) a 60,000 put is a different trade, and its expiry has not been listed yet. So at a
moment t with index S_t, each asset's book is re-expressed with f = S_t / S_ref, where S_ref is
the index of the portfolio's own market:

* strikes, and entry prices of futures, perpetuals and spot: × f (same moneyness);
* sizes in coin (options, linear contracts, spot) and coin collateral balances: ÷ f (the same USD
  exposure); inverse futures and perpetuals are sized in USD of face and keep their size;
  stablecoin balances are unchanged;
* expiries: shifted by t − t_ref (the same time to expiry, to the second);
* forwards: each dated (underlying, expiry) keeps the carry rate of the reference market,
  b = ln(F_ref / S_ref) / T_ref, so F = S·e^{b·T} at any later moment (:func:`reference_carry`,
  :func:`with_carry`): a basis written into the book (an explicit forward) stays in it.

A book's value and risk in USD then depend on the moment only through the vol level (and any
basis), so a margin path measures the model, not the price level. Option entry premiums are
dropped (they are reported only, never valued).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from crossmargin.core.errors import InputError
from crossmargin.core.numeric import collateral_to_decimal, decimal_to_float
from crossmargin.instruments import Instrument, InstrumentKind
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio, Position

__all__ = ["reference_carry", "restrike_portfolio", "with_carry"]

_STABLE = frozenset({"USD", "USDC", "USDT"})


def _coin_sized(instrument: Instrument) -> bool:
    delta_one = instrument.kind in (InstrumentKind.FUTURE, InstrumentKind.PERPETUAL)
    return not (delta_one and instrument.is_inverse)


def restrike_portfolio(
    portfolio: Portfolio,
    reference: MarketSnapshot,
    moment: datetime,
    index_usd: Mapping[str, float],
) -> Portfolio:
    """``portfolio`` (written at ``reference``) re-expressed at ``moment`` (module docstring).

    Parameters
    ----------
    portfolio:
        The book as written.
    reference:
        The market it was written at: its valuation time and each asset's index (USD per coin).
    moment:
        The historical instant to carry the book to (timezone-aware).
    index_usd:
        Index at ``moment`` of every underlying and coin collateral currency, USD per coin.

    Returns
    -------
    Portfolio
        Strikes and delta-one entry prices scaled by S_t / S_ref, coin sizes and coin balances by
        S_ref / S_t (balances rounded down to the currency quantum), expiries shifted by
        ``moment − reference.valuation_time``.
    """
    shift = moment - reference.valuation_time

    def factor(asset: str) -> float:
        if asset not in index_usd:
            raise InputError("index_usd", asset, "no index at the backtest moment")
        return float(index_usd[asset]) / reference.index(asset)

    positions = []
    for position in portfolio.positions:
        instrument = position.instrument
        scale = factor(instrument.underlying)
        moved = replace(
            instrument,
            expiry=None if instrument.expiry is None else instrument.expiry + shift,
            strike=None if instrument.strike is None else instrument.strike * scale,
        )
        size = position.size / scale if _coin_sized(instrument) else position.size
        entry = position.average_price
        if entry is not None:
            entry = None if instrument.kind is InstrumentKind.OPTION else entry * scale
        positions.append(Position(moved, size, entry))
    collateral = {
        currency: amount
        if currency in _STABLE
        else collateral_to_decimal(
            decimal_to_float(amount) / factor(currency), currency, f"collateral.{currency}"
        )
        for currency, amount in portfolio.collateral.items()
    }
    return Portfolio(tuple(positions), collateral)


def reference_carry(
    portfolio: Portfolio, reference: MarketSnapshot
) -> dict[tuple[str, datetime], float]:
    """Carry rate of every dated (underlying, expiry) of ``portfolio`` at ``reference``.

    Returns
    -------
    dict
        (underlying, expiry) → b = ln(F / S) / T, per year (continuously compounded), where F is
        the reference forward (explicit, or index·e^{rT}), S the index and T ACT/365 years.
    """
    carry: dict[tuple[str, datetime], float] = {}
    for position in portfolio.positions:
        instrument = position.instrument
        if instrument.expiry is None:
            continue
        key = (instrument.underlying, instrument.expiry)
        forward = reference.forward(instrument.underlying, instrument.expiry)
        t_years = reference.t_years(instrument.expiry)
        carry[key] = math.log(forward / reference.index(instrument.underlying)) / t_years
    return carry


def with_carry(
    market: MarketSnapshot,
    carry: Mapping[tuple[str, datetime], float],
    shift: timedelta,
    rate_annual: float,
) -> MarketSnapshot:
    """``market`` with ``rate_annual`` and an explicit forward S·e^{b·T} for each reference
    (underlying, expiry) of ``carry`` moved by ``shift`` (the book's expiries), USD per coin;
    expiries at or before the valuation time are left out."""
    forwards = {
        (asset, expiry + shift): market.index(asset)
        * math.exp(rate * market.t_years(expiry + shift))
        for (asset, expiry), rate in carry.items()
        if expiry + shift > market.valuation_time
    }
    return MarketSnapshot(
        market.valuation_time, market.index_usd, rate_annual, market.vol_surfaces, forwards
    )
