"""Exact ledger money: parsing user amounts, canonical text, and the one rounding rule.

Every amount that enters the ledger from outside (a deposit, a fee, a penalty) must already be an
exact multiple of its currency's quantum (:func:`crossmargin.core.numeric.quantum_for`); anything
else is rejected with an :class:`~crossmargin.core.errors.InputError` naming the field and the
value. Money is never rounded silently.

Amounts the ledger *computes* (realised P&L, funding, option premium, settlement) are generally not
multiples of the quantum. They follow one documented rule, :func:`round_cash_to_account`: the cash
that moves into or out of an account is rounded towards minus infinity, so an account receives at
most and pays at least the exact amount; its counterparty posts the exact opposite, so the entry
still sums to zero.

All arithmetic runs in :data:`LEDGER_CONTEXT` (100 significant digits), which holds products of two
inputs exactly; the default 28-digit context would round large balances silently.
"""

from __future__ import annotations

import re
from decimal import (
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)

from crossmargin.core.errors import InputError
from crossmargin.core.numeric import parse_decimal, quantum_for

__all__ = [
    "AVERAGE_PRICE_QUANTUM",
    "LEDGER_CONTEXT",
    "MAX_FRACTION_DIGITS",
    "MAX_INTEGER_DIGITS",
    "DecimalInput",
    "canonical_decimal",
    "is_multiple_of_quantum",
    "parse_amount",
    "parse_currency",
    "parse_price",
    "parse_rate",
    "parse_size",
    "round_average_price",
    "round_cash_to_account",
]

#: What callers may pass for money, sizes and prices: never a float.
DecimalInput = Decimal | str | int

#: Context for all ledger arithmetic: exact for products of two 38-digit inputs.
LEDGER_CONTEXT = Context(
    prec=100, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)

#: Inputs carry at most 18 decimal places and 20 integer digits (the range of NUMERIC(38, 18)).
MAX_FRACTION_DIGITS = 18
MAX_INTEGER_DIGITS = 20

#: Average entry prices are derived (a weighted or harmonic mean) and are kept to 1e-12 price
#: units, rounded half-even. They are not money: P&L computed from them is rounded by
#: :func:`round_cash_to_account`.
AVERAGE_PRICE_QUANTUM = Decimal("1e-12")

_CURRENCY = re.compile(r"[A-Z][A-Z0-9]{1,9}")


def canonical_decimal(value: Decimal) -> str:
    """The canonical text of ``value``: plain notation, no exponent, no trailing zeros, ``"0"``
    for zero (``Decimal("1.500")`` → ``"1.5"``, ``Decimal("1E+2")`` → ``"100"``)."""
    if value == 0:
        return "0"
    return format(value.normalize(LEDGER_CONTEXT), "f")


def parse_currency(raw: object, field: str = "currency") -> str:
    """Validate an asset code: upper-case letters and digits, 2 to 10 characters (``"USDC"``)."""
    if not isinstance(raw, str) or _CURRENCY.fullmatch(raw) is None:
        raise InputError(field, raw, "must be an upper-case asset code such as 'USDC' or 'BTC'")
    return raw


def _parse_exact(raw: object, field: str) -> Decimal:
    """A finite ``Decimal`` from a ``Decimal``, ``str`` or ``int`` within the stored range."""
    if isinstance(raw, float):
        raise InputError(field, raw, "must be a Decimal or a decimal string, never a float")
    value = parse_decimal(raw, field)
    if value == 0:
        return Decimal(0)
    exponent = value.normalize(LEDGER_CONTEXT).as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_FRACTION_DIGITS:
        raise InputError(field, raw, f"has more than {MAX_FRACTION_DIGITS} decimal places")
    if value.copy_abs().adjusted() >= MAX_INTEGER_DIGITS:
        raise InputError(field, raw, f"must be below 1e{MAX_INTEGER_DIGITS} in magnitude")
    return value


def is_multiple_of_quantum(value: Decimal, currency: str) -> bool:
    """True when ``value`` is an exact multiple of ``currency``'s quantum."""
    quantum = quantum_for(currency)
    try:
        return value.quantize(quantum, context=LEDGER_CONTEXT) == value
    except InvalidOperation:
        return False


def parse_amount(
    raw: object, currency: str, field: str = "amount", *, allow_zero: bool = False
) -> Decimal:
    """Parse a money amount that must be positive (or zero when ``allow_zero``) and an exact
    multiple of the quantum of ``currency`` (1e-6 for USDC, 1e-8 for BTC).

    Raises :class:`InputError` naming ``field`` for floats, non-numbers, non-finite or negative
    values, and for amounts that would need rounding (``"0.0000001"`` USDC).
    """
    value = _parse_exact(raw, field)
    if value < 0 or (value == 0 and not allow_zero):
        raise InputError(
            field, raw, "must be greater than zero" if not allow_zero else "must be ≥ 0"
        )
    if not is_multiple_of_quantum(value, currency):
        raise InputError(
            field, raw, f"is not a multiple of the {currency} quantum {quantum_for(currency)}"
        )
    return value


def parse_size(raw: object, field: str = "size") -> Decimal:
    """Parse a signed, non-zero position size in the instrument's native amount."""
    value = _parse_exact(raw, field)
    if value == 0:
        raise InputError(field, raw, "must be non-zero (positive buys, negative sells)")
    return value


def parse_price(raw: object, field: str = "price") -> Decimal:
    """Parse a price that must be greater than zero."""
    value = _parse_exact(raw, field)
    if value <= 0:
        raise InputError(field, raw, "must be a price greater than zero")
    return value


def parse_rate(raw: object, field: str = "rate") -> Decimal:
    """Parse a per-period funding rate as a fraction (0.0001 = 0.01 %), |rate| ≤ 1."""
    value = _parse_exact(raw, field)
    if value.copy_abs() > 1:
        raise InputError(field, raw, "must be a fraction between -1 and 1")
    return value


def round_cash_to_account(exact: Decimal, currency: str) -> Decimal:
    """Round a computed cash flow *into* an account (negative: out of it) to the currency quantum,
    towards minus infinity: the account receives at most, and pays at least, the exact amount."""
    return exact.quantize(quantum_for(currency), rounding=ROUND_FLOOR, context=LEDGER_CONTEXT)


def round_average_price(exact: Decimal) -> Decimal:
    """Round a derived average entry price half-even to :data:`AVERAGE_PRICE_QUANTUM`."""
    return exact.quantize(AVERAGE_PRICE_QUANTUM, context=LEDGER_CONTEXT)
