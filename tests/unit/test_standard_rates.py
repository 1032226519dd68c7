"""Deribit standard margin per position: hand-derived numbers for every contract type."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from numpy.typing import ArrayLike

from crossmargin.margin.standard.parameters import load_standard_parameters
from crossmargin.margin.standard.rates import (
    PositionCategory,
    StandardRequirements,
    category_totals,
    delta_one_rate,
    rate_arrays,
    short_option_margin_usd,
    standard_requirements_usd,
)
from crossmargin.market import MarketSnapshot, VolSurface
from crossmargin.portfolio import Position
from crossmargin.pricing import instrument_arrays
from support.markets import NOW

DEC24 = datetime(2024, 12, 27, 8, tzinfo=UTC)
PARAMETERS = load_standard_parameters()


def _market(
    btc: float = 72_000.0, forwards: dict[tuple[str, datetime], float] | None = None
) -> MarketSnapshot:
    return MarketSnapshot(
        valuation_time=NOW,
        index_usd={"BTC": btc, "ETH": 4_000.0, "SOL": 200.0},
        vol_surfaces={"BTC": VolSurface.flat(0.6), "ETH": VolSurface.flat(0.7)},
        forwards_usd=forwards or {},
    )


def _requirements(
    positions: list[Position], market: MarketSnapshot, price_move: ArrayLike = 0.0
) -> StandardRequirements:
    arrays = instrument_arrays(
        [p.instrument for p in positions], market, [p.average_price for p in positions]
    )
    sizes = np.array([p.size for p in positions])
    return standard_requirements_usd(
        arrays, sizes, rate_arrays(PARAMETERS, list(arrays.underlying)), price_move
    )


def test_deribit_linear_perpetual_worked_example() -> None:
    """Deribit "Linear Perpetual" (support article 25944738177565), BTC_USDC at 100,000:
    25 BTC → IM 2 % + 25 × 0.005 % = 2.125 % → 0.53125 BTC = 53,125 USDC;
    MM 1 % + 25 × 0.005 % = 1.125 % → 28,125 USDC; 350 BTC → IM 3.75 % → 13.125 BTC = 1,312,500.
    SOL_USDC at 200: 25 SOL → IM 4.0125 % → 200.625 USDC, MM 2.0125 % → 100.625 USDC;
    6000 SOL → IM 7 % → 84,000 USDC."""
    market = _market(btc=100_000.0)
    req = _requirements(
        [Position.of("BTC_USDC-PERPETUAL", 25), Position.of("SOL_USDC-PERPETUAL", 25)], market
    )
    assert req.initial_usd[0] == pytest.approx(53_125.0, rel=1e-12)
    assert req.maintenance_usd[0] == pytest.approx(28_125.0, rel=1e-12)
    assert req.initial_usd[1] == pytest.approx(200.625, rel=1e-12)
    assert req.maintenance_usd[1] == pytest.approx(100.625, rel=1e-12)
    big = _requirements(
        [Position.of("BTC_USDC-PERPETUAL", -350), Position.of("SOL_USDC-PERPETUAL", -6000)], market
    )
    assert big.initial_usd[0] == pytest.approx(1_312_500.0, rel=1e-12)
    assert big.initial_usd[1] == pytest.approx(84_000.0, rel=1e-12)
    assert delta_one_rate(25.0, 0.02, 0.00005, 1.0) == pytest.approx(0.02125, rel=1e-14)


def test_inverse_perpetual_100k_short_at_72000() -> None:
    """Short 100,000 USD face BTC-PERPETUAL, F = S = 72,000: coin notional 100,000/72,000 =
    1.388889 BTC; IM rate = 2 % + 1.388889 × 0.005 % = 2.00694444 %; IM = rate × 1.388889 BTC
    × 72,000 = 2,006.944444 USD; MM rate 1.00694444 % → 1,006.944444 USD."""
    req = _requirements([Position.of("BTC-PERPETUAL", -100_000, 70_000.0)], _market())
    coin = 100_000 / 72_000
    assert req.initial_usd[0] == pytest.approx((0.02 + coin * 0.00005) * 100_000, rel=1e-13)
    assert req.initial_usd[0] == pytest.approx(2_006.944444, abs=1e-6)
    assert req.maintenance_usd[0] == pytest.approx(1_006.944444, abs=1e-6)
    assert req.category[0] == PositionCategory.FUTURES


def test_inverse_future_notional_uses_forward_in_coin_and_index_in_usd() -> None:
    """Long 50,000 USD face BTC-27DEC24 with forward 80,200, index 72,000: coin size
    50,000/80,200 = 0.6234414 BTC; IM rate 2 % + 0.6234414 × 0.005 % = 2.0031172 %; IM in coin
    0.01248826 BTC, in USD × 72,000 = 899.154856 USD (a coin requirement is worth S per coin)."""
    market = _market(forwards={("BTC", DEC24): 80_200.0})
    req = _requirements([Position.of("BTC-27DEC24", 50_000)], market)
    coin = 50_000 / 80_200
    assert req.initial_usd[0] == pytest.approx((0.02 + coin * 0.00005) * coin * 72_000, rel=1e-13)
    assert req.initial_usd[0] == pytest.approx(899.154856, abs=1e-6)
    assert req.maintenance_usd[0] == pytest.approx(
        (0.01 + coin * 0.00005) * coin * 72_000, rel=1e-13
    )


def test_eth_size_factor_and_fallback_underlying() -> None:
    """ETH 0.0004 %: 1,000 ETH linear perp at 4,000 → IM 2 % + 1,000 × 0.0004 % = 2.4 % of
    4,000,000 = 96,000 USD, MM 1.4 % = 56,000. An unlisted asset (XRP) takes the fallback."""
    req = _requirements([Position.of("ETH_USDC-PERPETUAL", 1_000)], _market())
    assert req.initial_usd[0] == pytest.approx(96_000.0, rel=1e-12)
    assert req.maintenance_usd[0] == pytest.approx(56_000.0, rel=1e-12)
    assert PARAMETERS.rates_for("XRP") == PARAMETERS.fallback
    assert PARAMETERS.rates_for("BTC").futures.size_factor_per_coin == 0.00005


@pytest.mark.parametrize(
    ("is_call", "strike", "mark", "initial", "maintenance"),
    [
        # OTM call K 80,000: OTM 8,000 → 0.15 − 0.1111 < 0.10 → 0.10 × 72,000 + 3,000 = 10,200;
        # MM 0.075 × 72,000 + 3,000 = 8,400.
        (True, 80_000.0, 3_000.0, 10_200.0, 8_400.0),
        # Slightly OTM call K 75,000: OTM 3,000 → 0.15 − 0.0416667 = 0.1083333 → 7,800 + 5,000.
        (True, 75_000.0, 5_000.0, 12_800.0, 10_400.0),
        # ITM call K 60,000: OTM 0 → 0.15 × 72,000 + 14,000 = 24,800; MM 5,400 + 14,000.
        (True, 60_000.0, 14_000.0, 24_800.0, 19_400.0),
        # OTM put K 60,000: 0.10 × 72,000 + 1,500 = 8,700; MM max(5,400, 112.5) + 1,500 = 6,900.
        (False, 60_000.0, 1_500.0, 8_700.0, 6_900.0),
        # Deep ITM put K 300,000, mark 228,000 > 2U: MM = 0.075 × 228,000 + 228,000 = 245,100;
        # 0.15 × 72,000 + 228,000 = 238,800 < MM, so IM = MM = 245,100.
        (False, 300_000.0, 228_000.0, 245_100.0, 245_100.0),
    ],
)
def test_short_option_formulas(
    is_call: bool, strike: float, mark: float, initial: float, maintenance: float
) -> None:
    """Deribit short option formulas per coin, F = U = 72,000 (cases in the parameter list)."""
    im, mm = short_option_margin_usd(is_call, strike, 72_000.0, 72_000.0, mark)
    assert float(im) == pytest.approx(initial, rel=1e-12)
    assert float(mm) == pytest.approx(maintenance, rel=1e-12)


def test_short_inverse_call_position_uses_its_own_mark() -> None:
    """Short 10 BTC-28JUN24-80000-C at S = F = 72,000: IM = 10 × (0.10 × 72,000 + mark),
    MM = 10 × (0.075 × 72,000 + mark) with mark the option's USD value per coin (Black-76 premium
    in BTC × S); value = −10 × mark."""
    req = _requirements([Position.of("BTC-28JUN24-80000-C", -10)], _market())
    mark = -req.value_usd[0] / 10
    assert 5_000 < mark < 8_000
    assert req.initial_usd[0] == pytest.approx(10 * (7_200 + mark), rel=1e-12)
    assert req.maintenance_usd[0] == pytest.approx(10 * (5_400 + mark), rel=1e-12)
    assert req.category[0] == PositionCategory.SHORT_OPTION


def test_linear_put_is_margined_on_forward_times_usdc() -> None:
    """Short 2 BTC_USDC-28JUN24-60000-P: OTM 12,000 → floor 0.10; IM = 2 × (7,200 + mark),
    MM = 2 × (max(5,400, 0.075 × mark) + mark) = 2 × (5,400 + mark)."""
    req = _requirements([Position.of("BTC_USDC-28JUN24-60000-P", -2)], _market())
    mark = -req.value_usd[0] / 2
    assert req.initial_usd[0] == pytest.approx(2 * (7_200 + mark), rel=1e-12)
    assert req.maintenance_usd[0] == pytest.approx(2 * (5_400 + mark), rel=1e-12)


def test_long_options_and_long_spot_are_paid_in_full_short_spot_is_rated() -> None:
    """Long option and long spot: 0. Short 2 BTC spot at 72,000: 2.01 % of 144,000 = 2,894.4."""
    req = _requirements(
        [
            Position.of("BTC-28JUN24-80000-C", 10),
            Position.of("BTC_USDC", 3),
            Position.of("ETH_USDC", 0),
        ],
        _market(),
    )
    assert list(req.initial_usd) == [0.0, 0.0, 0.0]
    assert list(req.maintenance_usd) == [0.0, 0.0, 0.0]
    short = _requirements([Position.of("BTC_USDC", -2)], _market())
    assert short.initial_usd[0] == pytest.approx(0.0201 * 144_000, rel=1e-12)
    assert short.category[0] == PositionCategory.SHORT_SPOT


def test_price_move_equals_requirements_at_the_shocked_market() -> None:
    """Requirements after a +25 % / −40 % move equal those computed on ``market.shocked`` (flat
    vols, so sticky strike and sticky moneyness agree)."""
    positions = [
        Position.of("BTC-PERPETUAL", -100_000, 70_000.0),
        Position.of("BTC-28JUN24-80000-C", -3),
        Position.of("BTC_USDC-28JUN24-60000-P", -2),
        Position.of("BTC_USDC-PERPETUAL", 4, 71_000.0),
    ]
    for move in (0.25, -0.4):
        moved = _requirements(positions, _market(), move)
        shocked = _requirements(positions, _market().shocked({"BTC": move}))
        np.testing.assert_allclose(moved.initial_usd, shocked.initial_usd, rtol=1e-12)
        np.testing.assert_allclose(moved.maintenance_usd, shocked.maintenance_usd, rtol=1e-12)
        np.testing.assert_allclose(moved.value_usd, shocked.value_usd, rtol=1e-12)


def test_scenario_batches_broadcast_and_category_totals() -> None:
    """A (3, 1) batch of moves gives (3, n) requirements; category totals sum per component."""
    positions = [
        Position.of("BTC-PERPETUAL", -100_000),
        Position.of("BTC-28JUN24-80000-C", -3),
        Position.of("BTC-28JUN24-60000-P", 1),
    ]
    batch = _requirements(positions, _market(), np.array([[-0.1], [0.0], [0.1]]))
    assert batch.initial_usd.shape == (3, 3)
    single = _requirements(positions, _market())
    np.testing.assert_allclose(batch.initial_usd[1], single.initial_usd, rtol=1e-14)
    totals = category_totals(single.initial_usd, single.category, "im")
    assert totals == {
        "futures_im": pytest.approx(single.initial_usd[0]),
        "short_option_im": pytest.approx(single.initial_usd[1]),
        "short_spot_im": 0.0,
    }
