"""The VaR / ES model on the real history: scenarios, full revaluation, floor, result shape.

Reference numbers are recomputed here from the raw Binance closes with plain loops (an independent
path from the vectorised model code), or read off the CSV files.
"""

from __future__ import annotations

import itertools
import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from crossmargin.collateral import default_haircuts
from crossmargin.core.errors import InputError
from crossmargin.margin.var.model import (
    VarMargin,
    analyse_var,
    build_scenarios,
    expected_shortfall,
    history_end_day,
    scenario_shocks,
)
from crossmargin.margin.var.parameters import VarMeasure, VarParameters, load_var_parameters
from crossmargin.market import MarketSnapshot, VolSurface
from crossmargin.market.history import MarketHistory
from crossmargin.portfolio import Portfolio, value_portfolio
from support.markets import NOW
from support.shared_data import shared_market_history

CALM = datetime(2023, 7, 31, 12, 0, tzinfo=UTC)  # BTC realised vol near its 2017–2026 low
VOLATILE = datetime(2022, 7, 1, 12, 0, tzinfo=UTC)  # after the Luna / 3AC crash


@pytest.fixture(scope="module")
def history() -> MarketHistory:
    return shared_market_history()


@pytest.fixture(scope="module")
def parameters() -> VarParameters:
    return load_var_parameters()


@pytest.fixture(scope="module")
def model(history: MarketHistory, parameters: VarParameters) -> VarMargin:
    return VarMargin(parameters, history=history)


def _market(when: datetime, btc: float = 30_000.0, eth: float = 2_000.0) -> MarketSnapshot:
    return MarketSnapshot(
        valuation_time=when,
        index_usd={"BTC": btc, "ETH": eth, "SOL": 25.0},
        vol_surfaces={
            "BTC": VolSurface.flat(0.5),
            "ETH": VolSurface.flat(0.6),
            "SOL": VolSurface.flat(0.8),
        },
    )


def _reference_scaled_returns(history: MarketHistory, asset: str, last_day: date) -> np.ndarray:
    """Plain-loop filtered daily returns z_t·σ_now up to last_day (one per day after the first)."""
    closes = [
        history.close_usd(asset, history.first_date + timedelta(days=k))
        for k in range((last_day - history.first_date).days + 1)
    ]
    returns = [math.log(b / a) for a, b in itertools.pairwise(closes)]
    variance = sum(r * r for r in returns[:30]) / 30
    residuals = []
    for r in returns:
        residuals.append(r / math.sqrt(variance))
        variance = 0.94 * variance + 0.06 * r * r
    return np.array(residuals) * math.sqrt(variance)


def test_history_end_day_is_the_last_closed_candle(history: MarketHistory) -> None:
    """A candle dated D closes at D+1 00:00 UTC: at 2024-03-11 15:17 the last one is 2024-03-10.
    2026-01-08 is missing in the Binance files, so on 2026-01-09 the model steps back to 01-07;
    after the data ends (2026-03-30) it uses the last day."""
    assert history_end_day(history, ["BTC"], NOW) == date(2024, 3, 10)
    assert history_end_day(history, ["BTC"], datetime(2026, 1, 9, 1, tzinfo=UTC)) == date(
        2026, 1, 7
    )
    assert history_end_day(history, ["ETH", "SOL"], datetime(2026, 4, 6, tzinfo=UTC)) == date(
        2026, 3, 30
    )
    with pytest.raises(InputError, match="no daily close"):
        history_end_day(history, ["SOL"], datetime(2019, 1, 1, tzinfo=UTC))


def test_filtered_scenarios_match_a_plain_loop(
    history: MarketHistory, parameters: VarParameters
) -> None:
    """At 2024-03-11 (last day 2024-03-10): end dates 2017-08-19 .. 2024-03-10, i.e. 2396
    2-day windows (the 10-year lookback is capped by the data). Each scenario's BTC log return is
    the sum of two volatility-scaled daily returns, recomputed here with a scalar EWMA loop;
    σ_now(BTC) = 3.34 %/day."""
    filtered, stress = build_scenarios(history, ["BTC", "ETH"], date(2024, 3, 10), parameters)
    assert filtered.count == 2396 == (date(2024, 3, 10) - date(2017, 8, 19)).days + 1
    assert str(filtered.end_dates[0]) == "2017-08-19"
    assert str(filtered.end_dates[-1]) == "2024-03-10"
    scaled = _reference_scaled_returns(history, "BTC", date(2024, 3, 10))
    reference = scaled[1:] + scaled[:-1]
    np.testing.assert_allclose(filtered.log_returns[:, 0], reference, rtol=1e-9, atol=1e-14)
    assert filtered.daily_vol_now[0] == pytest.approx(0.0334, abs=5e-5)
    # Stress windows: 61 + 52 + 76 + 30 = 219 end dates.
    assert stress.count == 219


