"""Derive's portfolio margin risk manager (PMRM version 2) as a crossmargin profile.

Reproduces Derive's on-chain portfolio margin — spot × vol scenarios, dampened tail scenarios,
the linear and absolute skew scenarios, term-structure vol shocks with their floors, per-expiry
discounting with static rate shocks, and every contingency (forward/basis, perpetual, option, base
collateral, stablecoin de-peg, oracle confidence) with the IM and MM loss factors — on the shared
scenario machinery (:mod:`crossmargin.scenarios`).

* :func:`evaluate_book` — the profile on any :class:`DeriveBook`;
* :class:`DerivePmrmMargin` — the profile on a crossmargin portfolio (model ``derive-pmrm``).

Derive's case files (a foreign format) are read by :mod:`crossmargin.compat.derive_pmrm`.
"""

from crossmargin.margin.derive.book import (
    BookColumns,
    CollateralHolding,
    DeriveBook,
    ExpiryFeed,
)
from crossmargin.margin.derive.evaluation import (
    Contingencies,
    DeriveEvaluation,
    evaluate_book,
)
from crossmargin.margin.derive.model import DerivePmrmMargin
from crossmargin.margin.derive.parameters import (
    DerivePmrmParameters,
    DeriveScenario,
    ScenarioClass,
    VolShock,
    load_derive_parameters,
)
from crossmargin.margin.derive.shocks import ProfileScenarios, profile_scenarios
from crossmargin.margin.derive.svi import svi_vol

__all__ = [
    "BookColumns",
    "CollateralHolding",
    "Contingencies",
    "DeriveBook",
    "DeriveEvaluation",
    "DerivePmrmMargin",
    "DerivePmrmParameters",
    "DeriveScenario",
    "ExpiryFeed",
    "ProfileScenarios",
    "ScenarioClass",
    "VolShock",
    "evaluate_book",
    "load_derive_parameters",
    "profile_scenarios",
    "svi_vol",
]
