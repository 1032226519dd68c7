"""Scenario sets: what each scenario of one underlying does to the market.

A :class:`ScenarioSet` says, for one underlying, what each scenario does to the market:

* a relative price move ``m`` (S' = S·(1 + m); every forward of the underlying moves by the same
  factor);
* an additive implied-vol shift per instrument (so a shift can depend on the expiry — term
  structure — or on the strike — skew);
* an optional parallel shift of the continuously compounded rate (forwards move by e^{Δr·T},
  premiums are discounted at r + Δr);
* how the portfolio P&L of the scenario is *counted*: a weight (tail scenarios count only a
  fraction of their loss) and an absolute dampener in USD that shrinks the weighted P&L towards
  zero (see :func:`crossmargin.scenarios.counted_pnl`).

Optional refinements (all off by default, so a set built without them behaves as above):

* ``price_move_scales`` — the fraction of the scenario's move each instrument's forward takes
  (0 holds an option's forward still under a pure vol-surface scenario; a fraction is the part of
  a forward already fixed, as a forward averaging into its settlement price near expiry);
* ``discount_rates`` — a per-instrument discount rate, used at the base market and in every
  scenario (per-expiry discounting; ``rate_shifts`` still shift it in parallel);
* ``min_vol_annual`` — the floor of a shocked vol (1e-4 by default; 0 lets a vol shocked all
  the way down price at its discounted intrinsic value);
* ``conversion_moves`` — the move at whose price a model expresses a coin-settled P&L (the
  scenario's own move by default; Deribit's extended table uses the grid's edge).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.core.errors import InputError
from crossmargin.instruments import KindCode
from crossmargin.pricing import InstrumentArrays

__all__ = [
    "ScenarioKind",
    "ScenarioSet",
    "ScenarioSpec",
    "VolRegime",
    "build_scenario_set",
    "combine_scenario_sets",
]

FloatArray = NDArray[np.float64]


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
    price_move_scales:
        Optional (n_s, n_i) factor ``≥ 0`` on the move each instrument's forward (and index)
        takes: F' = F·(1 + scale·m). ``None`` means 1 everywhere.
    discount_rates:
        Optional (n_i,) continuously compounded annual rate each instrument's premium is
        discounted at, in the base market and in every scenario (before ``rate_shifts``).
        ``None`` means the snapshot's rate.
    min_vol_annual:
        Floor of a shifted vol (annual, ``≥ 0``; default 1e-4).
    conversion_moves:
        Optional (n_s,) move ``> -1`` of the coin price at which a coin-settled risk vector is
        expressed (:attr:`coin_price_factors`); ``None`` means ``price_moves``.
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
    conversion_moves: FloatArray | None = None

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
        if self.conversion_moves is not None:
            conversion = _read_only(self.conversion_moves, "conversion_moves", 1)
            if conversion.shape[0] != count or np.any(conversion <= -1.0):
                raise InputError(
                    "conversion_moves", conversion.tolist(), f"must be {count} moves > -1"
                )
            object.__setattr__(self, "conversion_moves", conversion)
        floor = float(self.min_vol_annual)
        if not np.isfinite(floor) or floor < 0.0:
            raise InputError("min_vol_annual", self.min_vol_annual, "must be finite and >= 0")
        object.__setattr__(self, "min_vol_annual", floor)

    @property
    def count(self) -> int:
        """Number of scenarios n_s."""
        return int(self.price_moves.shape[0])

    @property
    def coin_price_factors(self) -> FloatArray:
        """(n_s,) factor 1 + m on the underlying coin's price at which a coin-settled P&L of each
        scenario is expressed (``conversion_moves``, else ``price_moves``)."""
        moves = self.price_moves if self.conversion_moves is None else self.conversion_moves
        return np.asarray(1.0 + moves, dtype=np.float64)

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
    options = (arrays.kind == KindCode.OPTION) & (arrays.underlying == underlying)
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
        conversion_moves=(
            None
            if all(s.conversion_moves is None for s in sets)
            else np.concatenate([s.coin_price_factors - 1.0 for s in sets])
        ),
    )


def _same_rates(a: FloatArray | None, b: FloatArray | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(np.array_equal(a, b))
