"""The pm model's cheaper margin-check run and its scenario cache change no figure.

:meth:`PortfolioMargin.requirement` (what the ledger's pre-trade and pre-withdrawal checks call)
must give the same rounded IM, MM, components, equity and collateral value as
:meth:`PortfolioMargin.margin`, and a model whose :class:`ScenarioCache` is hit must answer
exactly what a model without a cache answers. Either could fail: the requirement assembles its
result on its own path, and a cache keyed too loosely hands one market's scenarios to another.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossmargin.instruments import parse_instrument
from crossmargin.ledger.risk import MarginModelRiskCheck
from crossmargin.margin import MarginModel
from crossmargin.margin.base import RequirementModel
from crossmargin.margin.pm.model import PortfolioMargin
from crossmargin.margin.pm.scenario_cache import ScenarioCache
from crossmargin.margin.result import MarginResult
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio, Position, load_portfolio_file
from support.markets import EXAMPLE_FILES, MARKET, flat_market
from support.strategies import flat_markets

NAMES = (
    "BTC_USDC-PERPETUAL",
    "BTC-PERPETUAL",
    "BTC-28JUN24",
    "BTC-28JUN24-60000-C",
    "BTC-28JUN24-80000-P",
    "BTC-29MAR24-72000-C",
    "ETH-PERPETUAL",
    "ETH-28JUN24-4000-P",
    "ETH_USDC-28JUN24-4000-C",
)


def _uncached() -> PortfolioMargin:
    model = PortfolioMargin()
    model.scenario_cache = ScenarioCache(capacity=0)
    return model


def _same_figures(check: MarginResult, full: MarginResult) -> None:
    assert check.initial_margin == full.initial_margin
    assert check.maintenance_margin == full.maintenance_margin
    assert check.equity == full.equity
    assert check.collateral_value == full.collateral_value
    assert dict(check.components) == dict(full.components)
    assert dict(check.maintenance_components) == dict(full.maintenance_components)
    assert check.available_usd == full.available_usd
    assert (check.model, check.currency) == (full.model, full.currency)


@st.composite
def portfolios(draw: st.DrawFn) -> Portfolio:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=0, max_size=6, unique=True))
    sizes = st.floats(-50.0, 50.0).filter(lambda x: abs(x) > 1e-3)
    positions = tuple(Position(parse_instrument(n), draw(sizes)) for n in names)
    collateral = {
        "USDC": Decimal(draw(st.integers(0, 2_000_000))),
        "BTC": Decimal(draw(st.integers(-3, 20))),
        "ETH": Decimal(draw(st.integers(0, 200))),
    }
    return Portfolio(positions, collateral)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_requirement_equals_margin_on_the_examples(path: Path) -> None:
    loaded = load_portfolio_file(path)
    model = PortfolioMargin()
    full = model.margin(loaded.portfolio, loaded.market)
    assert full.initial_margin > 0
    _same_figures(model.requirement(loaded.portfolio, loaded.market), full)


@settings(max_examples=60, deadline=None)
@given(portfolio=portfolios(), market=flat_markets())
def test_requirement_and_cache_equal_the_uncached_margin(
    portfolio: Portfolio, market: MarketSnapshot
) -> None:
    model = PortfolioMargin()
    reference = _uncached().margin(portfolio, market)
    first = model.margin(portfolio, market)
    again = model.margin(portfolio, market)  # every pair's scenarios from the cache now
    check = model.requirement(portfolio, market)
    _same_figures(first, reference)
    _same_figures(again, reference)
    _same_figures(check, reference)
    assert again.worst_scenario == reference.worst_scenario
    assert [s.pnl_usd for s in again.scenarios] == [s.pnl_usd for s in reference.scenarios]


def test_cache_is_hit_only_for_the_same_market_object_and_instruments() -> None:
    model = PortfolioMargin()
    perp = Position(parse_instrument("BTC_USDC-PERPETUAL"), 2.0)
    call = Position(parse_instrument("BTC-28JUN24-60000-C"), -1.0)
    cash = {"USDC": Decimal(500_000)}
    model.margin(Portfolio((perp, call), cash), MARKET)
    assert (model.scenario_cache.hits, model.scenario_cache.misses) == (0, 1)
    model.margin(Portfolio((perp, call), cash), MARKET)  # other sizes would hit too
    assert (model.scenario_cache.hits, model.scenario_cache.misses) == (1, 1)
    model.margin(Portfolio((call, perp), cash), MARKET)  # other order: other arrays
    assert model.scenario_cache.misses == 2
    entered = Position(parse_instrument("BTC_USDC-PERPETUAL"), 2.0, 70_000.0)
    model.margin(Portfolio((entered, call), cash), MARKET)  # other entry price
    assert model.scenario_cache.misses == 3
    equal_but_new = flat_market()
    assert equal_but_new == MARKET and equal_but_new is not MARKET
    model.margin(Portfolio((perp, call), cash), equal_but_new)
    assert model.scenario_cache.misses == 4


def test_an_inverse_future_entered_elsewhere_is_never_answered_from_the_cache() -> None:
    """Short 100,000 USD face of BTC-PERPETUAL at the mark, then entered at 70,000: the worst
    case at +16 % is 0.16·N/1.16 BTC at the mark and 0.16·N·72,000/70,000/1.16 BTC otherwise
    (its USD P&L is −N·S·m/E), so the two IMs differ and each equals a fresh model's."""
    model = PortfolioMargin()
    cash = {"USDC": Decimal(1_000_000)}
    at_mark = Portfolio((Position(parse_instrument("BTC-PERPETUAL"), -100_000.0),), cash)
    entered = Portfolio((Position(parse_instrument("BTC-PERPETUAL"), -100_000.0, 70_000.0),), cash)
    first, second = model.margin(at_mark, MARKET), model.margin(entered, MARKET)
    assert float(first.components["worst_case"]) == pytest.approx(0.16 * 100_000 / 1.16, abs=1e-6)
    assert float(second.components["worst_case"]) == pytest.approx(
        0.16 * 100_000 * 72_000 / 70_000 / 1.16, abs=1e-6
    )
    _same_figures(second, _uncached().margin(entered, MARKET))


