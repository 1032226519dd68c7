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

Optional refinements (all off by default, so a set built without them behaves as above):

* ``price_move_scales`` — the fraction of the scenario's move each instrument's forward takes
  (0 holds an option's forward still under a pure vol-surface scenario; a fraction is the part of
  a forward already fixed, as a forward averaging into its settlement price near expiry);
* ``discount_rates`` — a per-instrument discount rate, used at the base market and in every
  scenario (per-expiry discounting; ``rate_shifts`` still shift it in parallel);
* ``min_vol_annual`` — the floor of a shocked vol (1e-4 by default; 0 lets a vol shocked all
  the way down price at its discounted intrinsic value).

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
    "skew_vol_shocks",
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


class TermPowerRule(StrEnum):
    """Which days to expiry pick the short-term power in :func:`term_structure_vol_shocks`."""

    #: Short-term power while the floored DTE is below the pivot (Deribit-style ``pm``).
    FLOORED_BELOW_PIVOT = "floored_below_pivot"
    #: Short-term power while the actual DTE is at most the pivot (Derive's PMRM).
    ACTUAL_UP_TO_PIVOT = "actual_up_to_pivot"


class SkewShape(StrEnum):
    """How a skew scenario reshapes a smile (see :func:`skew_vol_shocks`)."""

    #: Tilt: vols of strikes above the forward rise, below it fall (or the reverse, by sign).
    LINEAR = "linear"
    #: Wings: vols rise on both sides of the forward, with the distance from it.
    ABSOLUTE = "absolute"


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
    price_move_scales:
        Optional (n_s, n_i) factor ``≥ 0`` on the move each instrument's forward (and index)
        takes: F' = F·(1 + scale·m). ``None`` means 1 everywhere.
    discount_rates:
        Optional (n_i,) continuously compounded annual rate each instrument's premium is
        discounted at, in the base market and in every scenario (before ``rate_shifts``).
        ``None`` means the snapshot's rate.
    min_vol_annual:
        Floor of a shifted vol (annual, ``≥ 0``; default 1e-4).
    """

    underlying: str
    price_moves: FloatArray
    vol_shifts: FloatArray
    rate_shifts: FloatArray
    weights: FloatArray
    dampeners_usd: FloatArray
    labels: tuple[str, ...]
    kinds: tuple[ScenarioKind, ...]
    price_move_scales: FloatArray | None = None
    discount_rates: FloatArray | None = None
    min_vol_annual: float = 1e-4

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
        self._check_refinements(count, vol_shifts.shape[1])

    def _check_refinements(self, count: int, instruments: int) -> None:
        if self.price_move_scales is not None:
            scales = _read_only(self.price_move_scales, "price_move_scales", 2)
            if scales.shape != (count, instruments):
                raise InputError(
                    "price_move_scales", scales.shape, f"must have shape ({count}, {instruments})"
                )
            if np.any(scales < 0.0):
                first = int(np.flatnonzero(scales.reshape(-1) < 0.0)[0])
                raise InputError(
                    f"price_move_scales[{first}]", float(scales.reshape(-1)[first]), "must be >= 0"
                )
            object.__setattr__(self, "price_move_scales", scales)
        if self.discount_rates is not None:
            rates = _read_only(self.discount_rates, "discount_rates", 1)
            if rates.shape[0] != instruments:
                raise InputError("discount_rates", rates.shape, f"must have {instruments} elements")
            object.__setattr__(self, "discount_rates", rates)
        floor = float(self.min_vol_annual)
        if not np.isfinite(floor) or floor < 0.0:
            raise InputError("min_vol_annual", self.min_vol_annual, "must be finite and >= 0")
        object.__setattr__(self, "min_vol_annual", floor)

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
    power_rule: TermPowerRule = TermPowerRule.FLOORED_BELOW_PIVOT,
) -> tuple[FloatArray, FloatArray]:
    """Additive vol shocks up and down that are stronger for short expiries.

    With DTE = max(365·t_years, min_days) and x = (pivot_days / DTE)^p, where p is
    ``short_term_power`` when DTE < pivot_days and ``long_term_power`` otherwise (with
    ``power_rule`` :attr:`TermPowerRule.ACTUAL_UP_TO_PIVOT`: when the actual, unfloored DTE is at
    most pivot_days; the two differ only at the pivot or when ``min_days`` exceeds it):

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
    actual_days = np.asarray(t_years, dtype=np.float64) * 365.0
    days = np.maximum(actual_days, min_days)
    if TermPowerRule(power_rule) is TermPowerRule.ACTUAL_UP_TO_PIVOT:
        short = actual_days <= pivot_days
    else:
        short = days < pivot_days
    power = np.where(short, short_term_power, long_term_power)
    scale = (pivot_days / days) ** power
    up_vol = np.maximum(sigma * (1.0 + vol_range_up * scale), min_vol_for_shock_up)
    down_vol = sigma * np.maximum(1.0 - vol_range_down * scale, 0.0)
    return (
        np.asarray(up_vol - sigma, dtype=np.float64),
        np.asarray(down_vol - sigma, dtype=np.float64),
    )


