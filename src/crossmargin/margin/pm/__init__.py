"""Scenario portfolio margin as Deribit runs it (model ``pm``)."""

from crossmargin.margin.pm.model import PortfolioMargin, deribit_scenario_set
from crossmargin.margin.pm.parameters import (
    PmUnderlyingParameters,
    PortfolioMarginParameters,
    load_pm_parameters,
)

__all__ = [
    "PmUnderlyingParameters",
    "PortfolioMargin",
    "PortfolioMarginParameters",
    "deribit_scenario_set",
    "load_pm_parameters",
]
