"""Isolated margin: every position margined alone, with its own share of the collateral.

Rates are Deribit's standard ones (:mod:`crossmargin.margin.standard.rates`); what differs from
standard cross margin is that no position may lean on another:

* **Equity** is the account's one equity, the same under every model (collateral after haircuts
  + every position's mark value v_i; :func:`~crossmargin.portfolio.value_portfolio`).
* **Requirement.** Position i needs its standard requirement IM_i (MM_i) and, when its own value
  exceeds it, holds that value: a position's profit (a future's unrealised gain, a long option's
  premium value) supports only itself, so the part above its own requirement is not free for
  any other position. IM = Σ max(IM_i, v_i), MM = Σ max(MM_i, v_i); the components are the
  standard ones (``futures_im``, ...) plus ``own_value_held_im`` = Σ max(v_i − IM_i, 0) (and
  ``own_value_held_mm``). Hence excess = equity − IM = C + Σ min(v_i − IM_i, 0) ≤ C + Σ (v_i −
  IM_i), the cross model's: isolated never leaves more room than cross, models compare by
  requirement and by excess on one equity, and an account is liquidatable under isolated
  (equity < MM, i.e. C < Σ max(MM_i − v_i, 0)) no later than under cross.
* **Allocation.** Each position first receives its need n_i = max(IM_i − v_i, 0), the collateral
  it needs to meet its IM by itself; the rest of the pool C is shared in proportion to IM_i (see
  :func:`allocated_collateral`). So when the account meets its isolated IM, every position's
  allocation covers its own IM. Allocations are fixed fractions of the pool, and so of every
  collateral currency: a BTC balance allocated to a position moves with BTC.
* **Liquidation price.** Position i is liquidated when its allocated collateral plus its own value
  meets its maintenance margin: share_i · C(S') + v_i(S') = MM_i(S'), where S' is its
  underlying's index price and every price of that underlying (forwards, collateral in that coin)
  moves with it, implied vols held. The price reported is the root nearest the current index
  (searched between 10⁻⁶ and 10⁶ times it); the current index if the position is already at or
  below its maintenance margin; ``None`` when it is never reached (long options, long spot, or
  enough collateral).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import brentq

from crossmargin.collateral import HaircutSchedule, default_haircuts
from crossmargin.margin.common import (
    AccountView,
    assemble_requirement,
    assemble_result,
    view_account,
)
from crossmargin.margin.result import MarginResult
from crossmargin.margin.standard.parameters import (
    StandardMarginParameters,
    load_standard_parameters,
)
from crossmargin.margin.standard.rates import (
    PositionCategory,
    RateArrays,
    StandardRequirements,
    category_totals,
    rate_arrays,
    standard_requirements_usd,
)
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio

__all__ = ["IsolatedMargin", "allocated_collateral", "liquidation_prices"]

FloatArray = NDArray[np.float64]

#: Price factors searched for a liquidation price: 10^-6 to 10^6 times the index, log-spaced.
_LOG10_FACTORS = np.linspace(-6.0, 6.0, 4801)


class IsolatedMargin:
    """Isolated margin (model name ``"isolated"``); see the module docstring for the rules.

    Components ``futures_im``, ``short_option_im``, ``short_spot_im`` (and ``*_mm``) are each
    category's standard requirements, ``own_value_held_im`` (``_mm``) the positions' own value
    above their own requirement; each position's contribution is max(IM_i, v_i). ``notes`` give
    each position's allocated collateral and liquidation price.

    Parameters
    ----------
    parameters:
        Standard-margin rates; the shipped ``config/standard_margin.toml`` when None.
    haircuts:
        Collateral haircut schedule; :func:`~crossmargin.collateral.default_haircuts` when None.
    """

    name = "isolated"

    def __init__(
        self,
        parameters: StandardMarginParameters | None = None,
        haircuts: HaircutSchedule | None = None,
    ) -> None:
        self.parameters = parameters if parameters is not None else load_standard_parameters()
        self.haircuts = haircuts if haircuts is not None else default_haircuts()

    def _requirements(
        self, view: AccountView
    ) -> tuple[RateArrays, StandardRequirements, dict[str, float], dict[str, float]]:
        """Per-position rates, requirements and the IM and MM components of ``view`` (USD)."""
        rates = rate_arrays(self.parameters, list(view.valuation.arrays.underlying))
        requirements = standard_requirements_usd(view.valuation.arrays, view.sizes, rates)
        values = requirements.value_usd
        held_im = np.maximum(values - requirements.initial_usd, 0.0)
        held_mm = np.maximum(values - requirements.maintenance_usd, 0.0)
        initial = {
            **category_totals(requirements.initial_usd, requirements.category, "im"),
            "own_value_held_im": float(np.sum(held_im)),
        }
        maintenance = {
            **category_totals(requirements.maintenance_usd, requirements.category, "mm"),
            "own_value_held_mm": float(np.sum(held_mm)),
        }
        return rates, requirements, initial, maintenance

    def margin(self, portfolio: Portfolio, market: MarketSnapshot) -> MarginResult:
        """Margin ``portfolio`` at ``market`` under isolated margin (USD, IM ≥ MM ≥ 0)."""
        view = view_account(portfolio, market, self.haircuts)
        rates, requirements, initial, maintenance = self._requirements(view)
        held_im = initial["own_value_held_im"]
        allocated = _allocation(view, requirements)
        result = assemble_result(
            self.name,
            view,
            initial,
            maintenance,
            requirements.initial_usd
            + np.maximum(requirements.value_usd - requirements.initial_usd, 0.0),
            self.parameters.version,
            notes=_notes(
                view,
                allocated,
                _liquidation_prices(view, rates, allocated, self.haircuts),
                held_im,
            ),
        )
        return _maintenance_capped(result)

    def requirement(self, portfolio: Portfolio, market: MarketSnapshot) -> MarginResult:
        """The figures of :meth:`margin` a margin check or a backtest reads — IM and MM with
        their components, equity and collateral value (USD, rounded as there) — without the
        explanation (no positions, notes or liquidation prices, whose root finding is most of
        an isolated margin run)."""
        view = view_account(portfolio, market, self.haircuts)
        _, _, initial, maintenance = self._requirements(view)
        return _maintenance_capped(
            assemble_requirement(self.name, view, initial, maintenance, self.parameters.version)
        )


def _maintenance_capped(result: MarginResult) -> MarginResult:
    """``result`` with MM ≤ IM kept through rounding: where a position holds its own value, its
    IM_i + (v_i − IM_i) and MM_i + (v_i − MM_i) are both v_i, but each component rounds up on
    its own; the few quanta of excess come off ``own_value_held_mm``."""
    excess = result.maintenance_margin - result.initial_margin
    if excess <= 0:
        return result
    components = dict(result.maintenance_components)
    components["own_value_held_mm"] -= excess
    return dataclasses.replace(
        result,
        maintenance_margin=result.initial_margin,
        maintenance_components=components,
    )


def allocated_collateral(
    collateral_usd: float, initial_usd: FloatArray, values_usd: FloatArray
) -> FloatArray:
    """Each position's share of the collateral pool under isolated margin, USD.

    Each position first receives its need n_i = max(IM_i − v_i, 0), the collateral it needs to
    meet its own IM; what is left over is shared in proportion to IM_i (equally when no position
    has any IM). A pool smaller than Σ n_i, or negative, is shared in proportion to n_i (to IM_i
    when no position needs any, else equally). The amounts add up to ``collateral_usd``.
    """
    initial = np.asarray(initial_usd, dtype=np.float64)
    count = initial.shape[0]
    if count == 0:
        return np.zeros(0)
    need = np.maximum(initial - np.asarray(values_usd, dtype=np.float64), 0.0)
    spare = collateral_usd - float(np.sum(need))
    if spare >= 0.0:
        return np.asarray(need + spare * _weights(initial), dtype=np.float64)
    return np.asarray(collateral_usd * _weights(need, initial), dtype=np.float64)


def _weights(*candidates: FloatArray) -> FloatArray:
    """The first candidate with a positive sum, normalised to sum to 1; else equal weights."""
    for weights in candidates:
        total = float(np.sum(weights))
        if total > 0.0:
            return np.asarray(weights / total, dtype=np.float64)
    return np.full(candidates[0].shape[0], 1.0 / candidates[0].shape[0])


def liquidation_prices(
    portfolio: Portfolio,
    market: MarketSnapshot,
    parameters: StandardMarginParameters | None = None,
    haircuts: HaircutSchedule | None = None,
) -> dict[str, float | None]:
    """Isolated liquidation price of each position: instrument name → underlying index price.

    The USD index price of the position's underlying at which its allocated collateral plus its
    own mark value equals its maintenance margin (module docstring); the current index when it
    is already there; ``None`` when it is never reached (long options, long spot, or a position
    whose collateral covers it at every price from 10⁻⁶ to 10⁶ times the index).
    """
    params = parameters if parameters is not None else load_standard_parameters()
    schedule = haircuts if haircuts is not None else default_haircuts()
    view = view_account(portfolio, market, schedule)
    rates = rate_arrays(params, list(view.valuation.arrays.underlying))
    requirements = standard_requirements_usd(view.valuation.arrays, view.sizes, rates)
    return _liquidation_prices(view, rates, _allocation(view, requirements), schedule)


def _allocation(view: AccountView, requirements: StandardRequirements) -> FloatArray:
    """:func:`allocated_collateral` of the account's collateral value, USD."""
    total = float(view.valuation.collateral.value_usd)
    return allocated_collateral(total, requirements.initial_usd, requirements.value_usd)


