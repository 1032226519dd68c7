"""Auto-deleveraging policies compared on one cascade: who takes a bankrupt account's position
when the insurance fund cannot.

The bankrupt residual (USD delta notional ``Q`` on one underlying, and the uncovered loss ``L``)
is closed against accounts holding the opposite delta; each taken account gives up ``q_i`` of its
opposing delta (Σ q_i = Q) and bears ``L · q_i / Q`` (closing at the bankruptcy price):

* ``profit-leverage`` — Binance's ranking (max(0, uPnL)/max(1, wallet) × MM/(wallet + uPnL),
  :func:`crossmargin.liquidation.adl_scores`), highest first, whole positions until Q is met;
* ``pro-rata`` — every opposing account gives up the same fraction Q / Σ|opposing delta|;
* ``scan`` — dYdX v4: offsetting accounts scanned from a pseudo-random start (seeded), in index
  order, without a profit × leverage ranking (venues.md "Liquidation mechanics").

Measures per policy: accounts hit (ADL events), notional closed, the part closed at accounts in
profit whose profit alone covered their loss share (**over-liquidation**: a pro-rata profit
haircut, Deribit's socialised loss, would have left those positions open), and the loss landing
on accounts that were not in profit.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.errors import InputError
from crossmargin.liquidation import adl_scores

__all__ = ["AdlAllocation", "AdlPolicy", "allocate_adl"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class AdlPolicy(StrEnum):
    """How opposing accounts are chosen."""

    PROFIT_LEVERAGE = "profit-leverage"
    PRO_RATA = "pro-rata"
    SCAN = "scan"


@dataclass(frozen=True, eq=False)
class AdlAllocation:
    """Accounts taken (``account``), delta notional each gives up (``closed_usd`` > 0, adds up to
    Q) and loss each bears (``loss_usd`` ≥ 0, adds up to L); ``left_usd`` is the part of Q nobody
    could take (its share of L is unresolved bad debt)."""

    account: IntArray
    closed_usd: FloatArray
    loss_usd: FloatArray
    left_usd: float


def allocate_adl(
    policy: AdlPolicy,
    needed_usd: float,
    loss_usd: float,
    opposing_usd: FloatArray,
    upnl_usd: FloatArray,
    wallet_usd: FloatArray,
    maintenance_usd: FloatArray,
    rng: np.random.Generator,
) -> AdlAllocation:
    """Allocate a bankrupt residual of ``needed_usd`` (Q ≥ 0) and its loss ``loss_usd`` (L ≥ 0).

    Parameters
    ----------
    policy:
        :class:`AdlPolicy`.
    opposing_usd:
        (n,) each account's delta opposing the bankrupt one, USD ≥ 0 (0: not a candidate).
    upnl_usd, wallet_usd, maintenance_usd:
        (n,) unrealised P&L (+ profit), wallet (cash + collateral) and MM, USD.
    rng:
        Seeded generator (the scan's start).

    Returns
    -------
    AdlAllocation; the loss of the taken part is ``L · (Q − left)/Q``.
    """
    if needed_usd < 0 or loss_usd < 0:
        raise InputError("needed_usd", needed_usd, "needed and loss must be >= 0")
    candidates = np.flatnonzero(opposing_usd > 0).astype(np.int64)
    available = opposing_usd[candidates]
    total = float(available.sum())
    if needed_usd == 0 or candidates.size == 0:
        empty = np.zeros(0)
        return AdlAllocation(np.zeros(0, np.int64), empty, empty, float(needed_usd))
    if policy is AdlPolicy.PRO_RATA:
        take = available * min(1.0, needed_usd / total)
    else:
        if policy is AdlPolicy.PROFIT_LEVERAGE:
            scores = adl_scores(
                upnl_usd[candidates], wallet_usd[candidates], maintenance_usd[candidates],
                available,
            )  # fmt: skip
            order = np.lexsort((candidates, -scores))
        else:
            start = int(rng.integers(candidates.size))
            order = np.roll(np.arange(candidates.size), -start)
        ranked = available[order]
        before = np.cumsum(ranked) - ranked
        taken = np.clip(needed_usd - before, 0.0, ranked)
        take = np.zeros(candidates.size)
        take[order] = taken
    hit = take > 0
    closed = take[hit]
    left = max(0.0, needed_usd - float(closed.sum()))
    loss = loss_usd * closed / needed_usd
    return AdlAllocation(candidates[hit], closed, loss, left)
