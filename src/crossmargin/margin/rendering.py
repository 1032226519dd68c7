"""The JSON form of a :class:`MarginResult`: the one rendering the CLI (``--json``) and the
service both return."""

from __future__ import annotations

import dataclasses
from typing import Any

from crossmargin.margin.result import MarginResult, ScenarioPnl

__all__ = ["margin_result_to_json"]


def _scenario_json(scenario: ScenarioPnl) -> dict[str, Any]:
    shock = scenario.vol_shock
    return {
        "underlying": scenario.underlying,
        "price_move": scenario.price_move,
        "vol_shock": dict(shock) if not isinstance(shock, int | float) else shock,
        "pnl_usd": scenario.pnl_usd,
        "label": scenario.label,
    }


def margin_result_to_json(result: MarginResult) -> dict[str, Any]:
    """A JSON-ready dict of a :class:`MarginResult`.

    Requirements, equity and components are decimal strings in ``currency`` (USD); float risk
    numbers stay floats. A position is its :class:`PositionMargin` field for field, so its keys
    name their units exactly as the attributes do (``mark_value_usd``, ``delta_coin``,
    ``gamma_coin_per_usd``, ...). ``margin_ratio`` is dimensionless and may be ``inf`` (margin
    due, no equity left).
    """
    document: dict[str, Any] = {
        "model": result.model,
        "currency": result.currency,
        "initial_margin": str(result.initial_margin),
        "maintenance_margin": str(result.maintenance_margin),
        "equity": str(result.equity),
        "collateral_value": str(result.collateral_value),
        "margin_ratio": result.margin_ratio,
        "available": str(result.available_usd),
        "components": {name: str(value) for name, value in result.components.items()},
        "maintenance_components": {
            name: str(value) for name, value in result.maintenance_components.items()
        },
        "worst_scenario": (
            _scenario_json(result.worst_scenario) if result.worst_scenario is not None else None
        ),
        "positions": [dataclasses.asdict(row) for row in result.positions],
        "parameters_version": result.parameters_version,
        "notes": list(result.notes),
    }
    if result.scenarios:
        document["scenarios"] = [_scenario_json(s) for s in result.scenarios]
    return document
