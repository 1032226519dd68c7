"""Isolated margin: every position margined alone, with its own share of the collateral.

Rates are Deribit's standard ones (:mod:`crossmargin.margin.standard.rates`); what differs from
standard cross margin is that no position may lean on another:

* **Requirement.** Position i needs its standard requirement less its *own* unrealised profit:
  IM_i' = max(IM_i − g_i, 0) and MM_i' = max(MM_i − g_i, 0), where g_i = max(v_i, 0) and v_i is
  the position's mark value (unrealised P&L for futures; for options the (negative) value of a
  short, the premium value of a long). IM = Σ IM_i', MM = Σ MM_i'. A long option needs 0 and its
  value supports only itself.
* **Equity.** equity = collateral after haircuts + Σ min(v_i, 0): every loss counts, no gain
  does (a gain only offsets its own position's requirement, above). Hence
  equity − IM = C + Σ min(v_i − IM_i, 0) ≤ C + Σ (v_i − IM_i), the cross model's figure: isolated
  never leaves more room than cross, and an account is liquidatable under isolated
  (equity ≤ MM, i.e. C ≤ Σ max(MM_i − v_i, 0)) no later than under cross.
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
from decimal import Decimal
from functools import partial

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import brentq

from crossmargin.collateral import HaircutSchedule, default_haircuts
from crossmargin.core.numeric import to_decimal_nearest
from crossmargin.margin.common import AccountView, assemble_result, view_account
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
    category's requirements net of every position's own unrealised profit; each position's
    contribution is its own max(IM_i − g_i, 0). ``notes`` give each position's allocated collateral
    and liquidation price.

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

    def margin(self, portfolio: Portfolio, market: MarketSnapshot) -> MarginResult:
        """Margin ``portfolio`` at ``market`` under isolated margin (USD, IM ≥ MM ≥ 0)."""
        view = view_account(portfolio, market, self.haircuts)
        rates = rate_arrays(self.parameters, list(view.valuation.arrays.underlying))
        requirements = standard_requirements_usd(view.valuation.arrays, view.sizes, rates)
        own_gain = np.maximum(requirements.value_usd, 0.0)
        initial = np.maximum(requirements.initial_usd - own_gain, 0.0)
        maintenance = np.maximum(requirements.maintenance_usd - own_gain, 0.0)
        allocated = _allocation(view, requirements)
        credit = float(np.sum(np.minimum(own_gain, requirements.initial_usd)))
        result = assemble_result(
            self.name,
            view,
            category_totals(initial, requirements.category, "im"),
            category_totals(maintenance, requirements.category, "mm"),
            initial,
            self.parameters.version,
            notes=_notes(view, allocated, _liquidation_prices(view, rates, allocated), credit),
        )
        losses = sum(
            (
                to_decimal_nearest(min(row.mark_value_usd, 0.0), "USD", row.instrument)
                for row in view.valuation.positions
            ),
            Decimal(0),
        )
        return dataclasses.replace(result, equity=view.valuation.collateral.value_usd + losses)


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
    view = view_account(portfolio, market, haircuts if haircuts is not None else default_haircuts())
    rates = rate_arrays(params, list(view.valuation.arrays.underlying))
    requirements = standard_requirements_usd(view.valuation.arrays, view.sizes, rates)
    return _liquidation_prices(view, rates, _allocation(view, requirements))


def _allocation(view: AccountView, requirements: StandardRequirements) -> FloatArray:
    """:func:`allocated_collateral` of the account's (unrounded) collateral value, USD."""
    total, _ = _collateral_by_currency(view)
    return allocated_collateral(total, requirements.initial_usd, requirements.value_usd)


def _collateral_by_currency(view: AccountView) -> tuple[float, dict[str, float]]:
    """Collateral after haircuts, USD and unrounded: the total and the part in each currency
    (linear in that currency's price, so it scales by (1 + m) when the currency moves by m)."""
    weighted = {
        line.currency: float(line.balance)
        * line.price_usd
        * (1.0 - line.haircut if line.balance >= 0 else 1.0 + line.haircut)
        for line in view.valuation.collateral.lines
    }
    return sum(weighted.values()), weighted


def _liquidation_prices(
    view: AccountView, rates: RateArrays, allocated_usd: FloatArray
) -> dict[str, float | None]:
    arrays = view.valuation.arrays
    total, by_currency = _collateral_by_currency(view)
    moving = np.array([by_currency.get(str(asset), 0.0) for asset in arrays.underlying])
    shares = allocated_usd / total if total != 0.0 else np.zeros_like(allocated_usd)

    def excess(price_move: FloatArray | float) -> FloatArray:
        """Allocated collateral + own value − MM of every position, USD, after the move."""
        requirements = standard_requirements_usd(arrays, view.sizes, rates, price_move)
        collateral = total + moving * np.asarray(price_move)
        return np.asarray(
            shares * collateral + requirements.value_usd - requirements.maintenance_usd,
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
    credit_usd: float,
) -> tuple[str, ...]:
    notes = [
        "Isolated: each position is margined alone by Deribit's standard rates, net of its own "
        "unrealised profit only; equity counts every loss and no gain.",
        f"Own-profit credit against own requirements: {credit_usd:,.2f} USD.",
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
