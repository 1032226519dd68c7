"""Several venues coupled through one price (hand-derived), the dYdX per-block limit, the
leverage-equal collateral of the fair regime comparison, and the sourced liquidity."""

from __future__ import annotations

import numpy as np
import pytest

from crossmargin.market import MarketSnapshot
from crossmargin.simulation import (
    CascadeConfig,
    DepthParameters,
    ImpactParameters,
    VenueParameters,
    run_cascade,
    shock_moves,
)
from crossmargin.simulation.liquidity import MarketLiquidity, square_root_depth_usd
from crossmargin.simulation.multivenue import VenueBook, run_venues
from crossmargin.simulation.sweep import leverage_equal_cash
from support.cascades import S0, LinearMargin, perps
from support.markets import flat_market

LN09 = float(np.log(0.9))
IMPACT_A = 0.01 * np.sqrt(0.81 * 25 / 0.9)  # A's round-0 flow 0.81·S0 into 0.9·S0/25: 4.74342 %


@pytest.fixture(scope="module")
def market() -> MarketSnapshot:
    return flat_market({"BTC": S0})


def _config(venue: VenueParameters, depth: float = 0.9 * S0 / 25.0) -> CascadeConfig:
    return CascadeConfig(
        ("BTC",), shock_moves(("BTC",), {"BTC": -0.10}), {"BTC": depth}, venue=venue,
        impact=ImpactParameters(impact_at_depth=0.01, half_spread=0.0, permanent_fraction=1.0),
        depth=DepthParameters(reacting=False), max_rounds=3,
    )  # fmt: skip


def test_two_venues_arbitrage_hand_numbers(market: MarketSnapshot) -> None:
    """Venue A: one account long 1 BTC, cash 0.15·S0; venue B: long 1 BTC, cash 1·S0; equal
    depth 0.9·S0/25 (weights ½, ½), κ = 0.5, shock −10 %, no fees.

    Round 0: A liquidates 0.9 of its position (test_cascade_small's numbers): A's local log
    price ln 0.9 − 0.0474342, B's ln 0.9. Common p = ln 0.9 − 0.0237171; the pull halves each
    gap: A → ln 0.9 − 0.0355757, B → ln 0.9 − 0.0118586; p unchanged by the pull."""
    free = VenueParameters(fee_rate_btc=0.0, fee_rate_other=0.0)
    a = VenueBook("a", LinearMargin(perps(market, [1.0])), np.array([0.15 * S0]), _config(free))
    b = VenueBook("b", LinearMargin(perps(market, [1.0])), np.array([1.0 * S0]), _config(free))
    out = run_venues([a, b], arbitrage_rate=0.5)
    np.testing.assert_allclose(out.weights, [[0.5], [0.5]])
    pa, pb = out.venues["a"].prices, out.venues["b"].prices
    assert pa[1, 0] == pytest.approx(0.9 * S0) and pb[1, 0] == pytest.approx(0.9 * S0)
    assert np.log(out.common_prices[2, 0] / S0) == pytest.approx(LN09 - IMPACT_A / 2, abs=1e-9)
    assert np.log(pa[2, 0] / S0) == pytest.approx(LN09 - 0.75 * IMPACT_A, abs=1e-9)
    assert np.log(pb[2, 0] / S0) == pytest.approx(LN09 - 0.25 * IMPACT_A, abs=1e-9)
    assert out.venues["a"].rounds["liquidated"][0] == 1.0
    assert out.venues["b"].accounts_liquidated == 0
    # every round: the depth-weighted local log prices average to the common one
    rows = min(pa.shape[0], pb.shape[0])
    mean = 0.5 * np.log(pa[:rows, 0]) + 0.5 * np.log(pb[:rows, 0])
    np.testing.assert_allclose(mean, np.log(out.common_prices[:rows, 0]), atol=1e-12)