class _MovedCollateral:
    """The collateral pool a position sees, USD, after its underlying's index moves.

    Every other currency counts at its value today (haircut on its net holding, as the equity
    counts it). The coin u of column j's underlying, moved by m (S' = S·(1 + m)), counts
    b·S' − h·max(b + v_j(S')/S', 0)·S': the balance b, with the haircut taken on it plus the
    position's *own* coin value (an inverse contract settles in u). Other positions' values do
    not enter a position's pool, so one position's profit never raises another's haircut; with
    a single position the pool plus its value is exactly the account's equity.
    """

    def __init__(self, view: AccountView, haircuts: HaircutSchedule) -> None:
        lines = {line.currency: line for line in view.valuation.collateral.lines}
        arrays = view.valuation.arrays
        underlyings = [str(asset) for asset in arrays.underlying]
        self.total = float(view.valuation.collateral.value_usd)
        self.index = np.asarray(arrays.index_usd, dtype=np.float64)
        self.balance = np.array(
            [float(lines[u].balance) if u in lines else 0.0 for u in underlyings]
        )
        self.haircut = np.array([haircuts.haircut_for(u) for u in underlyings])
        #: 1 where the position settles in its own underlying (inverse), else 0 (linear).
        self.own_coin = np.array(
            [
                1.0 if p.instrument.settlement_currency == p.instrument.underlying else 0.0
                for p in view.portfolio.positions
            ]
        )
        #: The pool outside the moving coin: every other currency's value today.
        self.others = self.total - np.array(
            [float(lines[u].value_usd) if u in lines else 0.0 for u in underlyings]
        )

    def _line(self, price_move: FloatArray | float, values_usd: FloatArray) -> FloatArray:
        moved_price = self.index * (1.0 + np.asarray(price_move))
        net = self.balance + self.own_coin * values_usd / moved_price
        return np.asarray(
            self.balance * moved_price - self.haircut * np.maximum(net, 0.0) * moved_price,
            dtype=np.float64,
        )

    def value(self, price_move: FloatArray | float, values_usd: FloatArray) -> FloatArray:
        """(…, n) pool USD per column, for ``values_usd`` (…, n) revalued at the move."""
        return np.asarray(self.others + self._line(price_move, values_usd), dtype=np.float64)


