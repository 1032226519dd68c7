"""Deribit's cross-collateral portfolio margin (model ``pm``)."""

from crossmargin.margin.pm.model import (
    AccountRisk,
    CurrencyRequirement,
    PortfolioMargin,
    deribit_scenario_set,
)
from crossmargin.margin.pm.parameters import (
    EquitySideImpact,
    PmCurrencyParameters,
    PmPairParameters,
    PortfolioMarginParameters,
    load_pm_parameters,
    parameters_with,
)

__all__ = [
    "AccountRisk",
    "CurrencyRequirement",
    "EquitySideImpact",
    "PmCurrencyParameters",
    "PmPairParameters",
    "PortfolioMargin",
    "PortfolioMarginParameters",
    "deribit_scenario_set",
    "load_pm_parameters",
    "parameters_with",
]