def test_full_arbitrage_is_one_price_and_oracle_lag(market: MarketSnapshot) -> None:
    """κ = 1: both venues sit at the common price after every round. B checks at the common
    price one round old (oracle lag): its account (cash 0.11·S0, MM 0.09·S0 after the shock)
    breaches at 0.9·S0 already — 0.11 − 0.1 = 0.01 < 1.05·0.09 — and is taken in round 1,
    the oracle's first look at the post-shock price, not in round 0."""
    free = VenueParameters(fee_rate_btc=0.0, fee_rate_other=0.0)
    lagged = VenueParameters(fee_rate_btc=0.0, fee_rate_other=0.0, oracle_lag_rounds=1)
    a = VenueBook("a", LinearMargin(perps(market, [1.0])), np.array([0.15 * S0]), _config(free))
    b = VenueBook("b", LinearMargin(perps(market, [1.0])), np.array([0.11 * S0]),
                  _config(lagged))  # fmt: skip
    out = run_venues([a, b], arbitrage_rate=1.0)
    pa, pb = out.venues["a"].prices, out.venues["b"].prices
    rows = min(pa.shape[0], pb.shape[0])
    np.testing.assert_allclose(pa[:rows], pb[:rows], rtol=1e-12)
    assert out.venues["b"].first_liquidated.tolist() == [1]


def test_dydx_per_block_limit_caps_the_close(market: MarketSnapshot) -> None:
    """dYdX-style cap $6k a round on an account holding 0.9·S0 = $45k after the shock: round 0
    closes 6,000 of notional (fraction 6,000/45,000), not the 0.9 an uncapped venue would."""
    capped = VenueParameters(fee_rate_btc=0.0, fee_rate_other=0.0,
                             max_close_usd_per_account=6_000.0)  # fmt: skip
    source = LinearMargin(perps(market, [1.0]))
    result = run_cascade(source, np.array([0.15 * S0]), _config(capped, depth=1e15))
    assert result.rounds["liquidated_notional_usd"][0] == pytest.approx(6_000.0)
    assert VenueParameters.dydx().max_close_usd_per_account == 6_000_000.0


def test_leverage_equal_cash_hand_numbers(market: MarketSnapshot) -> None:
    """Cross MM 10 % vs a model with MM 2.5 % (four times the leverage): account 0 cash 10,000
    on 1 BTC (MM 5,000 → h = 2) gets 2 × 1,250 = 2,500; account 1 (no position) keeps its cash."""
    table = perps(market, [1.0, 0.0])
    cash = leverage_equal_cash(LinearMargin(table), LinearMargin(table, 0.025),
                               np.array([10_000.0, 700.0]))  # fmt: skip
    assert cash.tolist() == pytest.approx([2_500.0, 700.0])
    owner = np.array([0, 0])  # one account split into two positions (isolated)
    split = leverage_equal_cash(LinearMargin(perps(market, [1.0])), LinearMargin(table),
                                np.array([10_000.0]), owner)  # fmt: skip
    assert split.tolist() == pytest.approx([10_000.0, 0.0])


def test_square_root_liquidity_numbers() -> None:
    """V = 9e8, σ = 3 %, Y = 1 → 1 % depth 1e8; venue share 2 on a book with G = 1e6: depth
    (1e6/2)·(1/3)² = 55,555.6; one book USD stands for 2·9e8/1e6 = 1,800 real USD; $9M on V
    moves Y·σ·√(0.01) = 0.3 %."""
    assert float(square_root_depth_usd(9e8, 0.03)) == pytest.approx(1e8)
    liquidity = MarketLiquidity({"BTC": 9e8}, {"BTC": 0.03}, venue_share=2.0)
    assert liquidity.depth_usd({"BTC": 1e6})["BTC"] == pytest.approx(1e6 / 2 / 9)
    assert liquidity.real_usd_per_book_usd({"BTC": 1e6}) == pytest.approx(1_800.0)
    assert liquidity.impact_of("BTC", 9e6) == pytest.approx(0.003)
    assert liquidity.with_(impact_y=2.0).depth_usd({"BTC": 1e6})["BTC"] == pytest.approx(
        1e6 / 2 / 36
    )
