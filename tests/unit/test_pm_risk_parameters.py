"""The pm model with a dynamic risk parameter set: the set's ranges replace its pair's, the
requirement follows the hand-derived formula, and results record the set's version.

Market: 2024-03-11 15:17 UTC, BTC 72,000, ETH 4,000, flat vols, r = 0 (forwards = index).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crossmargin.core.errors import InputError
from crossmargin.engine import BookEngine
from crossmargin.margin.pm import PortfolioMargin, load_pm_parameters, parameters_with
from crossmargin.market import MarketSnapshot, VolSurface
from crossmargin.portfolio import Portfolio
from crossmargin.riskparams import RiskParameterSet
from support.markets import NOW

MARKET = MarketSnapshot(
    NOW,
    {"BTC": 72000.0, "ETH": 4000.0},
    0.0,
    {"BTC": VolSurface.flat(0.6), "ETH": VolSurface.flat(0.7)},
)
VALID_FROM = datetime(2022, 6, 14, tzinfo=UTC)


def _set(price_range: float, asset: str = "BTC") -> RiskParameterSet:
    return RiskParameterSet(
        asset=asset,
        valid_from=VALID_FROM,
        price_range=price_range,
        vol_range_up=0.6,
        vol_range_down=0.3,
        haircut=None,
        vol_annual=0.9,
        version="2026-12-01.1/buffer 25 %",
    )


def _naked_short_perpetual(model: PortfolioMargin) -> tuple[float, float, str]:
    result = model.margin(Portfolio.of([("BTC_USDC-PERPETUAL", -1)], {"USDC": 1_000_000}), MARKET)
    return (
        float(result.components["worst_case"]),
        float(result.initial_margin),
        result.parameters_version,
    )


def test_a_wider_price_range_raises_a_naked_perpetual_exactly_as_the_formula_says() -> None:
    """Short 1 BTC of BTC_USDC-PERPETUAL (linear, USDC-settled, USDC collateral outside the
    scenarios): worst case = price_range × 72,000 USD (the +range scenario; the extended +50 %
    move counts at weight range/0.5, so at most the same loss, less its dampener); roll shock =
    USDC min_annualised_move 0.01 × 72,000 = 720 (T = 0); IM = their sum. The shipped 0.16
    gives 11,520 + 720; a set with 0.25 gives 18,000 + 720."""
    shipped = _naked_short_perpetual(PortfolioMargin())
    wider = _naked_short_perpetual(PortfolioMargin(risk_parameters=_set(0.25)))
    assert shipped[0] == pytest.approx(0.16 * 72_000, abs=1e-6)
    assert wider[0] == pytest.approx(0.25 * 72_000, abs=1e-6)
    assert wider[1] == pytest.approx(0.25 * 72_000 + 0.01 * 72_000, abs=2e-6)
    assert wider[1] - shipped[1] == pytest.approx((0.25 - 0.16) * 72_000, abs=2e-6)
    assert "BTC riskparams 2026-12-01.1/buffer 25 % from 2022-06-14T00:00:00Z" in wider[2]
    assert wider[2].startswith(load_pm_parameters().version)


def test_parameters_with_overrides_only_the_sets_pair() -> None:
    base = load_pm_parameters()
    chosen = parameters_with(base, {"BTC": _set(0.2), "SOL": _set(0.3, "SOL")})
    assert chosen.for_pair("BTC").price_range == 0.2
    assert chosen.for_pair("BTC").vol_range_up == 0.6
    assert chosen.for_pair("BTC").vol_range_down == 0.3
    assert chosen.for_pair("BTC").max_delta_shock == base.for_pair("BTC").max_delta_shock
    assert chosen.for_pair("SOL").price_range == 0.3
    assert chosen.for_pair("ETH") == base.for_pair("ETH")
    assert chosen.pair_fallback == base.pair_fallback
    assert base.for_pair("BTC").price_range == 0.16  # the base is untouched


def test_a_set_that_does_not_fit_is_refused_naming_the_asset() -> None:
    base = load_pm_parameters()
    with pytest.raises(InputError, match=r"risk_parameters\.BTC"):
        parameters_with(base, _set(0.5))  # reaches the extended move +50 %
    with pytest.raises(InputError, match=r"risk_parameters\.ETH"):
        parameters_with(base, {"ETH": _set(0.2)})  # keyed under another asset


def test_the_book_engine_takes_the_same_set_and_agrees_with_the_model() -> None:
    """The book engine margins with ``parameters_with(base, set)`` exactly as the single-account
    model with ``risk_parameters=set``: a long 1 BTC linear perpetual costs 0.25 × 72,000 + the
    720 roll shock = 18,720 under a 25 % range (12,240 under the shipped 16 %)."""
    chosen = _set(0.25)
    engine = BookEngine(
        ["BTC_USDC-PERPETUAL"], MARKET, parameters=parameters_with(load_pm_parameters(), chosen)
    )
    engine.load_positions([0], [0], [1.0], [1000.0])
    from_engine = float(engine.margin_all().initial_margin[0])
    portfolio = Portfolio.of([("BTC_USDC-PERPETUAL", 1)], {"USDC": 1_000})
    from_model = float(
        PortfolioMargin(risk_parameters=chosen).margin(portfolio, MARKET).initial_margin
    )
    assert from_engine == pytest.approx(0.25 * 72_000 + 720, rel=1e-12)
    assert from_model == pytest.approx(from_engine, rel=1e-9, abs=1e-6)