def test_stress_scenario_ftx_by_hand(history: MarketHistory, parameters: VarParameters) -> None:
    """Stress scenario ending 2022-11-09 (raw 2-day move over the 11-08 and 11-09 candles):
    BTC 15922.81/20591.13 − 1 = −22.671 %, ETH 1102.73/1568.1 − 1 = −29.677 %; DVOL ratio BTC
    114.72/59.48 = 1.92872 (+55.24 vol points), ETH 153.93/89.29 = 1.72393. SOL uses ETH's DVOL."""
    _, stress = build_scenarios(history, ["BTC", "ETH", "SOL"], date(2024, 3, 10), parameters)
    row = int(np.flatnonzero(stress.end_dates == np.datetime64("2022-11-09"))[0])
    moves = stress.price_moves[row]
    assert moves[0] == pytest.approx(15922.81 / 20591.13 - 1, rel=1e-12)
    assert moves[1] == pytest.approx(1102.73 / 1568.1 - 1, rel=1e-12)
    assert moves[2] == pytest.approx(14.08 / 29.62 - 1, rel=1e-12)
    np.testing.assert_allclose(
        stress.vol_ratios[row], [114.72 / 59.48, 153.93 / 89.29, 153.93 / 89.29], rtol=1e-12
    )
    assert stress.dvol_changes[row, 0] == pytest.approx(0.5524, abs=1e-12)


def test_sol_before_its_listing_uses_eth_returns(
    history: MarketHistory, parameters: VarParameters
) -> None:
    """SOL trades from 2020-08-11: the stress scenario ending 2020-03-12 takes ETH's raw move
    (e.g. the README's −44.60 % day inside it), and vols stay unchanged before DVOL exists."""
    _, stress = build_scenarios(history, ["ETH", "SOL"], date(2024, 3, 10), parameters)
    row = int(np.flatnonzero(stress.end_dates == np.datetime64("2020-03-12"))[0])
    assert stress.price_moves[row, 1] == pytest.approx(stress.price_moves[row, 0], rel=1e-12)
    assert stress.vol_ratios[row].tolist() == [1.0, 1.0]
    assert stress.dvol_changes[row].tolist() == [0.0, 0.0]


def test_option_vol_shift_is_relative_dvol_change(
    history: MarketHistory, parameters: VarParameters
) -> None:
    """A BTC option at 50 % vol in the stress scenario ending 2021-05-19: σ' = 0.5·124.83/123.02,
    so the additive shift is 0.5·(124.83/123.02 − 1) = 0.0073565; a perpetual gets none."""
    portfolio = Portfolio.of([("BTC-27DEC24-60000-C", 1.0), ("BTC-PERPETUAL", 1000.0)])
    arrays = value_portfolio(portfolio, _market(NOW), default_haircuts()).arrays
    _, stress = build_scenarios(history, ["BTC"], date(2024, 3, 10), parameters)
    row = int(np.flatnonzero(stress.end_dates == np.datetime64("2021-05-19"))[0])
    _, vol_shift = scenario_shocks(arrays, stress)
    assert vol_shift[row, 0] == pytest.approx(0.5 * (124.83 / 123.02 - 1), rel=1e-12)
    assert vol_shift[row, 1] == 0.0


