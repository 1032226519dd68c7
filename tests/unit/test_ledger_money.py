"""Unit tests of ledger money: exact parsing on the currency quantum, canonical text, rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crossmargin.core.errors import InputError
from crossmargin.ledger import canonical_decimal, round_cash_to_account
from crossmargin.ledger.money import (
    parse_amount,
    parse_currency,
    parse_price,
    parse_rate,
    parse_size,
)


def test_amounts_on_the_quantum_are_kept_exactly() -> None:
    assert parse_amount("1000.5", "USDC") == Decimal("1000.5")
    assert parse_amount(Decimal("0.000001"), "USDC") == Decimal("0.000001")
    assert parse_amount("0.00000001", "BTC") == Decimal("0.00000001")
    assert parse_amount(7, "USDC") == Decimal(7)
    assert parse_amount("123456789012.123456", "USDC") == Decimal("123456789012.123456")


@pytest.mark.parametrize(
    ("raw", "currency"),
    [("0.0000001", "USDC"), ("0.000000001", "BTC"), ("1.0000005", "USD")],
)
def test_an_amount_off_the_quantum_is_rejected_naming_field_and_value(
    raw: str, currency: str
) -> None:
    with pytest.raises(InputError, match="quantum") as caught:
        parse_amount(raw, currency, "deposit.amount")
    assert caught.value.field == "deposit.amount"
    assert caught.value.value == raw


@pytest.mark.parametrize("raw", [0.1, True, "NaN", "Infinity", "-1", "0", "ten", None, "1e20"])
def test_bad_amounts_are_rejected(raw: object) -> None:
    with pytest.raises(InputError) as caught:
        parse_amount(raw, "USDC")
    assert caught.value.field == "amount"


def test_a_float_is_never_money() -> None:
    with pytest.raises(InputError, match="never a float"):
        parse_amount(0.5, "USDC")
    with pytest.raises(InputError, match="never a float"):
        parse_size(0.5)


def test_zero_only_where_allowed() -> None:
    assert parse_amount("0", "USDC", "fee", allow_zero=True) == 0
    with pytest.raises(InputError, match="greater than zero"):
        parse_amount("0", "USDC")


def test_sizes_prices_and_rates() -> None:
    assert parse_size("-1000") == Decimal(-1000)
    assert parse_price("65000.5") == Decimal("65000.5")
    assert parse_rate("-0.003") == Decimal("-0.003")
    assert parse_size("1.500000000000000000000") == Decimal("1.5")  # trailing zeros are fine
    for bad_size in ("0", "1e-19", "1e20"):
        with pytest.raises(InputError, match="size"):
            parse_size(bad_size)
    with pytest.raises(InputError, match="greater than zero"):
        parse_price("0")
    with pytest.raises(InputError, match="between -1 and 1"):
        parse_rate("1.5")


def test_currency_codes() -> None:
    assert parse_currency("USDC") == "USDC"
    for bad in ("usdc", "U", "US-D", "", 5):
        with pytest.raises(InputError, match="asset code"):
            parse_currency(bad)


def test_canonical_text_has_no_exponent_and_no_trailing_zeros() -> None:
    assert canonical_decimal(Decimal("1.500")) == "1.5"
    assert canonical_decimal(Decimal("1E+2")) == "100"
    assert canonical_decimal(Decimal("-0.000")) == "0"
    assert canonical_decimal(Decimal("1E-8")) == "0.00000001"
    big = "12345678901234567890.123456789012345678"
    assert canonical_decimal(Decimal(big)) == big  # 38 digits survive (no 28-digit context)


def test_computed_cash_rounds_towards_minus_infinity() -> None:
    """0.3 BTC × 34149.46365245 × 0.0001 = 1.024483909573500 USDC of funding: a payer is
    debited 1.024484 (rounded up), a receiver credited 1.024483 (rounded down)."""
    exact = Decimal("0.3") * Decimal("34149.46365245") * Decimal("0.0001")
    assert exact == Decimal("1.0244839095735")
    assert round_cash_to_account(-exact, "USDC") == Decimal("-1.024484")
    assert round_cash_to_account(exact, "USDC") == Decimal("1.024483")
    assert round_cash_to_account(Decimal("0.04"), "BTC") == Decimal("0.04")
