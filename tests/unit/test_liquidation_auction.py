"""Derive's Dutch auction: the published schedule, the bid cap, keepers and oracle lag."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from crossmargin.liquidation import (
    AuctionEnd,
    auction_price_factor,
    insolvent_payment_usd,
    load_liquidation_parameters,
    max_bid_fraction,
    run_dutch_auction,
)
from crossmargin.oracles import OracleMode, OracleTiming

AUCTION = load_liquidation_parameters().auction
TIMING = OracleTiming(OracleMode.ON_CHAIN, block_time_s=2.0, lag_blocks=0)


def test_price_factor_follows_derives_schedule() -> None:
    """derivexyz/v2-core getDefaultAuctionParam: 0.95 at t = 0, 0.825 at 450 s, 0.70 at 900 s
    (end of the fast phase), 0.35 half way through the 12-h slow phase (900 + 21,600 s), 0 at
    44,100 s and after."""
    factor = auction_price_factor([0.0, 450.0, 900.0, 22_500.0, 44_100.0, 50_000.0], AUCTION)
    np.testing.assert_allclose(factor, [0.95, 0.825, 0.70, 0.35, 0.0, 0.0], atol=1e-12)


def test_max_bid_fraction_restores_buffer_margin_exactly() -> None:
    """Positions 1,000, cash 0, R_m 1,000: BM = 1,000 − 1.15·1,000 = −150; at d = 0.95,
    f = −150 / (−150 − 950) = 0.136364. After the bid: positions 863.64, cash 129.55, R_m
    863.64 → BM = 993.18 − 993.18 = 0."""
    f = max_bid_fraction(-150.0, 1000.0, 0.95)
    assert f == pytest.approx(150 / 1100)
    left, cash = 1000.0 * (1 - f), 0.95 * 1000.0 * f
    assert left + cash - 1.15 * left == pytest.approx(0.0, abs=1e-9)
    assert max_bid_fraction(10.0, 1000.0, 0.95) == 0.0


def test_keeper_bids_at_once_when_the_discount_pays_for_gas() -> None:
    """Positions 1,000 (constant), R_m 1,000, cash 0. Fee 10 % × 1,000 = 100 → cash −100,
    MtM 900, BM = 900 − 1,150 = −250; f = −250 / (−250 − 0.95·900 + 100·0.05) = 0.227273;
    keeper profit f·(1,000 − 950) − 2 gas = 9.36 ≥ 1 → bids in block 0, paying
    0.95·1,000·f = 215.909090 (rounded down to 215.909090). Next block BM = 0: restored."""
    result = run_dutch_auction(np.full(5, 1000.0), np.full(5, 1000.0), 0.0, AUCTION, TIMING)
    assert result.fee == Decimal("100.000000")
    assert result.end is AuctionEnd.RESTORED
    (bid,) = result.bids
    assert bid.block == 0 and bid.fraction == pytest.approx(0.25 / 1.1)
    assert bid.paid == Decimal("215.909090")
    assert bid.keeper_profit_usd == pytest.approx(0.25 / 1.1 * 50 - 2)
    assert result.fraction_left == pytest.approx(1 - 0.25 / 1.1)


def test_expensive_gas_and_oracle_lag_delay_the_bid() -> None:
    """With 60 USD of gas no bid pays at 0.95 (profit 11.4 − 60 < 1); the keeper waits until
    the discount grows. On a falling price, a 3-block oracle lag shows the chain a stale, higher
    value, so the auction charges the keeper more and the bid comes no earlier."""
    blocks = 400
    value = 1000.0 * (1.0 - 0.0005 * np.arange(blocks))
    required = np.full(blocks, 1000.0)
    fresh = run_dutch_auction(value, required, 0.0, AUCTION, TIMING, gas_cost_usd=60.0)
    lagged_timing = OracleTiming(OracleMode.ON_CHAIN, block_time_s=2.0, lag_blocks=3)
    lagged = run_dutch_auction(value, required, 0.0, AUCTION, lagged_timing, gas_cost_usd=60.0)
    assert fresh.bids and lagged.bids
    assert fresh.bids[0].block > 0 and fresh.bids[0].factor < 0.95
    assert lagged.bids[0].block >= fresh.bids[0].block


def test_insolvent_account_is_paid_away_by_the_security_module() -> None:
    """Positions −50, cash 0: fee 10 % × 50 = 5 → cash −5, MtM −55 ≤ 0 (insolvent). The module
    pays 55 + 100·t / 3,600 s (R_m 100); the keeper's profit −50 − 5 + payment − 2 gas reaches
    the 1 USD minimum at t = 108 s, block 54 of 2 s: it takes the account for 58.000000 paid by
    the security module."""
    assert insolvent_payment_usd(1800.0, -55.0, 100.0, AUCTION) == pytest.approx(105.0)
    result = run_dutch_auction(np.full(200, -50.0), np.full(200, 100.0), 0.0, AUCTION, TIMING)
    assert result.end is AuctionEnd.INSOLVENT_TAKEN
    (bid,) = result.bids
    assert bid.block == 54 and bid.paid == Decimal("-58.000000")
    assert result.security_module_paid == -bid.paid
    assert bid.keeper_profit_usd >= AUCTION.keeper_min_profit_usd
