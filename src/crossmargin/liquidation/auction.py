"""On-chain liquidation: Derive's Dutch auction, bound by block time, gas and oracle lag.

Derive (``derivexyz/v2-core`` ``src/liquidation/DutchAuction.sol``, defaults of
``scripts/config-mainnet.sol``; venues.md "Liquidation mechanics"):

* the price factor d (× the positions' mark-to-market) starts at 0.95 and falls linearly to 0.70
  over a 15-min fast phase, then to 0 over a 12-h slow phase (:func:`auction_price_factor`);
* a fee of 10 % of |MtM| is paid once, at the start, to the security module;
* buffer margin BM = MM + 0.15·(MM − MtM) with Derive's MM the margin-adjusted value (MtM − the
  maintenance requirement R_m), i.e. BM = MtM − 1.15·R_m; the auction runs while BM < 0;
* a bid for fraction f of the positions pays (MtM − cash)·d·f into the account, f capped at
  BM / (BM − MtM·d − cash·(1 − d)) (:func:`max_bid_fraction`), which brings BM to 0 exactly;
* an insolvent account (MtM ≤ 0) goes to the insolvent phase: the security module pays the
  bidder an amount rising from |MtM| to |MtM| + R_m over 60 min (:func:`insolvent_payment_usd`,
  our reading of "a price rising from min(MtM, 0) to MM").

The chain sees prices once per block with ``OracleTiming.lag_blocks`` of lag; a keeper sees the
true value and bids, at the largest fraction allowed, as soon as its profit f·(true − d·seen)·P
less gas reaches ``keeper_min_profit_usd``. Pure functions over per-block arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.core.errors import InputError
from crossmargin.core.numeric import collateral_to_decimal, margin_to_decimal
from crossmargin.liquidation.parameters import AuctionParameters
from crossmargin.oracles import OracleTiming

__all__ = [
    "AuctionBid",
    "AuctionEnd",
    "AuctionResult",
    "auction_price_factor",
    "buffer_margin_usd",
    "insolvent_payment_usd",
    "max_bid_fraction",
    "run_dutch_auction",
]

FloatArray = NDArray[np.float64]


def auction_price_factor(elapsed_s: ArrayLike, parameters: AuctionParameters) -> FloatArray:
    """The auction's price factor d (dimensionless, × MtM) after ``elapsed_s`` seconds.

    Worked example (Derive defaults): t = 450 s → 0.95 − 0.25·450/900 = 0.825; t = 900 s →
    0.70; t = 900 + 21,600 s → 0.35; from 44,100 s on → 0.
    """
    t = np.asarray(elapsed_s, dtype=np.float64)
    p = parameters
    fast = p.start_factor - (p.start_factor - p.fast_end_factor) * t / p.fast_phase_s
    slow = p.fast_end_factor * (1.0 - (t - p.fast_phase_s) / p.slow_phase_s)
    factor = np.where(t <= p.fast_phase_s, fast, np.maximum(slow, 0.0))
    return np.asarray(np.where(t < 0.0, p.start_factor, factor), dtype=np.float64)


def buffer_margin_usd(
    mtm_usd: ArrayLike, maintenance_usd: ArrayLike, buffer_rate: float
) -> FloatArray:
    """BM = MM + buffer·(MM − MtM) with MM = MtM − R_m, i.e. MtM − (1 + buffer)·R_m, USD."""
    mtm = np.asarray(mtm_usd, dtype=np.float64)
    return np.asarray(mtm - (1.0 + buffer_rate) * np.asarray(maintenance_usd, dtype=np.float64))


def max_bid_fraction(bm_usd: float, mtm_usd: float, factor: float, cash_usd: float = 0.0) -> float:
    """Largest fraction of the positions a bid may take: BM / (BM − MtM·d − cash·(1 − d)),
    clipped to [0, 1]; 0 when BM ≥ 0 (nothing to liquidate).

    Worked example: positions 1,000, cash 0, R_m 1,000 → BM = 1,000 − 1,150 = −150; at d = 0.95
    f = −150 / (−150 − 950) = 0.13636…; selling it for 0.95·1,000·f leaves BM = 0.
    """
    if bm_usd >= 0.0:
        return 0.0
    denominator = bm_usd - mtm_usd * factor - cash_usd * (1.0 - factor)
    if denominator >= 0.0:
        return 1.0
    return float(min(1.0, bm_usd / denominator))


def insolvent_payment_usd(
    elapsed_s: float, mtm_usd: float, maintenance_usd: float, parameters: AuctionParameters
) -> float:
    """What the security module pays the bidder who takes an insolvent account, USD ≥ 0:
    |min(MtM, 0)| + R_m·min(1, t / insolvent_phase_s)."""
    share = min(1.0, max(elapsed_s, 0.0) / parameters.insolvent_phase_s)
    return max(-mtm_usd, 0.0) + maintenance_usd * share


class AuctionEnd(StrEnum):
    """Why an auction stopped."""

    RESTORED = "restored"  # BM ≥ 0
    INSOLVENT_TAKEN = "insolvent-taken"  # a bidder took the insolvent account
    NO_BID = "no-bid"  # the path ended without restoring the account


@dataclass(frozen=True, slots=True)
class AuctionBid:
    """A keeper's bid: block, seconds since start, the price factor, the fraction of the
    positions taken, what it paid the account (Decimal USD; negative: the security module paid
    it) and its profit after gas (USD, true prices)."""

    block: int
    elapsed_s: float
    factor: float
    fraction: float
    paid: Decimal
    keeper_profit_usd: float


@dataclass(frozen=True, eq=False)
class AuctionResult:
    """The auction: fee to the security module (Decimal), bids, how it ended, and the account's
    positions fraction and cash after (USD)."""

    fee: Decimal
    bids: tuple[AuctionBid, ...]
    end: AuctionEnd
    fraction_left: float
    cash_after_usd: float
    security_module_paid: Decimal


def run_dutch_auction(
    positions_value_usd: ArrayLike,
    maintenance_usd: ArrayLike,
    cash_usd: float,
    parameters: AuctionParameters,
    timing: OracleTiming,
    gas_cost_usd: ArrayLike | None = None,
) -> AuctionResult:
    """Run one account's auction over a path of blocks (block 0 starts it).

    Parameters
    ----------
    positions_value_usd:
        (n_blocks,) true mark-to-market of the account's positions at full size, USD.
    maintenance_usd:
        (n_blocks,) their maintenance requirement R_m at full size, USD ≥ 0.
    cash_usd:
        The account's cash at the start, USD (MtM = positions + cash).
    parameters, timing:
        Derive's auction parameters; block time and oracle lag (``OracleTiming``).
    gas_cost_usd:
        Optional (n_blocks,) gas cost of a bid per block (default ``parameters.gas_cost_usd``).
    """
    value = np.asarray(positions_value_usd, dtype=np.float64)
    required = np.asarray(maintenance_usd, dtype=np.float64)
    if value.ndim != 1 or value.shape != required.shape or value.size == 0:
        raise InputError("maintenance_usd", required.shape, f"must match {value.shape}, non-empty")
    gas = np.broadcast_to(
        np.asarray(parameters.gas_cost_usd if gas_cost_usd is None else gas_cost_usd), value.shape
    )
    lag = timing.lag_blocks
    fee_usd = parameters.fee_rate * abs(float(value[0]) + cash_usd)
    fee = margin_to_decimal(fee_usd)
    cash, left, paid_by_module = cash_usd - float(fee), 1.0, Decimal(0)
    bids: list[AuctionBid] = []
    for k in range(value.size):
        seen = float(value[max(k - lag, 0)]) * left
        seen_required = float(required[max(k - lag, 0)]) * left
        elapsed = k * timing.block_time_s
        true_value = float(value[k]) * left
        if seen + cash <= 0.0:  # insolvent phase: the module pays a bidder to take it all
            payment = insolvent_payment_usd(elapsed, seen + cash, seen_required, parameters)
            profit = true_value + cash + payment - float(gas[k])
            if profit >= parameters.keeper_min_profit_usd:
                paid = -margin_to_decimal(payment)
                bids.append(AuctionBid(k, elapsed, 0.0, 1.0, paid, profit))
                return AuctionResult(fee, tuple(bids), AuctionEnd.INSOLVENT_TAKEN, 0.0, 0.0, -paid)
            continue
        bm = float(buffer_margin_usd(seen + cash, seen_required, parameters.buffer_rate))
        if bm >= -1e-6:  # restored (a bid of the largest fraction brings BM to 0 exactly)
            return AuctionResult(fee, tuple(bids), AuctionEnd.RESTORED, left, cash, paid_by_module)
        factor = float(auction_price_factor(elapsed, parameters))
        fraction = max_bid_fraction(bm, seen + cash, factor, cash)
        profit = fraction * (true_value - factor * seen) - float(gas[k])
        if fraction > 0.0 and profit >= parameters.keeper_min_profit_usd:
            paid = collateral_to_decimal(factor * seen * fraction)
            bids.append(AuctionBid(k, elapsed, factor, fraction, paid, profit))
            cash += float(paid)
            left *= 1.0 - fraction
    return AuctionResult(fee, tuple(bids), AuctionEnd.NO_BID, left, cash, paid_by_module)