def skew_vol_shocks(
    vol_annual: ArrayLike,
    log_moneyness: ArrayLike,
    *,
    cap: ArrayLike,
    width: ArrayLike,
    shape: SkewShape,
) -> FloatArray:
    """Additive vol shifts that reshape each smile by the distance of a strike from the forward.

    With k = ln(K/F) (``LINEAR``) or |ln(K/F)| (``ABSOLUTE``), the vol σ becomes σ·max(1 + x, 0)
    where x = min(cap, k·cap/width) for k ≥ 0 and x = max(−cap, k·cap/width) for k < 0: the
    multiplier moves linearly in k until it reaches ±cap at |k| = width, and a vol is never
    shocked below zero.

    Parameters
    ----------
    vol_annual:
        Each option's vol σ (annual, ≥ 0).
    log_moneyness:
        ln(strike / forward) of each option (broadcast against ``vol_annual``).
    cap, width:
        The largest relative change of a vol, and the |k| (> 0) at which it is reached; scalars
        or per-option arrays (e.g. per expiry).
    shape:
        :class:`SkewShape`.

    Returns
    -------
    Additive shifts σ·max(1 + x, 0) − σ (annual vol), broadcast shape.
    """
    sigma = np.asarray(vol_annual, dtype=np.float64)
    k = np.asarray(log_moneyness, dtype=np.float64)
    if SkewShape(shape) is SkewShape.ABSOLUTE:
        k = np.abs(k)
    cap_values = np.asarray(cap, dtype=np.float64)
    slope = k * cap_values / np.asarray(width, dtype=np.float64)
    tilt = np.where(k >= 0.0, np.minimum(cap_values, slope), np.maximum(-cap_values, slope))
    shocked = sigma * np.maximum(1.0 + tilt, 0.0)
    return np.asarray(shocked - sigma, dtype=np.float64)


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
        if other.min_vol_annual != first.min_vol_annual or not _same_rates(
            other.discount_rates, first.discount_rates
        ):
            raise InputError(
                f"sets[{index}]", other.labels[:1], "must share discount rates and vol floor"
            )
    scales = None
    if any(s.price_move_scales is not None for s in sets):
        scales = np.concatenate(
            [
                s.price_move_scales
                if s.price_move_scales is not None
                else np.ones(s.vol_shifts.shape)
                for s in sets
            ],
            axis=0,
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
        price_move_scales=scales,
        discount_rates=first.discount_rates,
        min_vol_annual=first.min_vol_annual,
    )


def _same_rates(a: FloatArray | None, b: FloatArray | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(np.array_equal(a, b))


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


def _discounted(
    arrays: InstrumentArrays, rates: FloatArray | None, columns: NDArray[np.intp] | None = None
) -> InstrumentArrays:
    """``arrays`` discounting each instrument at its own rate (``rates[columns]``), if given.

    ``InstrumentArrays.rate_annual`` holds the snapshot's scalar rate; :func:`unit_values_usd`
    broadcasts it against the instrument axis, so a per-instrument array discounts each premium
    at its own rate."""
    if rates is None:
        return arrays
    own_rates = rates if columns is None else rates[columns]
    return dataclasses.replace(arrays, rate_annual=own_rates)  # type: ignore[arg-type]


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
