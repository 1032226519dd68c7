"""How a scenario reads in a result: move labels and the vol shock a scenario applied."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from crossmargin.instruments import KindCode, format_expiry
from crossmargin.pricing import InstrumentArrays
from crossmargin.scenarios.scenario_set import ScenarioSet

__all__ = ["format_move", "scenario_vol_shock"]


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
    """The vol shock of scenario ``index`` as the result reports it: one float when every option
    of the underlying (among ``held``, default all) gets the same shift, else a map from expiry
    (``"27DEC24"``) to the shift of that expiry's options (their first one if they differ)."""
    columns = (arrays.kind == KindCode.OPTION) & (arrays.underlying == scenario_set.underlying)
    if held is not None:
        columns = columns & held
    shifts = scenario_set.vol_shifts[index]
    chosen = np.flatnonzero(columns)
    if chosen.size == 0:
        return 0.0
    if np.all(shifts[chosen] == shifts[chosen[0]]):
        return float(shifts[chosen[0]])
    by_expiry: dict[str, float] = {}
    for column in sorted(chosen, key=lambda c: (arrays.t_years[c], int(c))):
        expiry = arrays.instruments[column].expiry
        assert expiry is not None
        by_expiry.setdefault(format_expiry(expiry), float(shifts[column]))
    return by_expiry