def test_linear_portfolio_pnl_is_exposure_times_move(model: VarMargin) -> None:
    """Linear BTC perp +2 coin: P&L = 2·30000·m_BTC; inverse BTC perp −10,000 USD face entered at
    the mark: P&L = −10000·m_BTC (V = (1/E − 1/F')·S' = m); linear ETH perp −3: −3·2000·m_ETH."""
    portfolio = Portfolio.of(
        [("BTC_USDC-PERPETUAL", 2.0), ("BTC-PERPETUAL", -10_000.0), ("ETH_USDC-PERPETUAL", -3.0)]
    )
    _, analysis = model.analyse(portfolio, _market(NOW))
    assert analysis is not None
    moves = analysis.filtered.price_moves
    pnl = analysis.filtered_pnl_usd
    # Exact up to float cancellation in F' − E: 1e-9 USD on P&Ls of up to ~30,000 USD.
    np.testing.assert_allclose(pnl[:, 0], 2 * 30_000.0 * moves[:, 0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(pnl[:, 1], -10_000.0 * moves[:, 0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(pnl[:, 2], -3 * 2_000.0 * moves[:, 1], rtol=0, atol=1e-9)


def _btc_long(size: float = 1.0) -> Portfolio:
    return Portfolio.of([("BTC_USDC-PERPETUAL", size)], {"USDC": 100_000})


def _reference_stress_es(history: MarketHistory, last_day: date, spot: float) -> float:
    """Plain stress ES 99 % of a 1-coin BTC long: raw 2-day moves ending in the windows."""
    windows = [
        (date(2020, 3, 1), date(2020, 4, 30)),
        (date(2021, 5, 10), date(2021, 6, 30)),
        (date(2022, 5, 1), date(2022, 7, 15)),
        (date(2022, 11, 1), date(2022, 11, 30)),
    ]
    losses = []
    for start, end in windows:
        day = start
        while day <= min(end, last_day):
            before = history.close_usd("BTC", day - timedelta(days=2))
            losses.append(-spot * (history.close_usd("BTC", day) / before - 1))
            day += timedelta(days=1)
    worst = sorted(losses, reverse=True)
    tail = len(worst) * 0.01  # 219 scenarios → 2.19
    whole = int(tail)
    return (sum(worst[:whole]) + (tail - whole) * worst[whole]) / tail


def test_stress_floor_binds_in_a_calm_market(model: VarMargin, history: MarketHistory) -> None:
    """On 2023-07-31 (BTC σ_now ≈ 1.4 %/day) a 1-BTC long at 30,000 has filtered ES ≈ 9.3 %
    of notional, below the floor 0.5 × stress ES (≈ 0.5 × 33.4 %): IM = the floor, and the
    add-on is floor − ES. The stress ES is recomputed here from the raw closes."""
    result = model.margin(_btc_long(), _market(CALM))
    _, analysis = model.analyse(_btc_long(), _market(CALM))
    assert analysis is not None and analysis.floor_binds
    stress_es = _reference_stress_es(history, date(2023, 7, 30), 30_000.0)
    assert analysis.stress_risk_usd == pytest.approx(stress_es, rel=1e-12)
    assert stress_es / 30_000 == pytest.approx(0.334, abs=0.001)
    assert analysis.filtered_risk_usd / 30_000 == pytest.approx(0.093, abs=0.001)
    assert float(result.initial_margin) == pytest.approx(0.5 * stress_es, abs=2e-6)
    assert float(result.components["expected_shortfall"]) == pytest.approx(
        analysis.filtered_risk_usd, abs=1e-6
    )
    assert float(result.components["stress_floor_addon"]) == pytest.approx(
        0.5 * stress_es - analysis.filtered_risk_usd, abs=1e-6
    )
    assert result.initial_margin > Decimal(str(round(analysis.filtered_risk_usd, 6)))
    assert sum(p.contribution_usd for p in result.positions) == pytest.approx(0.5 * stress_es)


def test_stress_floor_does_not_bind_after_a_crash(model: VarMargin) -> None:
    """On 2022-07-01 (σ_now high after Luna/3AC) the filtered ES exceeds the floor: no add-on."""
    result = model.margin(_btc_long(), _market(VOLATILE, btc=19_000.0))
    assert result.components["stress_floor_addon"] == 0
    assert result.initial_margin == result.components["expected_shortfall"]
    assert float(result.initial_margin) > 0.5 * 0.334 * 19_000


def test_var_is_not_above_es(history: MarketHistory, parameters: VarParameters) -> None:
    """Same account, measure "var" vs "es" (floor off): VaR 99 % ≤ ES 99 %."""
    portfolio = Portfolio.of([("BTC-29MAR24-70000-P", -2.0), ("ETH_USDC-PERPETUAL", 5.0)])
    market = _market(NOW, btc=72_000.0, eth=4_000.0)
    no_floor = parameters.model_copy(update={"stress_weight": 0.0})
    es = VarMargin(no_floor, history=history).margin(portfolio, market)
    var = VarMargin(
        no_floor.model_copy(update={"measure": VarMeasure.VALUE_AT_RISK}), history=history
    ).margin(portfolio, market)
    assert "value_at_risk" in var.components
    assert Decimal(0) < var.initial_margin <= es.initial_margin


def test_margin_grows_with_size(model: VarMargin) -> None:
    """ES is positively homogeneous: doubling every position doubles IM (to rounding)."""
    market = _market(NOW, btc=72_000.0, eth=4_000.0)
    positions = [("BTC-29MAR24-70000-P", -1.0), ("BTC-PERPETUAL", 20_000.0)]
    margins = [
        model.margin(Portfolio.of([(n, k * s) for n, s in positions]), market).initial_margin
        for k in (1, 2, 3)
    ]
    assert margins[0] < margins[1] < margins[2]
    assert float(margins[1]) == pytest.approx(2 * float(margins[0]), abs=2e-6)


def test_result_explains_itself(model: VarMargin) -> None:
    """IM ≥ MM = 0.8 × IM (each component rounded up); contributions add up to IM; scenarios are
    labelled by end date, filtered then stress, underlying "*"; the worst is the minimum P&L; the
    price_move shown is BTC's (largest gross delta)."""
    portfolio = Portfolio.of(
        [("BTC-29MAR24-70000-P", -2.0), ("BTC-PERPETUAL", 50_000.0), ("ETH_USDC-PERPETUAL", 5.0)],
        {"USDC": 200_000},
    )
    market = _market(NOW, btc=72_000.0, eth=4_000.0)
    result = model.margin(portfolio, market)
    _, analysis = model.analyse(portfolio, market)
    assert analysis is not None
    assert result.model == "var"
    assert set(result.components) == {"expected_shortfall", "stress_floor_addon"}
    assert result.initial_margin >= result.maintenance_margin > 0
    assert float(result.maintenance_margin) == pytest.approx(
        0.8 * float(result.initial_margin), abs=3e-6
    )
    assert sum(p.contribution_usd for p in result.positions) == pytest.approx(
        analysis.initial_margin_usd, rel=1e-12
    )
    assert len(result.scenarios) == analysis.filtered.count + analysis.stress.count
    labels = [s.label for s in result.scenarios]
    assert labels[0] == "2017-08-19" and "2022-11-09" in labels and "2022-11-09 stress" in labels
    assert {s.underlying for s in result.scenarios} == {"*"}
    assert result.worst_scenario is not None
    assert result.worst_scenario.pnl_usd == float(result.scenario_pnl.min())
    row = labels.index("2022-11-09 stress")
    assert result.scenarios[row].price_move == pytest.approx(15922.81 / 20591.13 - 1)
    assert result.scenarios[row].vol_shock == pytest.approx(0.5524)
    assert any("Delta-gamma-vega approximation" in note for note in result.notes)


def test_empty_portfolio_needs_nothing(model: VarMargin) -> None:
    result = model.margin(Portfolio.of([], {"USDC": 10}), _market(NOW))
    assert result.initial_margin == result.maintenance_margin == 0
    assert result.equity == Decimal(10)


def test_bad_inputs_are_rejected(model: VarMargin) -> None:
    """Too little history before 2018-06-01 (286 < 365 scenarios); an underlying with no
    history (XRP)."""
    with pytest.raises(InputError, match="at least 365"):
        model.margin(_btc_long(), _market(datetime(2018, 6, 1, tzinfo=UTC)))
    xrp = MarketSnapshot(valuation_time=NOW, index_usd={"XRP": 0.6})
    with pytest.raises(InputError, match="XRP"):
        model.margin(Portfolio.of([("XRP_USDC-PERPETUAL", 100.0)]), xrp)


def test_stale_history_is_noted(model: VarMargin) -> None:
    """On 2026-04-06 the Binance files end 2026-03-30: the model uses it and says so."""
    result = model.margin(_btc_long(), _market(datetime(2026, 4, 6, 12, tzinfo=UTC)))
    assert any("Last daily close used: 2026-03-30, 6 day(s)" in note for note in result.notes)


def test_analyse_var_needs_no_model_object(
    history: MarketHistory, parameters: VarParameters
) -> None:
    """The pure entry point gives the same IM as the model."""
    portfolio = _btc_long(0.5)
    market = _market(CALM)
    arrays = value_portfolio(portfolio, market, default_haircuts()).arrays
    analysis = analyse_var(arrays, np.array([0.5]), history, market.valuation_time, parameters)
    result = VarMargin(parameters, history=history).margin(portfolio, market)
    assert float(result.initial_margin) == pytest.approx(analysis.initial_margin_usd, abs=2e-6)
    assert expected_shortfall(analysis.filtered_pnl_usd[:, 0], 0.99) == pytest.approx(
        analysis.filtered_risk_usd
    )
