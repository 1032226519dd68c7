"""Dynamic haircuts reach every margin model through the one schedule type they take.

:func:`crossmargin.collateral.haircuts_at` turns the dynamic collateral rules at a given vol into
a static :class:`HaircutSchedule`; any model built with it values collateral at those haircuts.

Hand derivation (config/dynamic_collateral.toml, BTC: base 0.02, vol multiplier 0.1722 = the
two-day 99 % move per unit of annual vol, cap 0.5, square-root size scaling against a $180M
depth): 1 BTC at 72,000 USD is 0.04 % of the depth, so the size term leaves the weight alone
((1 + 1)/(1 + √1.0004) = 0.9999 > the weight), and the haircut is 0.02 + 0.1722·σ:
σ = 0.6 → 0.12332, equity 72,000 × 0.87668 = 63,120.96 USD; σ = 0.9 → 0.17498, 59,401.44 USD.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from crossmargin.collateral import default_haircuts, haircuts_at, load_dynamic_collateral
from crossmargin.margin import CrossMargin, PortfolioMargin
from crossmargin.portfolio import Portfolio
from support.markets import MARKET

ONE_BTC = Portfolio.of([], {"BTC": "1"})


@pytest.mark.parametrize(("vol", "equity"), [(0.6, "63120.960000"), (0.9, "59401.440000")])
def test_cross_margin_values_collateral_at_the_dynamic_haircut(vol: float, equity: str) -> None:
    schedule = haircuts_at(
        load_dynamic_collateral(),
        default_haircuts(),
        {"BTC": vol},
        holdings_usd={"BTC": 72_000.0},
        label="test",
    )
    assert schedule.haircut_for("BTC") == pytest.approx(0.02 + 0.1722 * vol, abs=1e-12)
    assert schedule.haircut_for("USDC") == default_haircuts().haircut_for("USDC")
    assert schedule.version.startswith("dynamic ") and " at test over " in schedule.version
    result = CrossMargin(haircuts=schedule).margin(ONE_BTC, MARKET)
    assert result.equity == Decimal(equity)


def test_higher_vol_lowers_equity_under_every_scenario_model_too() -> None:
    """The same snapshot type feeds portfolio margin: equity falls as the driver vol rises."""
    calm, stressed = (
        haircuts_at(load_dynamic_collateral(), default_haircuts(), {"BTC": vol})
        for vol in (0.4, 1.2)
    )
    calm_equity = PortfolioMargin(haircuts=calm).margin(ONE_BTC, MARKET).equity
    stressed_equity = PortfolioMargin(haircuts=stressed).margin(ONE_BTC, MARKET).equity
    assert stressed_equity < calm_equity
    assert calm_equity - stressed_equity == pytest.approx(
        Decimal(72_000) * Decimal("0.1722") * Decimal("0.8"), abs=Decimal("0.000002")
    )
