"""Margin models side by side: isolated, standard cross, portfolio margin, SPAN, VaR/ES."""

from crossmargin.margin.base import MarginModel
from crossmargin.margin.cross import CrossMargin
from crossmargin.margin.isolated import IsolatedMargin, liquidation_prices
from crossmargin.margin.portfolio_margin import PortfolioMargin
from crossmargin.margin.registry import MODEL_NAMES, build_model
from crossmargin.margin.result import MarginResult, PositionMargin, ScenarioPnl
from crossmargin.margin.span_model import SpanMargin
from crossmargin.margin.var import VarMargin

__all__ = [
    "MODEL_NAMES",
    "CrossMargin",
    "IsolatedMargin",
    "MarginModel",
    "MarginResult",
    "PortfolioMargin",
    "PositionMargin",
    "ScenarioPnl",
    "SpanMargin",
    "VarMargin",
    "build_model",
    "liquidation_prices",
]
