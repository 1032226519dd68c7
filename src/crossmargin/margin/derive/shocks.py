"""The profile's scenarios, built on the shared scenario machinery.

Derive's scenarios become one :class:`~crossmargin.scenarios.ScenarioSet` aligned to the
book's instruments:

* price move = spot shock − 1 (every forward moves by it, except the part of a forward already
  fixed near expiry: ``price_move_scales``);
* vol shifts per option: ``Up`` / ``Down`` from :func:`term_structure_vol_shocks` scaled from the
  option's own mark vol (multiplicative, as Derive shocks each vol by its expiry's multiplier, with
  the vol-up floor); ``LINEAR`` / ``ABS`` from :func:`skew_vol_shocks` with Derive's cap and k* per
  expiry — skew scenarios keep every option's forward (Derive's contract only accepts them at spot
  shock 1 and never moves an option's forward in them); ``None`` leaves vols;
* discounting per expiry at its own rate (``discount_rates``), a vol floor of 0 (a vol shocked
  all the way down prices at intrinsic value), and the dampening factor as the scenario weight.

What stays outside the set is what Derive applies to an expiry's total: the static discount
(:func:`static_discounts`) and the skew scenarios' "worst of both rotations" (in
:mod:`~crossmargin.margin.derive.evaluation`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.errors import InputError
from crossmargin.margin.derive.book import DeriveBook
from crossmargin.margin.derive.parameters import (
    DerivePmrmParameters,
    DeriveScenario,
    ScenarioClass,
    VolShock,
    scenario_classes,
)
from crossmargin.scenarios import (
    ScenarioKind,
    ScenarioSet,
    SkewShape,
    TermPowerRule,
    format_move,
    skew_vol_shocks,
    term_structure_vol_shocks,
)

__all__ = [
    "ExpiryShocks",
    "ProfileScenarios",
    "expiry_shocks",
    "profile_scenarios",
    "scenario_label",
]

FloatArray = NDArray[np.float64]

#: Derive's vol shocks pivot at 30 days; its forward fixes over the last 30 minutes.
PIVOT_DAYS = 30.0

_KINDS = {
    ScenarioClass.REGULAR: ScenarioKind.STANDARD,
    ScenarioClass.TAIL: ScenarioKind.EXTENDED,
    ScenarioClass.SKEW: ScenarioKind.SKEW,
}


@dataclass(frozen=True, eq=False)
class ExpiryShocks:
    """Per-expiry quantities of the method (n_e expiries, in ``book.expiries`` order).

    Attributes
    ----------
    vol_up, vol_down:
        Vol multipliers of the ``Up`` and ``Down`` scenarios (before the vol-up floor).
    static_discount_pos, static_discount_neg:
        Factors on a shocked expiry value that is ≥ 0, resp. < 0.
    linear_cap, abs_cap, k_star:
        Skew scenario caps and the |ln(K/F)| at which they are reached.
    """

    vol_up: FloatArray
    vol_down: FloatArray
    static_discount_pos: FloatArray
    static_discount_neg: FloatArray
    linear_cap: FloatArray
    abs_cap: FloatArray
    k_star: FloatArray


def expiry_shocks(book: DeriveBook, parameters: DerivePmrmParameters) -> ExpiryShocks:
    """Vol multipliers, static discounts and skew shapes of each expiry of ``book``."""
    tau = np.array([feed.tau for feed in book.expiries], dtype=np.float64)
    rate = np.array([feed.rate for feed in book.expiries], dtype=np.float64)
    vs, margin, skew = parameters.vol_shock, parameters.margin, parameters.skew_shock
    if vs.dte_floor_days == 0.0 and np.any(tau == 0.0):
        raise InputError("vol_shock.dte_floor_days", 0.0, "must be > 0 to shock an expired option")
    up, down = term_structure_vol_shocks(
        np.ones_like(tau),
        tau,
        vol_range_up=vs.vol_range_up,
        vol_range_down=vs.vol_range_down,
        short_term_power=vs.short_term_power,
        long_term_power=vs.long_term_power,
        min_vol_for_shock_up=0.0,
        pivot_days=PIVOT_DAYS,
        min_days=vs.dte_floor_days,
        power_rule=TermPowerRule.ACTUAL_UP_TO_PIVOT,
    )
    positive = margin.base_static_discount * np.exp(
        -tau * (rate * margin.long_rate_mult_scale + margin.long_rate_add_scale)
    )
    negative = np.minimum(
        np.exp(rate * tau),
        margin.base_static_discount_neg
        / np.exp(-tau * (rate * margin.short_rate_mult_scale + margin.short_rate_add_scale)),
    )
    root = np.sqrt(tau)
    k_star = np.maximum(
        skew.min_k_star,
        root * skew.width_scale * (skew.vol_param_static + root * skew.vol_param_scale),
    )
    if np.any(k_star <= 0.0):
        raise InputError("skew_shock.min_k_star", skew.min_k_star, "must be > 0 here (k* is 0)")
    return ExpiryShocks(
        vol_up=1.0 + up,
        vol_down=1.0 + down,
        static_discount_pos=positive,
        static_discount_neg=negative,
        linear_cap=skew.linear_c_base * root + skew.linear_base_cap,
        abs_cap=skew.abs_c_base * root + skew.abs_base_cap,
        k_star=k_star,
    )


def scenario_label(scenario: DeriveScenario) -> str:
    """``"+18% Up"``, ``"-66% Up ×0.21"``, ``"LINEAR"``: how results name a scenario."""
    if scenario.is_skew and scenario.spot_shock == 1.0:
        label = scenario.vol_shock.value
    else:
        label = f"{format_move(scenario.spot_shock - 1.0)} {scenario.vol_shock.value}"
    if scenario.dampening != 1.0:
        label += f" ×{scenario.dampening:g}"
    return label


@dataclass(frozen=True, eq=False)
class ProfileScenarios:
    """The book's margin scenarios and its forward-contingency scenarios, on the shared machinery.

    Attributes
    ----------
    margin_set:
        One scenario per ``parameters.scenarios`` (weights = dampening factors).
    basis_set:
        Spot × ``scenario_spot_up`` and × ``scenario_spot_down``, vols unchanged.
    expiry:
        :class:`ExpiryShocks` of the book.
    """

    margin_set: ScenarioSet
    basis_set: ScenarioSet
    expiry: ExpiryShocks


def _option_vol_shifts(
    book: DeriveBook, parameters: DerivePmrmParameters, shocks: ExpiryShocks
) -> dict[VolShock, FloatArray]:
    """(n_i,) additive vol shift of each option under each vol shock (0 for other columns)."""
    count = book.sizes.shape[0]
    shifts = {shock: np.zeros(count) for shock in VolShock}
    options = book.option_columns
    if options.size == 0:
        return shifts
    expiry = book.expiry_of[options]
    vol = book.arrays.vol_annual[options]
    tau = book.arrays.t_years[options]
    vs = parameters.vol_shock
    up, down = term_structure_vol_shocks(
        vol,
        tau,
        vol_range_up=vs.vol_range_up,
        vol_range_down=vs.vol_range_down,
        short_term_power=vs.short_term_power,
        long_term_power=vs.long_term_power,
        min_vol_for_shock_up=vs.min_vol_up,
        pivot_days=PIVOT_DAYS,
        min_days=vs.dte_floor_days,
        power_rule=TermPowerRule.ACTUAL_UP_TO_PIVOT,
    )
    forward = np.array([feed.forward for feed in book.expiries])[expiry]
    log_moneyness = np.log(book.arrays.strike_usd[options] / forward)
    linear = skew_vol_shocks(
        vol,
        log_moneyness,
        cap=shocks.linear_cap[expiry],
        width=shocks.k_star[expiry],
        shape=SkewShape.LINEAR,
    )
    absolute = skew_vol_shocks(
        vol,
        log_moneyness,
        cap=shocks.abs_cap[expiry],
        width=shocks.k_star[expiry],
        shape=SkewShape.ABSOLUTE,
    )
    for shock, values in (
        (VolShock.UP, up),
        (VolShock.DOWN, down),
        (VolShock.LINEAR, linear),
        (VolShock.ABS, absolute),
    ):
        shifts[shock][options] = values
    return shifts


def _move_scales(book: DeriveBook) -> FloatArray:
    """(n_i,) share of a spot move each column's forward takes (1 but near an option's expiry)."""
    scales = np.ones(book.sizes.shape[0])
    options = book.option_columns
    fixed = np.array([feed.fixed_forward_fraction for feed in book.expiries])
    if options.size:
        scales[options] = 1.0 - fixed[book.expiry_of[options]]
    return scales


def _scenario_set(
    book: DeriveBook,
    scenarios: tuple[DeriveScenario, ...],
    shifts: dict[VolShock, FloatArray],
    labels: tuple[str, ...],
) -> ScenarioSet:
    scales = np.tile(_move_scales(book), (len(scenarios), 1))
    for row, scenario in enumerate(scenarios):
        if scenario.is_skew:
            scales[row, book.option_columns] = 0.0
    rates = np.zeros(book.sizes.shape[0])
    options = book.option_columns
    if options.size:
        feed_rates = np.array([feed.rate for feed in book.expiries])
        rates[options] = feed_rates[book.expiry_of[options]]
    count = len(scenarios)
    return ScenarioSet(
        underlying=book.underlying,
        price_moves=np.array([s.spot_shock - 1.0 for s in scenarios], dtype=np.float64),
        vol_shifts=np.array([shifts[s.vol_shock] for s in scenarios]).reshape(count, -1),
        rate_shifts=np.zeros(count),
        weights=np.array([s.dampening for s in scenarios], dtype=np.float64),
        dampeners_usd=np.zeros(count),
        labels=labels,
        kinds=tuple(_KINDS[c] for c in scenario_classes(scenarios)),
        price_move_scales=scales,
        discount_rates=rates,
        min_vol_annual=0.0,
    )


def profile_scenarios(book: DeriveBook, parameters: DerivePmrmParameters) -> ProfileScenarios:
    """The margin and forward-contingency scenario sets of ``book`` under ``parameters``."""
    shocks = expiry_shocks(book, parameters)
    shifts = _option_vol_shifts(book, parameters, shocks)
    scenarios = parameters.scenarios
    labels = tuple(f"{book.underlying} {scenario_label(s)}" for s in scenarios)
    basis = parameters.basis_contingency
    basis_scenarios = tuple(
        DeriveScenario(spot_shock=shock, vol_shock=VolShock.NONE, dampening=1.0)
        for shock in (basis.scenario_spot_up, basis.scenario_spot_down)
    )
    basis_labels = tuple(
        f"{book.underlying} {scenario_label(s)} (forward contingency)" for s in basis_scenarios
    )
    return ProfileScenarios(
        margin_set=_scenario_set(book, scenarios, shifts, labels),
        basis_set=_scenario_set(book, basis_scenarios, shifts, basis_labels),
        expiry=shocks,
    )
