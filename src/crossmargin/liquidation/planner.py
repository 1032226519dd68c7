"""The partial-liquidation planner and the two baselines it is measured against.

:func:`plan_partial_liquidation` brings a liquidatable account back to its target (equity ≥
``target_multiple`` × IM by default) at the least expected cost. Greedily, step by step: every
position, and every hedge group (:func:`~crossmargin.liquidation.account.hedge_groups`) as a
whole, offers closing one ``step_fraction`` (or all) of its legs, in proportion; the step taken
is the one that cuts the requirement most per USD of cost (slippage from book depth plus the
liquidation fee), among the steps that do not raise the maintenance margin. A hedge leg closed
alone would leave its naked leg and raise the maintenance margin, so it is never taken: hedges
go together, or the naked surplus goes first. The last step is refined to the smallest
multiple of the minimum sizes that meets the target. Closing at mark leaves equity unchanged
except for the cost, so equity after = equity before − cost.

Baselines: :func:`plan_close_everything` (the whole account at once) and
:func:`plan_largest_first` (whole positions by notional, largest first, blind to hedges).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from crossmargin.liquidation.account import AccountRisk, MarginFunction
from crossmargin.liquidation.parameters import PlannerParameters, Requirement, SlippageParameters
from crossmargin.liquidation.slippage import slippage_fraction

__all__ = [
    "LiquidationPlan",
    "close_cost_usd",
    "plan_close_everything",
    "plan_largest_first",
    "plan_partial_liquidation",
    "rounded_close",
]

FloatArray = NDArray[np.float64]
_TOLERANCE_USD = 1e-7


@dataclass(frozen=True, eq=False)
class LiquidationPlan:
    """What to close, in order, and what it costs (USD floats; signs as positions).

    Attributes
    ----------
    strategy:
        ``"partial"``, ``"close-everything"`` or ``"largest-first"``.
    steps:
        Close vectors in execution order, each (n,) in native units with the sign of the
        position closed (new size = size − step).
    slippage_usd, fee_usd:
        Expected slippage (to the market) and liquidation fees (to the insurance fund), ≥ 0.
    equity_before_usd, equity_after_usd:
        Equity before and after (after = before − slippage − fee).
    initial_before_usd, maintenance_before_usd, initial_after_usd, maintenance_after_usd:
        Requirements before and after, USD ≥ 0.
    target_met:
        Whether equity after ≥ target multiple × requirement after.
    """

    strategy: str
    size_before: FloatArray
    steps: tuple[FloatArray, ...]
    slippage_usd: float
    fee_usd: float
    equity_before_usd: float
    equity_after_usd: float
    initial_before_usd: float
    maintenance_before_usd: float
    initial_after_usd: float
    maintenance_after_usd: float
    target_met: bool

    @property
    def cost_usd(self) -> float:
        """Collateral lost to the liquidation: slippage + fees, USD ≥ 0."""
        return self.slippage_usd + self.fee_usd

    @property
    def close_size(self) -> FloatArray:
        """(n,) total amount closed per position (sign of the position)."""
        total = np.zeros_like(self.size_before)
        for step in self.steps:
            total += step
        return total

    @property
    def size_after(self) -> FloatArray:
        """(n,) sizes left after the plan."""
        return self.size_before - self.close_size


def close_cost_usd(
    account: AccountRisk, closes: FloatArray, slippage: SlippageParameters
) -> tuple[FloatArray, FloatArray]:
    """(slippage, fee) in USD ≥ 0 of each row of ``closes`` (k, n), each leg a market order."""
    notional = np.abs(np.atleast_2d(closes)) * account.unit_notional_usd
    slip = notional * slippage_fraction(notional, account.depth_usd, slippage)
    return slip.sum(axis=1), (notional * account.fee_rate).sum(axis=1)


def rounded_close(raw: FloatArray, remaining: FloatArray, min_size: FloatArray) -> FloatArray:
    """``raw`` close amounts rounded to multiples of ``min_size``, at least one minimum where a
    position is left and ``raw`` ≠ 0, never more than ``remaining``; a remainder under half a
    minimum is closed too. Signs follow ``remaining``."""
    left = np.abs(remaining)
    lots = np.round(np.abs(raw) / min_size) * min_size
    lots = np.where((np.abs(raw) > 0) & (left > 0), np.maximum(lots, min_size), 0.0)
    lots = np.minimum(lots, left)
    lots = np.where(left - lots < 0.5 * min_size, np.where(np.abs(raw) > 0, left, 0.0), lots)
    return np.sign(remaining) * lots


class _Evaluator:
    """Requirement, margin and target of candidate states of one account."""

    def __init__(
        self,
        account: AccountRisk,
        margin: MarginFunction,
        planner: PlannerParameters,
        slippage: SlippageParameters,
    ) -> None:
        self.account, self.margin, self.planner, self.slippage = account, margin, planner, slippage

    def requirement(self, initial: FloatArray, maintenance: FloatArray) -> FloatArray:
        return initial if self.planner.requirement is Requirement.INITIAL else maintenance

    def met(self, equity: float, requirement: float) -> bool:
        return equity >= self.planner.target_multiple * requirement - _TOLERANCE_USD


def _plan(
    strategy: str,
    ev: _Evaluator,
    steps: list[FloatArray],
    slippage_usd: float,
    fee_usd: float,
) -> LiquidationPlan:
    account = ev.account
    closed = np.sum(np.array(steps), axis=0) if steps else np.zeros_like(account.size)
    size_after = account.size - closed
    before = ev.margin(account.size[None, :])
    after = ev.margin(size_after[None, :])
    equity_before = account.equity_usd()
    equity_after = equity_before - slippage_usd - fee_usd
    required = float(ev.requirement(*after)[0])
    return LiquidationPlan(
        strategy,
        account.size.copy(),
        tuple(steps),
        slippage_usd,
        fee_usd,
        equity_before,
        equity_after,
        float(before[0][0]),
        float(before[1][0]),
        float(after[0][0]),
        float(after[1][0]),
        equity_after > 0 and ev.met(equity_after, required),
    )


def plan_close_everything(
    account: AccountRisk,
    margin: MarginFunction,
    planner: PlannerParameters,
    slippage: SlippageParameters,
) -> LiquidationPlan:
    """Close every position at once (one market order per position)."""
    ev = _Evaluator(account, margin, planner, slippage)
    step = account.size.copy()
    slip, fee = close_cost_usd(account, step, slippage)
    return _plan("close-everything", ev, [step], float(slip[0]), float(fee[0]))


def plan_largest_first(
    account: AccountRisk,
    margin: MarginFunction,
    planner: PlannerParameters,
    slippage: SlippageParameters,
) -> LiquidationPlan:
    """Close whole positions, largest notional first (ties by index), until the target is met;
    hedges are ignored, so it may strip a hedge and leave the naked leg."""
    ev = _Evaluator(account, margin, planner, slippage)
    notional = np.abs(account.size) * account.unit_notional_usd
    order = np.lexsort((np.arange(account.position_count), -notional))
    remaining, steps = account.size.copy(), list[FloatArray]()
    slip_total = fee_total = 0.0
    equity = account.equity_usd()
    for i in order:
        initial, maintenance = margin(remaining[None, :])
        if equity - slip_total - fee_total > 0 and ev.met(
            equity - slip_total - fee_total, float(ev.requirement(initial, maintenance)[0])
        ):
            break
        if remaining[i] == 0.0:
            continue
        step = np.zeros_like(remaining)
        step[i] = remaining[i]
        slip, fee = close_cost_usd(account, step, slippage)
        slip_total, fee_total = slip_total + float(slip[0]), fee_total + float(fee[0])
        remaining = remaining - step
        steps.append(step)
    return _plan("largest-first", ev, steps, slip_total, fee_total)


def plan_partial_liquidation(
    account: AccountRisk,
    margin: MarginFunction,
    planner: PlannerParameters,
    slippage: SlippageParameters,
) -> LiquidationPlan:
    """The least-cost partial liquidation (see the module docstring).

    An account already at its target gets an empty plan; a bankrupt one (equity ≤ 0) is closed
    whole. The maintenance margin never rises from one step to the next. When no step can cut
    the requirement any further, the plan stops short and ``target_met`` is False.
    """
    ev = _Evaluator(account, margin, planner, slippage)
    equity0 = account.equity_usd()
    if equity0 <= 0.0:
        whole = account.size.copy()
        slip, fee = close_cost_usd(account, whole, slippage)
        return _plan("partial", ev, [whole], float(slip[0]), float(fee[0]))
    groups = np.unique(account.hedge_group)
    members = [account.hedge_group == g for g in groups if np.sum(account.hedge_group == g) > 1]
    members += [np.arange(account.position_count) == i for i in range(account.position_count)]
    remaining, steps = account.size.copy(), list[FloatArray]()
    slip_total = fee_total = 0.0
    initial, maintenance = margin(remaining[None, :])
    for _ in range((int(np.ceil(1.0 / planner.step_fraction)) + 1) * len(members)):
        equity = equity0 - slip_total - fee_total
        required = float(ev.requirement(initial, maintenance)[0])
        if ev.met(equity, required):
            break
        candidates = []
        for mask in members:
            for fraction in (planner.step_fraction, 1.0):
                raw = np.where(mask, account.size * fraction, 0.0)
                step = rounded_close(raw, np.where(mask, remaining, 0.0), account.min_size)
                if np.any(step != 0.0):
                    candidates.append(step)
        if not candidates:
            break
        block = np.array(candidates)
        new_initial, new_maintenance = margin(remaining[None, :] - block)
        slip, fee = close_cost_usd(account, block, slippage)
        gain = required - ev.requirement(new_initial, new_maintenance)
        allowed = (new_maintenance <= maintenance[0] + _TOLERANCE_USD) & (gain > _TOLERANCE_USD)
        if not np.any(allowed):
            break
        score = np.where(allowed, gain / np.maximum(slip + fee, 1e-12), -np.inf)
        best = int(np.argmax(score))
        step = _refined(ev, remaining, block[best], equity)
        one_slip, one_fee = close_cost_usd(account, step, slippage)
        slip_total, fee_total = slip_total + float(one_slip[0]), fee_total + float(one_fee[0])
        remaining = remaining - step
        initial, maintenance = margin(remaining[None, :])
        steps.append(step)
    return _plan("partial", ev, steps, slip_total, fee_total)


def _refined(ev: _Evaluator, remaining: FloatArray, step: FloatArray, equity: float) -> FloatArray:
    """The smallest of 1/10 … 10/10 of ``step`` (rounded to minimum sizes) that meets the
    target without raising MM; ``step`` itself when none of the smaller ones does."""
    account = ev.account
    parts = np.array(
        [rounded_close(step * j / 10.0, remaining, account.min_size) for j in range(1, 11)]
    )
    initial, maintenance = ev.margin(remaining[None, :] - parts)
    _, maintenance_now = ev.margin(remaining[None, :])
    slip, fee = close_cost_usd(account, parts, ev.slippage)
    required = ev.requirement(initial, maintenance)
    for j in range(10):
        if maintenance[j] <= maintenance_now[0] + _TOLERANCE_USD and ev.met(
            equity - float(slip[j] + fee[j]), float(required[j])
        ):
            return np.asarray(parts[j])
    return step
