"""Scenarios: sets of market shocks per underlying, the shock builders, and the revaluation of
instruments into an instrument × scenario P&L matrix (the layer between pricing and the models)."""

from crossmargin.scenarios.report import format_move, scenario_vol_shock, scenario_vol_shocks
from crossmargin.scenarios.revaluation import (
    CountingRule,
    base_unit_values,
    counted_pnl,
    scenario_pnl_matrix,
)
from crossmargin.scenarios.scenario_set import (
    ScenarioKind,
    ScenarioSet,
    ScenarioSpec,
    VolRegime,
    build_scenario_set,
    combine_scenario_sets,
)
from crossmargin.scenarios.shocks import (
    SkewShape,
    TermPowerRule,
    expiry_reference_vols,
    grid_price_moves,
    skew_vol_shocks,
    term_structure_vol_shocks,
)

__all__ = [
    "CountingRule",
    "ScenarioKind",
    "ScenarioSet",
    "ScenarioSpec",
    "SkewShape",
    "TermPowerRule",
    "VolRegime",
    "base_unit_values",
    "build_scenario_set",
    "combine_scenario_sets",
    "counted_pnl",
    "expiry_reference_vols",
    "format_move",
    "grid_price_moves",
    "scenario_pnl_matrix",
    "scenario_vol_shock",
    "scenario_vol_shocks",
    "skew_vol_shocks",
    "term_structure_vol_shocks",
]
