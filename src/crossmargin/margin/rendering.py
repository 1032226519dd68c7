"""The JSON form of a :class:`MarginResult`: the one rendering the CLI (``--json``) and the
service both return."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from crossmargin.margin.result import MarginResult, PositionMargin, ScenarioPnl

__all__ = ["describe_scenario", "margin_result_to_json", "position_to_json"]

_POSITION_FIELDS = tuple(PositionMargin.__slots__)


def _vol_points(shift: float) -> str:
    return f"{shift * 100.0:+.1f} pts"


def describe_scenario(scenario: ScenarioPnl) -> str:
    """The size of a scenario's shocks, read off its numbers (not its label).

    ``"BTC -16%, vol +25.4 pts"``; ``"BTC +16%, vol unchanged"`` when no option was shocked; a
    shock that differs by expiry reads ``"vol +12.1 to +25.4 pts by expiry"``. A price move is
    relative (S' = S·(1 + move)); a vol shock is in vol points (0.01 of annual vol).
    """
    move = f"{scenario.price_move * 100.0:+.4g}%" if scenario.price_move else "0%"
    shock = scenario.vol_shock
    if isinstance(shock, int | float):
        vol = "vol unchanged" if shock == 0.0 else f"vol {_vol_points(float(shock))}"
    else:
        shifts = sorted(float(value) for value in shock.values())
        if not shifts or shifts[0] == shifts[-1]:
            vol = (
                "vol unchanged"
                if not shifts or shifts[0] == 0.0
                else f"vol {_vol_points(shifts[0])}"
            )
        else:
            vol = f"vol {shifts[0] * 100.0:+.1f} to {_vol_points(shifts[-1])} by expiry"
    where = "" if scenario.underlying in ("", "*") else f"{scenario.underlying} "
    return f"{where}{move}, {vol}"


def _scenario_json(scenario: ScenarioPnl) -> dict[str, Any]:
    shock = scenario.vol_shock
    return {
        "underlying": scenario.underlying,
        "price_move": scenario.price_move,
        "vol_shock": dict(shock) if not isinstance(shock, int | float) else shock,
        "pnl_usd": scenario.pnl_usd,
        "label": scenario.label,
        "description": describe_scenario(scenario),
    }


def position_to_json(row: PositionMargin) -> dict[str, Any]:
    """A :class:`PositionMargin` field for field (keys name their units, as the attributes do);
    a non-finite float becomes ``None`` so the document stays strict JSON."""
    document: dict[str, Any] = {}
    for name in _POSITION_FIELDS:
        value = getattr(row, name)
        document[name] = value if not isinstance(value, float) or math.isfinite(value) else None
    return document


def margin_result_to_json(
    result: MarginResult, positions: Sequence[int] | None = None
) -> dict[str, Any]:
    """A JSON-ready dict of a :class:`MarginResult`, strict JSON (no NaN or infinity).

    Requirements, equity, ``excess`` (equity − IM, negative for a shortfall) and components are
    decimal strings in ``currency`` (USD); float risk numbers stay floats. A position is its
    :class:`PositionMargin` field for field, so its keys name their units exactly as the
    attributes do (``mark_value_usd``, ``delta_coin``, ``gamma_coin_per_usd``, ...).
    ``margin_ratio`` (MM / equity) and ``equity_to_maintenance`` (the health bands' quantity)
    are dimensionless and ``null`` where not finite; ``health`` is the state (``healthy``,
    ``warning``, ``reduce-only``, ``liquidatable``, ``bankrupt``) and ``health_reason`` says why,
    so a ``null`` ratio is always explained. ``positions`` picks (and orders) the positions
    written, by index into ``result.positions``; all of them in order when ``None``, and
    ``positions_total`` always counts them all.
    """
    health = result.health
    rows = result.positions if positions is None else [result.positions[i] for i in positions]
    document: dict[str, Any] = {
        "model": result.model,
        "currency": result.currency,
        "initial_margin": str(result.initial_margin),
        "maintenance_margin": str(result.maintenance_margin),
        "equity": str(result.equity),
        "collateral_value": str(result.collateral_value),
        "margin_ratio": health.margin_ratio,
        "equity_to_maintenance": health.equity_to_maintenance,
        "health": health.state.value,
        "health_reason": health.reason,
        "excess": str(result.available_usd),
        "available": str(result.available_usd),
        "components": {name: str(value) for name, value in result.components.items()},
        "maintenance_components": {
            name: str(value) for name, value in result.maintenance_components.items()
        },
        "worst_scenario": (
            _scenario_json(result.worst_scenario) if result.worst_scenario is not None else None
        ),
        "positions": [position_to_json(row) for row in rows],
        "positions_total": len(result.positions),
        "parameters_version": result.parameters_version,
        "notes": list(result.notes),
    }
    if result.scenarios:
        document["scenarios"] = [_scenario_json(s) for s in result.scenarios]
    return document