def _liquidation_prices(
    view: AccountView, rates: RateArrays, allocated_usd: FloatArray, haircuts: HaircutSchedule
) -> dict[str, float | None]:
    arrays = view.valuation.arrays
    collateral = _MovedCollateral(view, haircuts)
    total = collateral.total
    shares = allocated_usd / total if total != 0.0 else np.zeros_like(allocated_usd)

    def excess(price_move: FloatArray | float) -> FloatArray:
        """Allocated collateral + own value − MM of every position, USD, after the move."""
        requirements = standard_requirements_usd(arrays, view.sizes, rates, price_move)
        pool = collateral.value(price_move, requirements.value_usd)
        return np.asarray(
            shares * pool + requirements.value_usd - requirements.maintenance_usd,
            dtype=np.float64,
        )

    category = standard_requirements_usd(arrays, view.sizes, rates).category
    grid_moves = 10.0**_LOG10_FACTORS - 1.0
    grid_moves[np.argmin(np.abs(grid_moves))] = 0.0
    grid = excess(grid_moves[:, None]) if len(shares) else np.zeros((0, 0))
    now = excess(0.0) if len(shares) else np.zeros(0)
    prices: dict[str, float | None] = {}
    for j, row in enumerate(view.valuation.positions):
        index = float(arrays.index_usd[j])
        if category[j] == PositionCategory.PAID_IN_FULL or row.size == 0.0:
            prices[row.instrument] = None
        elif now[j] <= 0.0:
            prices[row.instrument] = index
        else:
            move = _nearest_root(partial(_column, excess, j), grid_moves, grid[:, j])
            prices[row.instrument] = None if move is None else index * (1.0 + move)
    return prices


