"""The one float/Decimal crossing point rounds conservatively."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossmargin.core.errors import FileInputError, InputError
from crossmargin.core.numeric import (
    collateral_to_decimal,
    margin_to_decimal,
    parse_decimal,
    quantum_for,
    to_decimal_nearest,
)


def test_margin_rounds_up_and_collateral_down_to_the_quantum() -> None:
    # 1234.5678901 USD: the USD quantum is 1e-6, so 1234.567890|1 -> up 1234.567891, down ...890.
    assert margin_to_decimal(1234.5678901) == Decimal("1234.567891")
    assert collateral_to_decimal(1234.5678901) == Decimal("1234.567890")
    # BTC quantum 1e-8: 0.123456789 -> up 0.12345679, down 0.12345678.
    assert margin_to_decimal(0.123456789, "BTC") == Decimal("0.12345679")
    assert collateral_to_decimal(0.123456789, "BTC") == Decimal("0.12345678")
    assert to_decimal_nearest(0.1234565, "USDC") == Decimal("0.123456")  # repr is 0.1234565


def test_quanta_follow_the_design() -> None:
    assert quantum_for("usdc") == Decimal("0.000001")
    assert quantum_for("ETH") == Decimal("0.00000001")


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_margin_never_below_and_collateral_never_above_the_float(value: float) -> None:
    assert margin_to_decimal(value) >= Decimal(repr(value))
    assert collateral_to_decimal(value) <= Decimal(repr(value))
    assert margin_to_decimal(value) - collateral_to_decimal(value) <= Decimal("0.000001")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_values_are_rejected_with_the_field(bad: float) -> None:
    with pytest.raises(InputError, match="initial_margin"):
        margin_to_decimal(bad, field="initial_margin")


def test_parse_decimal_keeps_decimal_strings_exact_and_names_the_field() -> None:
    assert parse_decimal("1000.5", "amount") == Decimal("1000.5")
    assert parse_decimal(0.1, "amount") == Decimal("0.1")
    assert parse_decimal(3, "amount") == Decimal(3)
    for bad in ("abc", "NaN", "Infinity", True, None, [1]):
        with pytest.raises(InputError) as caught:
            parse_decimal(bad, "collateral.USDC")
        assert "collateral.USDC" in str(caught.value)


def test_file_errors_name_the_file_field_and_value() -> None:
    error = FileInputError("book.toml", "positions[1].size", "ten", "must be a number")
    assert str(error) == "book.toml: positions[1].size = 'ten': must be a number"
