"""The one crossing point between ledger money (``Decimal``) and risk numbers (float64).

Margin requirements round **up** to the currency quantum, collateral values round **down**, so a
conversion can only ever make the system more conservative. No other module converts between
the two.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, InvalidOperation

from crossmargin.core.errors import InputError

__all__ = [
    "QUANTA",
    "STABLECOINS",
    "collateral_to_decimal",
    "decimal_to_float",
    "margin_to_decimal",
    "parse_decimal",
    "quantum_for",
    "to_decimal_nearest",
]

#: Fixed quantum per currency (DESIGN.md §2). Unknown coins default to 1e-8.
QUANTA: Mapping[str, Decimal] = {
    "USD": Decimal("0.000001"),
    "USDC": Decimal("0.000001"),
    "USDT": Decimal("0.000001"),
    "BTC": Decimal("0.00000001"),
    "ETH": Decimal("0.00000001"),
    "SOL": Decimal("0.00000001"),
}

#: Currencies treated as worth one US dollar when no index price is given for them.
STABLECOINS: frozenset[str] = frozenset({"USD", "USDC", "USDT"})

_DEFAULT_QUANTUM = Decimal("0.00000001")


def quantum_for(currency: str) -> Decimal:
    """Return the ledger quantum of ``currency`` (e.g. ``Decimal('0.000001')`` for USDC)."""
    return QUANTA.get(currency.upper(), _DEFAULT_QUANTUM)


def _finite(value: float, field: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise InputError(field, value, "must be a finite number")
    return number


def margin_to_decimal(value: float, currency: str = "USD", field: str = "margin") -> Decimal:
    """Convert a float margin requirement to ``Decimal``, rounded **up** to the currency quantum.

    Negative inputs are allowed (a P&L); rounding is always towards +infinity so a requirement can
    only grow.
    """
    number = _finite(value, field)
    return Decimal(repr(number)).quantize(quantum_for(currency), rounding=ROUND_CEILING)


def collateral_to_decimal(
    value: float, currency: str = "USD", field: str = "collateral"
) -> Decimal:
    """Convert a float collateral value to ``Decimal``, rounded **down** to the currency quantum."""
    number = _finite(value, field)
    return Decimal(repr(number)).quantize(quantum_for(currency), rounding=ROUND_FLOOR)


def to_decimal_nearest(value: float, currency: str = "USD", field: str = "value") -> Decimal:
    """Convert a float that is neither margin nor collateral (a mark value, a P&L) to ``Decimal``,
    rounded half-even to the currency quantum."""
    number = _finite(value, field)
    return Decimal(repr(number)).quantize(quantum_for(currency), rounding=ROUND_HALF_EVEN)


def decimal_to_float(value: Decimal) -> float:
    """Convert a ledger ``Decimal`` to float64 for risk arithmetic."""
    return float(value)


def parse_decimal(raw: object, field: str) -> Decimal:
    """Parse a user-supplied amount (str, int or float) into a finite ``Decimal``.

    Floats go through ``repr`` so ``0.1`` becomes ``Decimal('0.1')``, not its binary expansion.
    Raises :class:`InputError` naming ``field`` for anything that is not a finite number.
    """
    if isinstance(raw, bool):
        raise InputError(field, raw, "must be a number, not a boolean")
    try:
        if isinstance(raw, Decimal):
            amount = raw
        elif isinstance(raw, int):
            amount = Decimal(raw)
        elif isinstance(raw, float):
            amount = Decimal(repr(raw))
        elif isinstance(raw, str):
            amount = Decimal(raw.strip())
        else:
            raise InputError(field, raw, "must be a number or a decimal string")
    except InvalidOperation:
        raise InputError(field, raw, "is not a decimal number") from None
    if not amount.is_finite():
        raise InputError(field, raw, "must be finite")
    return amount
