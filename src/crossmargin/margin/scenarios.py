"""Scenario machinery shared by the scenario-based margin models (portfolio margin, Derive PMRM,
the book engine): frozen scenario sets per underlying and the instrument × scenario P&L matrix.

A :class:`ScenarioSet` says, for one underlying, what each scenario does to the market:

* a relative price move ``m`` (S' = S·(1 + m); every forward of the underlying moves by the same
  factor);
* an additive implied-vol shift per instrument (so a shift can depend on the expiry — term
  structure — or on the strike — skew);
* an optional parallel shift of the continuously compounded rate (forwards move by e^{Δr·T},
  premiums are discounted at r + Δr);
* how the portfolio P&L of the scenario is *counted*: a weight (tail scenarios count only a
  fraction of their loss) and an absolute dampener in USD that shrinks the weighted P&L towards
  zero (see :func:`counted_pnl`).

:func:`scenario_pnl_matrix` revalues every instrument in full under every scenario through
:func:`crossmargin.portfolio.unit_values_usd` (the one definition of an instrument's USD value) and
returns the P&L of +1 native unit, so a portfolio's raw scenario P&L is ``matrix @ sizes`` and
what a model counts is ``counted_pnl(matrix @ sizes, scenario_set)``. Everything here is a pure
function of its arguments: no I/O, no state.

Options keep their own implied vol plus the scenario's shift when the price moves ("sticky
strike", as a risk matrix that shocks each option's mark vol does); on a flat vol surface this is
exactly :meth:`MarketSnapshot.shocked` followed by a revaluation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.core.errors import InputError
from crossmargin.instruments import format_expiry
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import InstrumentArrays, unit_values_usd

__all__ = [
    "OPTION_KIND_CODE",
    "ScenarioKind",
    "ScenarioSet",
    "ScenarioSpec",
    "VolRegime",
    "build_scenario_set",
    "combine_scenario_sets",
    "counted_pnl",
    "expiry_reference_vols",
    "format_move",
    "grid_price_moves",
    "scenario_pnl_matrix",
    "scenario_vol_shock",
    "term_structure_vol_shocks",
]

FloatArray = NDArray[np.float64]

#: Kind code of options in :class:`InstrumentArrays` (``KIND_CODES[InstrumentKind.OPTION]``).
OPTION_KIND_CODE = 3


class ScenarioKind(StrEnum):
    """Which block of a scenario table a scenario belongs to."""

    STANDARD = "standard"
    EXTENDED = "extended"
    RATE = "rate"
    SKEW = "skew"


class VolRegime(StrEnum):
    """Direction of the implied-vol shock of a scenario."""

    UP = "up"
    UNCHANGED = "unchanged"
    DOWN = "down"


def _read_only(values: ArrayLike, field: str, ndim: int) -> FloatArray:
    array = np.array(values, dtype=np.float64)
    if array.ndim != ndim:
        raise InputError(field, array.shape, f"must be a {ndim}-dimensional array")
    bad = np.flatnonzero(~np.isfinite(array.reshape(-1)))
    if bad.size:
        raise InputError(f"{field}[{bad[0]}]", float(array.reshape(-1)[bad[0]]), "must be finite")
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class ScenarioSet:
    """The scenarios of one underlying, aligned to one :class:`InstrumentArrays` (n_i instruments).

    Attributes
    ----------
    underlying:
        Asset whose price and vols the scenarios move (``"BTC"``); instruments of other
        underlyings are untouched and get zero P&L.
    price_moves:
        (n_s,) relative move of the underlying, S' = S·(1 + m), every ``m > -1``.
    vol_shifts:
        (n_s, n_i) additive change of each instrument's implied vol (0.1 = +10 vol points); zero
        for non-options and other underlyings. The shifted vol is floored at 1e-4.
    rate_shifts:
        (n_s,) parallel shift Δr of the continuously compounded annual rate: each forward becomes
        F·(1 + m)·e^{Δr·T} and premiums are discounted at r + Δr (0 = no rate shock).
    weights:
        (n_s,) factor ``≥ 0`` applied to the scenario's portfolio P&L before the dampener (1 for a
        standard scenario, a fraction for a tail scenario).
    dampeners_usd:
        (n_s,) amount ``≥ 0`` in USD by which the weighted P&L shrinks towards zero.
    labels:
        Human-readable name of each scenario (``"BTC -16% vol up"``).
    kinds:
        :class:`ScenarioKind` of each scenario.
    """

    underlying: str
    price_moves: FloatArray
    vol_shifts: FloatArray
    rate_shifts: FloatArray
    weights: FloatArray
    dampeners_usd: FloatArray
    labels: tuple[str, ...]
    kinds: tuple[ScenarioKind, ...]

    def __post_init__(self) -> None:
        moves = _read_only(self.price_moves, "price_moves", 1)
        count = moves.shape[0]
        if np.any(moves <= -1.0):
            first = int(np.flatnonzero(moves <= -1.0)[0])
            raise InputError(f"price_moves[{first}]", float(moves[first]), "must be > -1")
        object.__setattr__(self, "price_moves", moves)
        vol_shifts = _read_only(self.vol_shifts, "vol_shifts", 2)
        if vol_shifts.shape[0] != count:
            raise InputError("vol_shifts", vol_shifts.shape, f"must have {count} rows")
        object.__setattr__(self, "vol_shifts", vol_shifts)
        for name in ("rate_shifts", "weights", "dampeners_usd"):
            values = _read_only(getattr(self, name), name, 1)
            if values.shape[0] != count:
                raise InputError(name, values.shape, f"must have {count} elements")
            if name != "rate_shifts" and np.any(values < 0.0):
                first = int(np.flatnonzero(values < 0.0)[0])
                raise InputError(f"{name}[{first}]", float(values[first]), "must be >= 0")
            object.__setattr__(self, name, values)
        labels = tuple(str(label) for label in self.labels)
        kinds = tuple(ScenarioKind(kind) for kind in self.kinds)
        if len(labels) != count or len(kinds) != count:
            raise InputError("labels", len(labels), f"labels and kinds need {count} entries each")
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "kinds", kinds)

    @property
    def count(self) -> int:
        """Number of scenarios n_s."""
        return int(self.price_moves.shape[0])

    @property
    def instrument_count(self) -> int:
        """Number of instruments n_i the vol shifts are aligned to."""
        return int(self.vol_shifts.shape[1])


@dataclass(frozen=True, slots=True)
class ScenarioSpec:
    """One scenario before it is aligned to instruments (see :func:`build_scenario_set`)."""

    price_move: float
    vol_regime: VolRegime
    label: str
    kind: ScenarioKind = ScenarioKind.STANDARD
    rate_shift: float = 0.0
    weight: float = 1.0
    dampener_usd: float = 0.0


def format_move(move: float) -> str:
    """A relative move as a label: ``-0.16`` → ``"-16%"``, ``0`` → ``"0%"``, ``5`` → ``"+500%"``."""
    percent = round(move * 100.0, 6)
    if percent == 0.0:
        return "0%"
    return f"{percent:+g}%"


def grid_price_moves(price_range: float, buckets_per_side: int) -> FloatArray:
    """Evenly spaced relative moves from ``-price_range`` to ``+price_range`` including 0:
    ``2·buckets_per_side + 1`` points (0.16 and 4 give −16 %, −12 %, …, +16 %)."""
    if not 0.0 < price_range < 1.0:
        raise InputError("price_range", price_range, "must lie in (0, 1)")
    if buckets_per_side < 1:
        raise InputError("buckets_per_side", buckets_per_side, "must be >= 1")
    steps = np.arange(-buckets_per_side, buckets_per_side + 1, dtype=np.float64)
    return np.asarray(steps * (price_range / buckets_per_side), dtype=np.float64)


def term_structure_vol_shocks(
    reference_vol: ArrayLike,
    t_years: ArrayLike,
    *,
    vol_range_up: float,
    vol_range_down: float,
    short_term_power: float,
    long_term_power: float,
    min_vol_for_shock_up: float,
    pivot_days: float = 30.0,
    min_days: float = 1.0,
) -> tuple[FloatArray, FloatArray]:
    """Additive vol shocks up and down that are stronger for short expiries.

    With DTE = max(365·t_years, min_days) and x = (pivot_days / DTE)^p, where p is
    ``short_term_power`` when DTE < pivot_days and ``long_term_power`` otherwise:

    * shocked-up vol   σ_up = max(σ·(1 + vol_range_up·x), min_vol_for_shock_up);
    * shocked-down vol σ_dn = σ·max(1 − vol_range_down·x, 0).

    Parameters
    ----------
    reference_vol:
        The vol σ the shock is scaled from (annual, ≥ 0), e.g. each expiry's at-the-money vol.
    t_years:
        Time to expiry in ACT/365 years (broadcast against ``reference_vol``).

    Returns
    -------
    (up, down):
        Additive shifts σ_up − σ (≥ 0) and σ_dn − σ (≤ 0), annual vol, broadcast shape.
    """
    sigma = np.asarray(reference_vol, dtype=np.float64)
    days = np.maximum(np.asarray(t_years, dtype=np.float64) * 365.0, min_days)
    power = np.where(days < pivot_days, short_term_power, long_term_power)
    scale = (pivot_days / days) ** power
    up_vol = np.maximum(sigma * (1.0 + vol_range_up * scale), min_vol_for_shock_up)
    down_vol = sigma * np.maximum(1.0 - vol_range_down * scale, 0.0)
    return (
        np.asarray(up_vol - sigma, dtype=np.float64),
        np.asarray(down_vol - sigma, dtype=np.float64),
    )


def expiry_reference_vols(
    arrays: InstrumentArrays, market: MarketSnapshot, underlying: str
) -> FloatArray:
    """At-the-money vol of each option's expiry (the surface at strike = forward), for the
    options of ``underlying``; 0 for every other instrument. Options of one expiry share it, so a
    shock scaled from it shifts their whole smile in parallel."""
    reference = np.zeros(arrays.kind.shape[0])
    options = (arrays.kind == OPTION_KIND_CODE) & (arrays.underlying == underlying)
    if np.any(options):
        forwards = arrays.forward_usd[options]
        reference[options] = market.vols(underlying, arrays.t_years[options], forwards, forwards)
    return reference


def build_scenario_set(
    underlying: str,
    arrays: InstrumentArrays,
    specs: Sequence[ScenarioSpec],
    vol_up_shifts: ArrayLike,
    vol_down_shifts: ArrayLike,
) -> ScenarioSet:
    """Align ``specs`` to ``arrays``: a scenario with :attr:`VolRegime.UP` shifts each option of
    ``underlying`` by ``vol_up_shifts[i]``, :attr:`VolRegime.DOWN` by ``vol_down_shifts[i]``
    (both (n_i,) additive annual vols, e.g. from :func:`term_structure_vol_shocks`)."""
    count = arrays.kind.shape[0]
    options = (arrays.kind == OPTION_KIND_CODE) & (arrays.underlying == underlying)
    up = np.where(options, np.broadcast_to(np.asarray(vol_up_shifts, np.float64), (count,)), 0.0)
    down = np.where(
        options, np.broadcast_to(np.asarray(vol_down_shifts, np.float64), (count,)), 0.0
    )
    by_regime = {VolRegime.UP: up, VolRegime.UNCHANGED: np.zeros(count), VolRegime.DOWN: down}
    vol_shifts = np.array([by_regime[spec.vol_regime] for spec in specs]).reshape(len(specs), count)
    return ScenarioSet(
        underlying=underlying,
        price_moves=np.array([spec.price_move for spec in specs], dtype=np.float64),
        vol_shifts=vol_shifts,
        rate_shifts=np.array([spec.rate_shift for spec in specs], dtype=np.float64),
        weights=np.array([spec.weight for spec in specs], dtype=np.float64),
        dampeners_usd=np.array([spec.dampener_usd for spec in specs], dtype=np.float64),
        labels=tuple(spec.label for spec in specs),
        kinds=tuple(spec.kind for spec in specs),
    )


def combine_scenario_sets(sets: Sequence[ScenarioSet]) -> ScenarioSet:
    """Concatenate scenario blocks of the same underlying and instruments into one set."""
    if not sets:
        raise InputError("sets", [], "needs at least one scenario set")
    first = sets[0]
    for index, other in enumerate(sets[1:], start=1):
        if other.underlying != first.underlying:
            raise InputError(
                f"sets[{index}].underlying", other.underlying, f"must be {first.underlying}"
            )
        if other.instrument_count != first.instrument_count:
            raise InputError(
                f"sets[{index}].vol_shifts",
                other.vol_shifts.shape,
                f"must have {first.instrument_count} columns",
            )
    return ScenarioSet(
        underlying=first.underlying,
        price_moves=np.concatenate([s.price_moves for s in sets]),
        vol_shifts=np.concatenate([s.vol_shifts for s in sets], axis=0),
        rate_shifts=np.concatenate([s.rate_shifts for s in sets]),
        weights=np.concatenate([s.weights for s in sets]),
        dampeners_usd=np.concatenate([s.dampeners_usd for s in sets]),
        labels=tuple(label for s in sets for label in s.labels),
        kinds=tuple(kind for s in sets for kind in s.kinds),
    )


def _subset(arrays: InstrumentArrays, columns: NDArray[np.intp]) -> InstrumentArrays:
    """The instruments at ``columns`` as their own :class:`InstrumentArrays`."""
    replaced: dict[str, object] = {"instruments": tuple(arrays.instruments[i] for i in columns)}
    for item in dataclasses.fields(arrays):
        value = getattr(arrays, item.name)
        if isinstance(value, np.ndarray):
            replaced[item.name] = value[columns]
    return dataclasses.replace(arrays, **replaced)  # type: ignore[arg-type]


def _rate_shifted(arrays: InstrumentArrays, rate_shift: float) -> InstrumentArrays:
    """``arrays`` with the rate moved by ``rate_shift``: forwards × e^{Δr·T}, rate r + Δr."""
    if rate_shift == 0.0:
        return arrays
    return dataclasses.replace(
        arrays,
        forward_usd=arrays.forward_usd * np.exp(rate_shift * arrays.t_years),
        rate_annual=arrays.rate_annual + rate_shift,
    )


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
    own = _subset(arrays, columns)
    base = unit_values_usd(own)
    for rate_shift in np.unique(scenario_set.rate_shifts):
        rows = np.flatnonzero(scenario_set.rate_shifts == rate_shift)
        shocked = unit_values_usd(
            _rate_shifted(own, float(rate_shift)),
            price_move=scenario_set.price_moves[rows][:, None],
            vol_shift=scenario_set.vol_shifts[np.ix_(rows, columns)],
        )
        matrix[np.ix_(rows, columns)] = shocked - base
    return matrix


def counted_pnl(raw_pnl_usd: ArrayLike, scenario_set: ScenarioSet) -> FloatArray:
    """The P&L a margin model counts for each scenario: weighted, then dampened towards zero.

    ``counted = sign(w·P)·max(|w·P| − d, 0)`` with ``w`` the scenario weight and ``d`` its
    dampener in USD. It is non-decreasing in ``P`` and never changes sign, so a smaller loss is
    never counted as a larger one.

    Parameters
    ----------
    raw_pnl_usd:
        Portfolio P&L per scenario in USD, last axis n_s (e.g. ``matrix @ sizes``; leading axes,
        such as accounts, broadcast).
    """
    raw = np.asarray(raw_pnl_usd, dtype=np.float64)
    weighted = raw * scenario_set.weights
    shrunk = np.maximum(np.abs(weighted) - scenario_set.dampeners_usd, 0.0)
    return np.asarray(np.sign(weighted) * shrunk + 0.0, dtype=np.float64)  # + 0.0: no -0.0


def scenario_vol_shock(
    scenario_set: ScenarioSet,
    arrays: InstrumentArrays,
    index: int,
    held: NDArray[np.bool_] | None = None,
) -> float | Mapping[str, float]:
    """The vol shock of scenario ``index`` as the result reports it: one float when every option
    of the underlying (among ``held``, default all) gets the same shift, else a map from expiry
    (``"27DEC24"``) to the shift of that expiry's options (their first one if they differ)."""
    columns = (arrays.kind == OPTION_KIND_CODE) & (arrays.underlying == scenario_set.underlying)
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
