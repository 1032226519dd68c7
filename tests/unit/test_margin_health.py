"""The one margin ratio and the one liquidation predicate, as a boundary table.

In the style of dYdX's ``protocol/lib/margin/risk_test.go``: each row names a boundary and states
what the ratio and the predicate must be there; every row is checked on floats, on ledger
``Decimal`` amounts and on arrays, and the three must agree.

The rule (``crossmargin.margin.health``): margin ratio = MM / equity (Deribit's convention), 0 when
no maintenance margin is due, ``inf`` when it is due and equity ≤ 0; liquidatable iff MM > 0 and
equity < MM.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pytest

from crossmargin.engine.results import PreTradeCheck, margin_ratios
from crossmargin.margin.health import is_liquidatable, margin_ratio
from crossmargin.margin.result import MarginResult


@dataclass(frozen=True)
class Row:
    name: str
    equity: str  # USD, as a decimal string so the Decimal and float forms hold the same amount
    maintenance_margin: str
    ratio: float
    liquidatable: bool


ROWS = [
    # 2,000 of equity, 1,000 due: half the equity is needed.
    Row("equity above MM", "2000", "1000", 0.5, False),
    # At the boundary the account is still safe: liquidation needs equity strictly below MM.
    Row("equity equal to MM", "1000", "1000", 1.0, False),
    # One USD quantum (1e-6) below: 1000 / 999.999999 = 1.000000001...
    Row("equity one quantum below MM", "999.999999", "1000", 1000 / 999.999999, True),
    # No maintenance margin: nothing to liquidate, whatever the equity.
    Row("no MM, equity positive", "500", "0", 0.0, False),
    Row("no MM, equity zero", "0", "0", 0.0, False),
    # Negative equity without margin due is bad debt, not a liquidation (dYdX IsLiquidatable).
    Row("no MM, equity negative", "-500", "0", 0.0, False),
    # Margin due and nothing to cover it: an infinite ratio.
    Row("equity zero, MM due", "0", "1000", math.inf, True),
    Row("equity negative, MM due", "-500", "1000", math.inf, True),
    # A tiny requirement against a large equity: 1e-6 / 1e6.
    Row("tiny MM, large equity", "1000000", "0.000001", 1e-12, False),
]
IDS = [row.name for row in ROWS]


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_floats(row: Row) -> None:
    equity, maintenance = float(row.equity), float(row.maintenance_margin)
    assert margin_ratio(maintenance, equity) == row.ratio
    assert is_liquidatable(equity, maintenance) is row.liquidatable


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_decimals(row: Row) -> None:
    """Decimal amounts are divided exactly and rounded once; the quotients in the table are
    within one float rounding of that."""
    equity, maintenance = Decimal(row.equity), Decimal(row.maintenance_margin)
    ratio = margin_ratio(maintenance, equity)
    assert isinstance(ratio, float)
    assert ratio == pytest.approx(row.ratio, rel=1e-15)
    assert is_liquidatable(equity, maintenance) is row.liquidatable


def test_arrays_agree_with_scalars() -> None:
    """All rows at once, one element per account, equal to the scalar answers row by row."""
    equity = np.array([float(row.equity) for row in ROWS])
    maintenance = np.array([float(row.maintenance_margin) for row in ROWS])
    ratios = margin_ratio(maintenance, equity)
    flags = is_liquidatable(equity, maintenance)
    assert ratios.dtype == np.float64 and ratios.shape == (len(ROWS),)
    assert flags.dtype == np.bool_ and flags.shape == (len(ROWS),)
    assert ratios.tolist() == [margin_ratio(m, e) for m, e in zip(maintenance, equity, strict=True)]
    assert flags.tolist() == [row.liquidatable for row in ROWS]
    np.testing.assert_array_equal(margin_ratios(maintenance, equity), ratios)


def test_the_predicate_decides_on_amounts_not_on_the_rounded_ratio() -> None:
    """Equity one float ulp below 1,000: the ratio rounds to 1.0000000000000002, and the
    predicate says liquidatable from the amounts themselves (ratio > 1 agrees here)."""
    equity = float(np.nextafter(1000.0, 0.0))
    assert is_liquidatable(equity, 1000.0)
    assert margin_ratio(1000.0, equity) > 1.0


def test_decimal_ratio_keeps_the_documented_figures() -> None:
    """MarginResult ratios divide the Decimal amounts: docs/margin-models.md shows
    13,165.714286 / 29,542.857143 = 0.4456479690597406 and docs/service.md
    9,216 / 19,996.4 = 0.4608829589326079 (float division would give 0.46088295893260783)."""
    assert margin_ratio(Decimal("13165.714286"), Decimal("29542.857143")) == 0.4456479690597406
    assert margin_ratio(Decimal("9216.000000"), Decimal("19996.400000")) == 0.4608829589326079


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_results_use_the_one_rule(row: Row) -> None:
    """MarginResult (Decimal) and the engine's PreTradeCheck (float) answer as the table."""
    maintenance = Decimal(row.maintenance_margin)
    result = MarginResult(
        model="table",
        initial_margin=maintenance,
        maintenance_margin=maintenance,
        equity=Decimal(row.equity),
        collateral_value=Decimal(row.equity),
        components={"requirement": maintenance},
        maintenance_components={"requirement": maintenance},
    )
    assert result.margin_ratio == pytest.approx(row.ratio, rel=1e-15)
    assert result.liquidatable is row.liquidatable
    check = PreTradeCheck(
        account=0,
        instrument_index=0,
        size=0.0,
        initial_margin_before=float(maintenance),
        maintenance_margin_before=float(maintenance),
        initial_margin=float(maintenance),
        maintenance_margin=float(maintenance),
        equity=float(row.equity),
        worst_scenario_index=-1,
    )
    assert check.margin_ratio == row.ratio


def test_a_quotient_that_overflows_is_inf_without_a_warning() -> None:
    """1e300 USD of MM against 1e-300 USD of equity: 1e600 does not fit a float64; the ratio is
    ``inf`` (the account is liquidatable) and no RuntimeWarning escapes."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert margin_ratio(1e300, 1e-300) == math.inf
        ratios = margin_ratio(np.array([1e300, 1.0]), np.array([1e-300, 2.0]))
    assert ratios.tolist() == [math.inf, 0.5]
