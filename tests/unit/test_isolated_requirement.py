"""Isolated margin's cheaper run (no liquidation prices) gives the figures of its full run.

The requirement skips the per-position liquidation-price root finding, most of an isolated
margin run; its IM, MM, components (with the MM-capped-at-IM rounding fix), equity and
collateral must equal :meth:`IsolatedMargin.margin` to the last quantum — a backtest and a margin
check read nothing else.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossmargin.instruments import parse_instrument
from crossmargin.margin.base import RequirementModel
from crossmargin.margin.registry import build_model
from crossmargin.margin.result import MarginResult
from crossmargin.margin.standard.isolated import IsolatedMargin
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio, Position, load_portfolio_file
from support.markets import EXAMPLE_FILES
from support.strategies import flat_markets

NAMES = (
    "BTC_USDC-PERPETUAL",
    "BTC-PERPETUAL",
    "BTC-28JUN24",
    "BTC-28JUN24-60000-C",
    "BTC-28JUN24-80000-P",
    "ETH-PERPETUAL",
    "ETH_USDC-28JUN24-4000-C",
)


def _same(check: MarginResult, full: MarginResult) -> None:
    assert check.initial_margin == full.initial_margin
    assert check.maintenance_margin == full.maintenance_margin
    assert dict(check.components) == dict(full.components)
    assert dict(check.maintenance_components) == dict(full.maintenance_components)
    assert (check.equity, check.collateral_value) == (full.equity, full.collateral_value)
    assert check.notes == () and check.positions == ()


def test_isolated_offers_the_requirement_run() -> None:
    assert isinstance(build_model("isolated", None), RequirementModel)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_requirement_equals_margin_on_the_examples(path: Path) -> None:
    loaded = load_portfolio_file(path)
    model = IsolatedMargin()
    full = model.margin(loaded.portfolio, loaded.market)
    assert full.initial_margin > 0
    _same(model.requirement(loaded.portfolio, loaded.market), full)


@settings(max_examples=40, deadline=None)
@given(
    names=st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True),
    sizes=st.lists(st.floats(-30.0, 30.0).filter(lambda x: abs(x) > 1e-3), min_size=5, max_size=5),
    usdc=st.integers(0, 3_000_000),
    market=flat_markets(),
)
def test_requirement_equals_margin(
    names: list[str], sizes: list[float], usdc: int, market: MarketSnapshot
) -> None:
    positions = tuple(Position(parse_instrument(n), s) for n, s in zip(names, sizes, strict=False))
    portfolio = Portfolio(positions, {"USDC": Decimal(usdc)})
    model = IsolatedMargin()
    _same(model.requirement(portfolio, market), model.margin(portfolio, market))
