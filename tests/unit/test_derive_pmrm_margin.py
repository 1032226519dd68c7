"""``DerivePmrmMargin``: Derive's PMRM on crossmargin portfolios (shipped mainnet parameters)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from crossmargin.core.errors import InputError
from crossmargin.margin.base import MarginModel
from crossmargin.margin.derive.model import DerivePmrmMargin
from crossmargin.market import MarketSnapshot, VolSurface
from crossmargin.portfolio import Portfolio, load_portfolio_file
from support.markets import EXAMPLE_FILES, NOW

MARKET = MarketSnapshot(NOW, {"BTC": 72000.0}, 0.0, {"BTC": VolSurface.flat(0.6)})


def test_is_a_margin_model() -> None:
    """It satisfies the MarginModel protocol under the name ``derive-pmrm``."""
    model = DerivePmrmMargin()
    assert isinstance(model, MarginModel)
    assert model.name == "derive-pmrm"


def test_linear_perpetual_by_hand() -> None:
    """Long 1 BTC_USDC perpetual at 72,000: worst scenario −18 % (−12,960; the −66 % tail counts
    0.21·0.66·72,000 = 9,979); no options, so no forward contingency. IM = 1.0·12,960 +
    (3 % + 1 %)·72,000 = 15,840; MM = 0.8·12,960 + 3 %·72,000 = 12,528. Equity is the USDC."""
    portfolio = Portfolio.of([("BTC_USDC-PERPETUAL", 1.0)], {"USDC": 100000})
    result = DerivePmrmMargin().margin(portfolio, MARKET)
    assert result.initial_margin == Decimal("15840.000000")
    assert result.maintenance_margin == Decimal("12528.000000")
    assert result.components["max_loss:BTC"] == Decimal("12960.000000")
    assert result.components["perp:BTC"] == Decimal("2880.000000")
    assert result.equity == Decimal("100000.000000")
    assert result.worst_scenario is not None
    assert result.worst_scenario.label == "BTC -18% Up"


def test_base_collateral_hedges_a_short_perpetual() -> None:
    """1 BTC of collateral (risk-cancelling base) against short 1 perpetual: every scenario nets
    to 0. IM = base (2 % + 1 %)·72,000 + perp 4 %·72,000 = 5,040; MM = 1,440 + 2,160 = 3,600."""
    portfolio = Portfolio.of([("BTC_USDC-PERPETUAL", -1.0)], {"BTC": 1})
    result = DerivePmrmMargin().margin(portfolio, MARKET)
    assert float(result.initial_margin) == pytest.approx(5040.0, abs=1e-5)
    assert float(result.maintenance_margin) == pytest.approx(3600.0, abs=1e-5)


def test_other_collateral_is_haircut_once() -> None:
    """USDT is not a market's base: only its haircuts count, 2 % MM + 3 % IM of 10,000."""
    result = DerivePmrmMargin().margin(Portfolio.of([], {"USDT": 10000}), MARKET)
    assert result.components == {"collateral": Decimal("500.000000")}
    assert result.maintenance_components == {"collateral": Decimal("200.000000")}


def test_collateral_without_derive_parameters_is_rejected() -> None:
    """An asset the profile has no haircuts for cannot be margined; the error names it."""
    market = MarketSnapshot(NOW, {"BTC": 72000.0, "SOL": 150.0}, 0.0)
    model = DerivePmrmMargin(haircuts=None)
    with pytest.raises(InputError, match="SOL"):
        model.margin(Portfolio.of([], {"SOL": 10}), market)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.stem for p in EXAMPLE_FILES])
def test_examples_margin_consistently(path: Path) -> None:
    """Every example margins: IM ≥ MM ≥ 0, one max-loss component per underlying, a worst
    scenario, and position contributions that never exceed IM."""
    loaded = load_portfolio_file(path)
    result = DerivePmrmMargin().margin(loaded.portfolio, loaded.market)
    assert result.initial_margin >= result.maintenance_margin >= 0
    for underlying in loaded.portfolio.underlyings:
        assert f"max_loss:{underlying}" in result.components
    assert result.worst_scenario is not None
    contributions = sum(p.contribution_usd for p in result.positions)
    assert contributions <= float(result.initial_margin) + 1e-6
