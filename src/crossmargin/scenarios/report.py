"""How a scenario reads in a result: move labels and the vol shock a scenario applied."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from crossmargin.instruments import KindCode, format_expiry
from crossmargin.pricing import InstrumentArrays
from crossmargin.scenarios.scenario_set import ScenarioSet

__all__ = ["format_move", "scenario_vol_shock", "scenario_vol_shocks"]


def format_move(move: float) -> str:
    """A relative move as a label: ``-0.16`` → ``"-16%"``, ``0`` → ``"0%"``, ``5`` → ``"+500%"``."""
    percent = round(move * 100.0, 6)
    if percent == 0.0:
        return "0%"
    return f"{percent:+g}%"


def scenario_vol_shock(
    scenario_set: ScenarioSet,
    arrays: InstrumentArrays,
    index: int,
    held: NDArray[np.bool_] | None = None,
) -> float | Mapping[str, float]:
    """The vol shock of scenario ``index`` as the result reports it (see
    :func:`scenario_vol_shocks`, which gives every scenario's at once)."""
    return scenario_vol_shocks(scenario_set, arrays, held)[index]


def scenario_vol_shocks(
    scenario_set: ScenarioSet,
    arrays: InstrumentArrays,
    held: NDArray[np.bool_] | None = None,
) -> list[float | Mapping[str, float]]:
    """The vol shock of every scenario as the result reports it: one float when every option of
    the underlying (among ``held``, default all) gets the same shift (annual vol, 0.1 = +10
    points; 0.0 without options), else a map from expiry (``"27DEC24"``) to the shift of that
    expiry's options (their first one, by time to expiry then column, if they differ)."""
    columns = (arrays.kind == KindCode.OPTION) & (arrays.underlying == scenario_set.underlying)
    if held is not None:
        columns = columns & held
    chosen = np.flatnonzero(columns)
    if chosen.size == 0:
        return [0.0] * scenario_set.count
    shifts = scenario_set.vol_shifts[:, chosen]
    uniform = np.all(shifts == shifts[:, :1], axis=1)
    order = sorted(range(chosen.size), key=lambda i: (arrays.t_years[chosen[i]], int(chosen[i])))
    labels = []
    for i in order:
        expiry = arrays.instruments[chosen[i]].expiry
        assert expiry is not None
        labels.append((i, format_expiry(expiry)))
    shocks: list[float | Mapping[str, float]] = []
    for k in range(scenario_set.count):
        if uniform[k]:
            shocks.append(float(shifts[k, 0]))
            continue
        by_expiry: dict[str, float] = {}
        for i, label in labels:
            by_expiry.setdefault(label, float(shifts[k, i]))
        shocks.append(by_expiry)
    return shocks