def _column(excess: Callable[[float], FloatArray], column: int, price_move: float) -> float:
    """One position's element of ``excess(price_move)``."""
    return float(excess(price_move)[column])


def _nearest_root(
    function: Callable[[float], float], moves: FloatArray, values: FloatArray
) -> float | None:
    """The price move nearest 0 (in log price) where ``function`` (positive at 0) reaches 0."""
    centre = int(np.argmin(np.abs(moves)))
    candidates: list[float] = []
    for step in (1, -1):
        j = centre
        while 0 <= j + step < len(moves) and values[j + step] > 0.0:
            j += step
        if 0 <= j + step < len(moves):
            candidates.append(_bracketed_root(function, float(moves[j]), float(moves[j + step])))
    if not candidates:
        return None
    return min(candidates, key=lambda move: abs(np.log1p(move)))


def _bracketed_root(function: Callable[[float], float], inside: float, outside: float) -> float:
    """Root of ``function`` between ``inside`` (positive) and ``outside`` (≤ 0 on the grid)."""
    at_inside, at_outside = function(inside), function(outside)
    if at_outside > 0.0:  # the grid and the scalar evaluation disagree by rounding: take the edge
        return outside
    if at_inside <= 0.0:
        return inside
    low, high = sorted((inside, outside))
    return float(brentq(function, low, high, xtol=1e-15, rtol=4 * np.finfo(float).eps))


def _notes(
    view: AccountView,
    allocated_usd: FloatArray,
    prices: dict[str, float | None],
    held_usd: float,
) -> tuple[str, ...]:
    notes = [
        "Isolated: each position is margined alone by Deribit's standard rates; a position's own "
        "value above its own requirement is held by it, not free for the others.",
        f"Own value held above own requirements: {held_usd:,.2f} USD.",
    ]
    for j, row in enumerate(view.valuation.positions):
        price = prices[row.instrument]
        where = (
            "never liquidated"
            if price is None
            else f"liquidation at {row.underlying} {price:,.2f} USD"
        )
        notes.append(f"{row.instrument}: allocated collateral {allocated_usd[j]:,.2f} USD; {where}")
    return tuple(notes)
