"""Portfolio valuation: mark values and Greeks per position and per underlying, and equity."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from crossmargin.collateral import CollateralValuation, HaircutSchedule, value_collateral
from crossmargin.core.numeric import to_decimal_nearest
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio.model import Portfolio
from crossmargin.pricing.instrument_arrays import (
    InstrumentArrays,
    instrument_arrays,
    unit_greeks_usd,
    unit_values_usd,
)

__all__ = [
    "PortfolioValuation",
    "PositionValuation",
    "UnderlyingRisk",
    "portfolio_equity_usd",
    "value_portfolio",
]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PositionValuation:
    """Mark value and Greeks of one position (whole size, not per unit).

    Each name ends in its unit (README, "Conventions"). Greeks are against the underlying's
    index S: ``delta_coin`` = dV/dS (coin), ``delta_usd`` = delta_coin × S (USD),
    ``gamma_coin_per_usd`` = d²V/dS² (change of delta_coin per 1 USD move of S),
    ``vega_usd_per_vol`` = dV/dσ (USD per 1.00 of vol), ``theta_usd_per_year`` = dV/dt as
    calendar time passes (USD per year, negative for a long option). ``size`` is the native
    amount (positive long); ``mark_value_settlement`` is in ``settlement_currency``. Futures and
    perpetuals are valued at their unrealised P&L against the entry price.
    """

    instrument: str
    underlying: str
    size: float
    mark_value_settlement: float
    settlement_currency: str
    mark_value_usd: float
    delta_coin: float
    delta_usd: float
    gamma_coin_per_usd: float
    vega_usd_per_vol: float
    theta_usd_per_year: float


@dataclass(frozen=True, slots=True)
class UnderlyingRisk:
    """Mark value and Greeks of all positions on one underlying, summed (units as in
    :class:`PositionValuation`); ``index_usd`` is the underlying's index, USD per coin."""

    underlying: str
    index_usd: float
    mark_value_usd: float
    delta_coin: float
    delta_usd: float
    gamma_coin_per_usd: float
    vega_usd_per_vol: float
    theta_usd_per_year: float


@dataclass(frozen=True, slots=True)
class PortfolioValuation:
    """Everything a risk desk reads before any margin: positions, per-underlying risk, collateral.

    ``equity_usd`` = collateral value after haircuts + the positions' mark value, in USD
    (``Decimal``; position values rounded to the USD quantum, collateral rounded down). Each
    currency's haircut applies to its net holding, balance plus the value of the positions
    settled in it (:class:`~crossmargin.collateral.CollateralLine`), so a trade at the mark moves
    margin, not equity (fees aside).
    """

    positions: tuple[PositionValuation, ...]
    underlyings: tuple[UnderlyingRisk, ...]
    collateral: CollateralValuation
    positions_value_usd: Decimal
    equity_usd: Decimal
    arrays: InstrumentArrays


def value_portfolio(
    portfolio: Portfolio, market: MarketSnapshot, haircuts: HaircutSchedule
) -> PortfolioValuation:
    """Value ``portfolio`` at ``market``: per position, per underlying and the account equity.

    Returns
    -------
    PortfolioValuation
        Mark values in USD (and each position's in its settlement currency), Greeks of whole
        positions named with their units (``delta_coin``, ``gamma_coin_per_usd``, ...), and
        ``equity_usd`` = collateral after haircuts + positions' mark value (``Decimal``, USD).
    """
    arrays = instrument_arrays(
        portfolio.instruments, market, [p.average_price for p in portfolio.positions]
    )
    sizes = np.array([p.size for p in portfolio.positions], dtype=np.float64)
    values = unit_values_usd(arrays) * sizes
    greeks = {
        name: values_per_unit * sizes for name, values_per_unit in unit_greeks_usd(arrays).items()
    }
    rows = tuple(
        PositionValuation(
            instrument=position.instrument.name,
            underlying=position.instrument.underlying,
            size=position.size,
            mark_value_settlement=float(values[i] / arrays.settlement_usd[i]),
            settlement_currency=position.instrument.settlement_currency,
            mark_value_usd=float(values[i]),
            delta_coin=float(greeks["delta"][i]),
            delta_usd=float(greeks["delta"][i] * arrays.index_usd[i]),
            gamma_coin_per_usd=float(greeks["gamma"][i]),
            vega_usd_per_vol=float(greeks["vega"][i]),
            theta_usd_per_year=float(greeks["theta"][i]),
        )
        for i, position in enumerate(portfolio.positions)
    )
    underlyings = tuple(
        _sum_underlying(asset, market.index(asset), [r for r in rows if r.underlying == asset])
        for asset in portfolio.underlyings
    )
    collateral, positions_value = _collateral_and_positions(
        portfolio, market, haircuts, arrays, values
    )
    return PortfolioValuation(
        positions=rows,
        underlyings=underlyings,
        collateral=collateral,
        positions_value_usd=positions_value,
        equity_usd=collateral.value_usd + positions_value,
        arrays=arrays,
    )


def _collateral_and_positions(
    portfolio: Portfolio,
    market: MarketSnapshot,
    haircuts: HaircutSchedule,
    arrays: InstrumentArrays,
    values: FloatArray,
) -> tuple[CollateralValuation, Decimal]:
    """The collateral valuation (each currency's haircut on its balance plus the value of the
    positions settled in it) and the positions' mark value (USD, each rounded to the quantum)
    of ``portfolio``, whose positions' whole mark values in USD are ``values``."""
    by_currency: dict[str, float] = {}
    positions_value = Decimal(0)
    for i, position in enumerate(portfolio.positions):
        currency = position.instrument.settlement_currency
        settlement = float(values[i] / arrays.settlement_usd[i])
        by_currency[currency] = by_currency.get(currency, 0.0) + settlement
        positions_value += to_decimal_nearest(float(values[i]), "USD", position.instrument.name)
    collateral = value_collateral(portfolio.collateral, market, haircuts, by_currency)
    return collateral, positions_value


def portfolio_equity_usd(
    portfolio: Portfolio, market: MarketSnapshot, haircuts: HaircutSchedule
) -> Decimal:
    """``value_portfolio(portfolio, market, haircuts).equity_usd`` — the same number from the
    same code, without the Greeks and rows (USD, ``Decimal``): collateral after haircuts plus
    the positions' mark value. For a check that needs the equity alone."""
    arrays = instrument_arrays(
        portfolio.instruments, market, [p.average_price for p in portfolio.positions]
    )
    sizes = np.array([p.size for p in portfolio.positions], dtype=np.float64)
    collateral, positions_value = _collateral_and_positions(
        portfolio, market, haircuts, arrays, unit_values_usd(arrays) * sizes
    )
    return collateral.value_usd + positions_value


def _sum_underlying(asset: str, index_usd: float, rows: list[PositionValuation]) -> UnderlyingRisk:
    return UnderlyingRisk(
        underlying=asset,
        index_usd=index_usd,
        mark_value_usd=sum(r.mark_value_usd for r in rows),
        delta_coin=sum(r.delta_coin for r in rows),
        delta_usd=sum(r.delta_usd for r in rows),
        gamma_coin_per_usd=sum(r.gamma_coin_per_usd for r in rows),
        vega_usd_per_vol=sum(r.vega_usd_per_vol for r in rows),
        theta_usd_per_year=sum(r.theta_usd_per_year for r in rows),
    )
