"""Positions, portfolios, their valuation and the portfolio file format."""

from crossmargin.portfolio.arrays import (
    InstrumentArrays,
    instrument_arrays,
    unit_greeks_usd,
    unit_values_usd,
)
from crossmargin.portfolio.files import PortfolioFile, load_portfolio_file, portfolio_from_dict
from crossmargin.portfolio.model import Portfolio, Position
from crossmargin.portfolio.trades import apply_trade
from crossmargin.portfolio.valuation import (
    PortfolioValuation,
    PositionValuation,
    UnderlyingRisk,
    value_portfolio,
)

__all__ = [
    "InstrumentArrays",
    "Portfolio",
    "PortfolioFile",
    "PortfolioValuation",
    "Position",
    "PositionValuation",
    "UnderlyingRisk",
    "apply_trade",
    "instrument_arrays",
    "load_portfolio_file",
    "portfolio_from_dict",
    "unit_greeks_usd",
    "unit_values_usd",
    "value_portfolio",
]