def test_a_moved_market_is_never_answered_from_the_cache() -> None:
    """Same instruments, index 72,000 then 60,000: the second IM must be the one a fresh model
    gives at 60,000 (a short call's worst case changes with the index)."""
    model = PortfolioMargin()
    portfolio = Portfolio(
        (Position(parse_instrument("BTC-28JUN24-60000-C"), -3.0),), {"USDC": Decimal(900_000)}
    )
    at_72k = model.margin(portfolio, MARKET)
    moved = flat_market({"BTC": 60_000.0, "ETH": 4_000.0})
    at_60k = model.margin(portfolio, moved)
    assert at_60k.initial_margin != at_72k.initial_margin
    _same_figures(at_60k, _uncached().margin(portfolio, moved))


def test_cache_is_bounded_least_recently_used_out() -> None:
    cache = ScenarioCache(capacity=2)
    model = PortfolioMargin()
    model.scenario_cache = cache
    cash = {"USDC": Decimal(100_000)}
    for name in ("BTC-PERPETUAL", "BTC-28JUN24", "BTC_USDC-PERPETUAL"):
        model.margin(Portfolio((Position(parse_instrument(name), 1.0),), cash), MARKET)
    assert len(cache._entries) == 2
    model.margin(Portfolio((Position(parse_instrument("BTC-PERPETUAL"), 1.0),), cash), MARKET)
    assert cache.misses == 4  # the first one was evicted
    with pytest.raises(ValueError, match="capacity"):
        ScenarioCache(capacity=-1)


def test_ledger_risk_check_takes_the_requirement_run() -> None:
    model = PortfolioMargin()
    assert isinstance(model, RequirementModel)
    portfolio = Portfolio(
        (Position(parse_instrument("BTC_USDC-PERPETUAL"), 1.5),), {"USDC": Decimal(20_000)}
    )
    result = MarginModelRiskCheck(model, MARKET)(portfolio)
    assert result.scenarios == () and result.positions == ()
    _same_figures(result, model.margin(portfolio, MARKET))


def test_models_without_a_requirement_run_are_asked_for_their_margin() -> None:
    class Fixed:
        name = "fixed"

        def margin(self, portfolio: Portfolio, market: MarketSnapshot) -> MarginResult:
            return PortfolioMargin().margin(portfolio, market)

    fixed: MarginModel = Fixed()
    assert not isinstance(fixed, RequirementModel)
    portfolio = Portfolio(
        (Position(parse_instrument("BTC_USDC-PERPETUAL"), 1.5),), {"USDC": Decimal(20_000)}
    )
    assert MarginModelRiskCheck(fixed, MARKET)(portfolio).scenarios != ()
