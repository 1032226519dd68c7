"""Isolated and standard cross margin: fixed, tiered rates per position (Deribit standard)."""

from crossmargin.margin.standard.cross import CrossMargin
from crossmargin.margin.standard.isolated import IsolatedMargin, liquidation_prices
from crossmargin.margin.standard.parameters import (
    StandardMarginParameters,
    load_standard_parameters,
)

__all__ = [
    "CrossMargin",
    "IsolatedMargin",
    "StandardMarginParameters",
    "liquidation_prices",
    "load_standard_parameters",
]
