"""The backtest walk on a hand-built three-day history: restriking, realised P&L, exceptions,
summaries and stress outcomes, each derived by hand in the docstring."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from crossmargin.backtest import (
    BacktestBook,
    daily_market_path,
    restrike_portfolio,
    run_backtest,
    stress_outcomes,
    summarise,
)
from crossmargin.collateral import default_haircuts
from crossmargin.margin.result import MarginResult
from crossmargin.market import MarketSnapshot
from crossmargin.market.history import MarketHistory
from crossmargin.portfolio import Portfolio, Position, value_portfolio
from support.markets import MARKET, NOW, flat_market


class FixedMargin:
    """A model asking a constant 5,000 USD (MM 4,000) of every book."""

    name = "fixed"

    def margin(self, portfolio: Portfolio, market: MarketSnapshot) -> MarginResult:
        return MarginResult(
            model=self.name,
            initial_margin=Decimal("5000"),
            maintenance_margin=Decimal("4000"),
            equity=Decimal(0),
            collateral_value=Decimal(0),
            components={"fixed": Decimal("5000")},
            maintenance_components={"fixed": Decimal("4000")},
        )


def _history(closes: list[float], dvol: list[float]) -> MarketHistory:
    dates = np.arange(
        np.datetime64("2022-11-07"),
        np.datetime64("2022-11-07") + len(closes),
        dtype="datetime64[D]",
    )
    return MarketHistory(
        dates=dates,
        closes_usd={"BTC": np.array(closes, dtype=np.float64)},
        dvol_pct={"BTC": np.array(dvol, dtype=np.float64)},
    )


def test_restrike_keeps_moneyness_exposure_and_time_to_expiry() -> None:
    """BTC 72,000 → 36,000 (f = 0.5), one day later: the 80,000 call becomes a 40,000 call of
    twice the size, its expiry a day later, the 2 BTC balance 4 BTC, USDC unchanged. Black-76 is
    homogeneous in (F, K), so at the same vol the book's USD value is unchanged:
    2·C(72,000; 80,000) = 4·C(36,000; 40,000)."""
    portfolio = Portfolio.of(
        [("BTC-27DEC24-80000-C", -2.0), ("BTC-PERPETUAL", 50_000.0)], {"BTC": 2, "USDC": 1000}
    )
    moment = NOW + timedelta(days=1)
    moved = restrike_portfolio(portfolio, MARKET, moment, {"BTC": 36_000.0})
    call, perpetual = moved.positions
    assert call.instrument.strike == pytest.approx(40_000.0)
    assert call.size == pytest.approx(-4.0)
    assert call.instrument.expiry == datetime(2024, 12, 28, 8, tzinfo=UTC)
    assert perpetual.size == 50_000.0
    assert moved.collateral == {"BTC": Decimal("4.00000000"), "USDC": Decimal("1000")}
    later = flat_market({"BTC": 36_000.0}, {"BTC": 0.6}, valuation_time=moment)
    before = value_portfolio(portfolio, MARKET, default_haircuts())
    after = value_portfolio(moved, later, default_haircuts())
    assert after.positions[0].mark_value_usd == pytest.approx(
        before.positions[0].mark_value_usd, rel=1e-12
    )


def test_walk_counts_pnl_exceptions_and_cost() -> None:
    """Closes 100, 110, 99 on 2022-11-07..09: moments 11-08, 11-09, 11-10 00:00 UTC. A long of
    1 BTC of BTC_USDC-PERPETUAL written at 72,000 holds 72,000 / S_t coin, so its 1-day P&L is
    72,000·(S_{t+1}/S_t − 1): +7,200 from 100 to 110, 72,000·(99/110 − 1) = −7,200 from 110 to
    99, and none for the last moment (no later close). Against a fixed 5,000 USD margin the
    second window is the one exception; gross notional is 72,000 every moment, so the cost is
    5,000 / 72,000 = 0.069444; the margin is flat (peak / trough 1, no rise)."""
    history = _history([100.0, 110.0, 99.0], [50.0, 60.0, 70.0])
    path = daily_market_path(history, ["BTC"])
    book = BacktestBook("long", Portfolio.of([("BTC_USDC-PERPETUAL", 1.0)]), MARKET)
    run = run_backtest([book], [FixedMargin()], path, horizon_days=1)
    (walked,) = run.books
    np.testing.assert_allclose(walked.pnl_usd[:2], [7_200.0, -7_200.0], rtol=1e-12)
    assert np.isnan(walked.pnl_usd[2])
    np.testing.assert_allclose(walked.gross_notional_usd, 72_000.0, rtol=1e-12)
    assert walked.exceptions("fixed").tolist() == [False, True, False]
    (summary,) = summarise(run)
    assert (summary.windows, summary.exceptions) == (2, 1)
    assert summary.efficiency == pytest.approx(5_000 / 72_000, rel=1e-12)
    assert summary.mean_margin_usd == 5_000.0
    assert summary.worst_shortfall_usd == pytest.approx(2_200.0, rel=1e-12)
    assert summary.procyclicality is not None
    assert summary.procyclicality.peak_to_trough == 1.0
    assert summary.procyclicality.max_increase_1d == 0.0


def test_stress_outcome_picks_the_worst_overlapping_window() -> None:
    """With a 1-day horizon the windows overlapping 2022-11-09 are those starting 11-09 00:00
    (the 110 → 99 move): loss 7,200 against 5,000, shortfall 2,200, lost money."""
    history = _history([100.0, 110.0, 99.0, 99.0], [50.0, 60.0, 70.0, 70.0])
    path = daily_market_path(history, ["BTC"])
    book = BacktestBook("long", Portfolio.of([("BTC_USDC-PERPETUAL", 1.0)]), MARKET)
    run = run_backtest([book], [FixedMargin()], path, horizon_days=1)
    (outcome,) = stress_outcomes(run, (date(2022, 11, 9),))
    assert outcome.window_start == datetime(2022, 11, 9, tzinfo=UTC)
    assert outcome.loss_usd == pytest.approx(7_200.0, rel=1e-12)
    assert outcome.shortfall_usd == pytest.approx(2_200.0, rel=1e-12)
    assert outcome.lost_money


def test_carry_of_an_explicit_forward_is_kept() -> None:
    """A future written at F/S = 80,200 / 72,000 keeps its carry b = ln(F/S)/T: carried to a
    moment with S = 36,000 and the same time to expiry, F = 36,000 · 80,200 / 72,000 = 40,100,
    so a short of that future against the coin it hedges keeps the reference basis."""
    expiry = datetime(2024, 12, 27, 8, tzinfo=UTC)
    reference = replace(MARKET, forwards_usd={("BTC", expiry): 80_200.0})
    portfolio = Portfolio((Position.of("BTC-27DEC24", -10_000.0),))
    history = _history([36_000.0, 36_000.0, 36_000.0], [60.0, 60.0, 60.0])
    path = daily_market_path(history, ["BTC"])
    book = BacktestBook("future", portfolio, reference)
    run = run_backtest([book], [FixedMargin()], path, horizon_days=1)
    (walked,) = run.books
    # notional = |face| · S / F: 10,000 · 72,000 / 80,200 at any moment (basis ratio kept)
    np.testing.assert_allclose(walked.gross_notional_usd, 10_000 * 72_000 / 80_200, rtol=1e-9)
