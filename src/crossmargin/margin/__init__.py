"""Margin models side by side: isolated, standard cross, portfolio margin, SPAN, VaR/ES, Derive.

One subpackage per family (:mod:`~crossmargin.margin.standard`, :mod:`~crossmargin.margin.pm`,
:mod:`~crossmargin.margin.span`, :mod:`~crossmargin.margin.var`, :mod:`~crossmargin.margin.derive`);
the result, its JSON form, the protocol and the registry live here.
"""

from crossmargin.margin.base import MarginModel
from crossmargin.margin.derive import DerivePmrmMargin
from crossmargin.margin.health import is_liquidatable, margin_ratio
from crossmargin.margin.pm import PortfolioMargin
from crossmargin.margin.registry import MODEL_NAMES, build_model
from crossmargin.margin.rendering import margin_result_to_json
from crossmargin.margin.result import MarginResult, PositionMargin, ScenarioPnl
from crossmargin.margin.span import SpanMargin
from crossmargin.margin.standard import CrossMargin, IsolatedMargin, liquidation_prices
from crossmargin.margin.var import VarMargin

__all__ = [
    "MODEL_NAMES",
    "CrossMargin",
    "DerivePmrmMargin",
    "IsolatedMargin",
    "MarginModel",
    "MarginResult",
    "PortfolioMargin",
    "PositionMargin",
    "ScenarioPnl",
    "SpanMargin",
    "VarMargin",
    "build_model",
    "is_liquidatable",
    "liquidation_prices",
    "margin_ratio",
    "margin_result_to_json",
]
