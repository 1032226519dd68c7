"""Revaluation of instruments under a scenario set into an instrument × scenario P&L matrix, and
the P&L a model counts per scenario.

:func:`scenario_pnl_matrix` revalues every instrument in full under every scenario through
:func:`crossmargin.pricing.unit_values_usd` (the one definition of an instrument's USD value) and
returns the P&L of +1 native unit, so a portfolio's raw scenario P&L is ``matrix @ sizes`` and
what a model counts is ``counted_pnl(matrix @ sizes, scenario_set)``. Everything here is a pure
function of its arguments: no I/O, no state.

Options keep their own implied vol plus the scenario's shift when the price moves ("sticky
strike", as a risk matrix that shocks each option's mark vol does); on a flat vol surface this is
exactly :meth:`MarketSnapshot.shocked` followed by a revaluation.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.core.errors import InputError
from crossmargin.pricing import InstrumentArrays, unit_values_usd
from crossmargin.scenarios.scenario_set import ScenarioSet

__all__ = ["CountingRule", "base_unit_values", "counted_pnl", "scenario_pnl_matrix"]

FloatArray = NDArray[np.float64]


class CountingRule(Protocol):
    """What :func:`counted_pnl` reads of a scenario set: how each scenario's total is counted.

    A :class:`ScenarioSet` is one; so is anything else that carries the two arrays (the book
    engine's packed tables give one per underlying)."""

    @property
    def weights(self) -> FloatArray:
        """(n_s,) factor ≥ 0 on each scenario's P&L."""
        ...

    @property
    def dampeners_usd(self) -> FloatArray:
        """(n_s,) USD ≥ 0 by which each weighted P&L shrinks towards zero."""
        ...


def _subset(arrays: InstrumentArrays, columns: NDArray[np.intp]) -> InstrumentArrays:
    """The instruments at ``columns`` as their own :class:`InstrumentArrays`."""
    replaced: dict[str, Any] = {"instruments": tuple(arrays.instruments[i] for i in columns)}
    for item in dataclasses.fields(arrays):
        value = getattr(arrays, item.name)
        if isinstance(value, np.ndarray):  # every per-instrument field, a per-instrument rate too
            replaced[item.name] = value[columns]
    return dataclasses.replace(arrays, **replaced)


def _rate_shifted(arrays: InstrumentArrays, rate_shift: float) -> InstrumentArrays:
    """``arrays`` with the rate moved by ``rate_shift``: forwards × e^{Δr·T}, rate r + Δr."""
    if rate_shift == 0.0:
        return arrays
    return dataclasses.replace(
        arrays,
        forward_usd=arrays.forward_usd * np.exp(rate_shift * arrays.t_years),
        rate_annual=arrays.rate_annual + rate_shift,
    )


def _discounted(
    arrays: InstrumentArrays, rates: FloatArray | None, columns: NDArray[np.intp] | None = None
) -> InstrumentArrays:
    """``arrays`` discounting each instrument at its own rate (``rates[columns]``), if given.

    ``InstrumentArrays.rate_annual`` holds the snapshot's scalar rate or one rate per instrument;
    :func:`unit_values_usd` broadcasts either against the instrument axis, so the per-instrument
    array set here discounts each premium at its own rate."""
    if rates is None:
        return arrays
    own_rates = rates if columns is None else rates[columns]
    return dataclasses.replace(arrays, rate_annual=own_rates)


def base_unit_values(arrays: InstrumentArrays, scenario_set: ScenarioSet) -> FloatArray:
    """USD value of +1 native unit of each instrument at the base market, as ``scenario_set``
    values it (its ``discount_rates``); the reference its P&L matrix is measured from."""
    return unit_values_usd(_discounted(arrays, scenario_set.discount_rates))


def scenario_pnl_matrix(arrays: InstrumentArrays, scenario_set: ScenarioSet) -> FloatArray:
    """P&L in USD of +1 native unit of each instrument in each scenario, by full revaluation.

    Parameters
    ----------
    arrays:
        The instruments (n_i) at the base market, from :func:`instrument_arrays`.
    scenario_set:
        Scenarios of one underlying aligned to ``arrays`` (``instrument_count == n_i``).

    Returns
    -------
    (n_s, n_i) float64 array: ``unit_values_usd`` under the scenario minus at the base market
    (positive is a profit for a long unit). Columns of other underlyings are 0. Weights and
    dampeners are *not* applied (they act on a portfolio's total, see :func:`counted_pnl`).
    """
    count = arrays.kind.shape[0]
    if scenario_set.instrument_count != count:
        raise InputError(
            "scenario_set.vol_shifts",
            scenario_set.vol_shifts.shape,
            f"must have {count} columns, one per instrument",
        )
    matrix = np.zeros((scenario_set.count, count))
    columns = np.flatnonzero(arrays.underlying == scenario_set.underlying)
    if columns.size == 0 or scenario_set.count == 0:
        return matrix
    own = _discounted(_subset(arrays, columns), scenario_set.discount_rates, columns)
    base = unit_values_usd(own)
    for rate_shift in np.unique(scenario_set.rate_shifts):
        rows = np.flatnonzero(scenario_set.rate_shifts == rate_shift)
        moves = scenario_set.price_moves[rows][:, None]
        if scenario_set.price_move_scales is not None:
            moves = moves * scenario_set.price_move_scales[np.ix_(rows, columns)]
        shocked = unit_values_usd(
            _rate_shifted(own, float(rate_shift)),
            price_move=moves,
            vol_shift=scenario_set.vol_shifts[np.ix_(rows, columns)],
            min_vol_annual=scenario_set.min_vol_annual,
        )
        matrix[np.ix_(rows, columns)] = shocked - base
    return matrix


def counted_pnl(raw_pnl_usd: ArrayLike, scenario_set: CountingRule) -> FloatArray:
    """The P&L a margin model counts for each scenario: weighted, then dampened towards zero.

    ``counted = sign(w·P)·max(|w·P| − d, 0)`` with ``w`` the scenario weight and ``d`` its
    dampener in USD. It is non-decreasing in ``P`` and never changes sign, so a smaller loss is
    never counted as a larger one.

    Parameters
    ----------
    raw_pnl_usd:
        Portfolio P&L per scenario in USD, last axis n_s (e.g. ``matrix @ sizes``; leading axes,
        such as accounts, broadcast).
    scenario_set:
        The scenarios' weights and dampeners (a :class:`ScenarioSet` or any
        :class:`CountingRule`).

    Returns
    -------
    Counted P&L in USD, the shape of ``raw_pnl_usd`` (positive is a profit; never -0.0).
    """
    raw = np.asarray(raw_pnl_usd, dtype=np.float64)
    weighted = raw * scenario_set.weights
    shrunk = np.maximum(np.abs(weighted) - scenario_set.dampeners_usd, 0.0)
    return np.asarray(np.sign(weighted) * shrunk + 0.0, dtype=np.float64)  # + 0.0: no -0.0
