"""Derive's portfolio margin risk manager (PMRM version 2) as a crossmargin profile.

Reproduces Derive's on-chain portfolio margin — spot × vol scenarios, dampened tail scenarios,
the linear and absolute skew scenarios, term-structure vol shocks with their floors, per-expiry
discounting with static rate shocks, and every contingency (forward/basis, perpetual, option, base
collateral, stablecoin de-peg, oracle confidence) with the IM and MM loss factors — on the same
scenario machinery as crossmargin's own portfolio margin (:mod:`crossmargin.margin.scenarios`).

* :func:`evaluate_case` — a Derive case file's contents in, the balances and their parts out;
* :func:`evaluate_book` — the profile on any :class:`DeriveBook` (e.g. one underlying of a
  crossmargin portfolio: :class:`crossmargin.margin.derive_pmrm.DerivePmrmMargin`).
"""

from crossmargin.compat.derive_pmrm.book import (
    BookColumns,
    CollateralHolding,
    DeriveBook,
    ExpiryFeed,
)
from crossmargin.compat.derive_pmrm.case import book_from_case, parameters_from_case
from crossmargin.compat.derive_pmrm.evaluation import (
    Contingencies,
    DeriveEvaluation,
    evaluate_book,
)
from crossmargin.compat.derive_pmrm.parameters import (
    DerivePmrmParameters,
    DeriveScenario,
    ScenarioClass,
    VolShock,
    load_derive_parameters,
)
from crossmargin.compat.derive_pmrm.report import (
    evaluate_case,
    evaluation_notes,
    evaluation_to_dict,
    run_case,
)
from crossmargin.compat.derive_pmrm.shocks import ProfileScenarios, profile_scenarios
from crossmargin.compat.derive_pmrm.svi import svi_vol

__all__ = [
    "BookColumns",
    "CollateralHolding",
    "Contingencies",
    "DeriveBook",
    "DeriveEvaluation",
    "DerivePmrmParameters",
    "DeriveScenario",
    "ExpiryFeed",
    "ProfileScenarios",
    "ScenarioClass",
    "VolShock",
    "book_from_case",
    "evaluate_book",
    "evaluate_case",
    "evaluation_notes",
    "evaluation_to_dict",
    "load_derive_parameters",
    "parameters_from_case",
    "profile_scenarios",
    "run_case",
    "svi_vol",
]
