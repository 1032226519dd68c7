"""Positions, portfolios, their valuation and the portfolio file format."""

from crossmargin.portfolio.files import PortfolioFile, load_portfolio_file, portfolio_from_dict
from crossmargin.portfolio.model import Portfolio, Position
from crossmargin.portfolio.trades import apply_trade
from crossmargin.portfolio.valuation import (
    PortfolioValuation,
    PositionValuation,
    UnderlyingRisk,
    portfolio_equity_usd,
    value_portfolio,
)

__all__ = [
    "Portfolio",
    "PortfolioFile",
    "PortfolioValuation",
    "Position",
    "PositionValuation",
    "UnderlyingRisk",
    "apply_trade",
    "load_portfolio_file",
    "portfolio_equity_usd",
    "portfolio_from_dict",
    "value_portfolio",
]
