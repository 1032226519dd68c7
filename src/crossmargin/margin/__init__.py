"""Margin models side by side: isolated, standard cross, portfolio margin, SPAN, VaR/ES."""

from crossmargin.margin.base import MarginModel
from crossmargin.margin.result import MarginResult, PositionMargin, ScenarioPnl

__all__ = ["MarginModel", "MarginResult", "PositionMargin", "ScenarioPnl"]
