"""Collateral valuation: balances times prices, less haircuts, rounded down."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from crossmargin.collateral.haircuts import HaircutSchedule
from crossmargin.core.numeric import collateral_to_decimal, decimal_to_float, margin_to_decimal
from crossmargin.market import MarketSnapshot

__all__ = ["CollateralLine", "CollateralValuation", "value_collateral"]


@dataclass(frozen=True, slots=True)
class CollateralLine:
    """One currency's contribution to collateral.

    ``value_usd`` is ``balance × price × (1 − haircut)`` for a positive balance (rounded down) and
    ``balance × price × (1 + haircut)`` for a negative one (a liability, rounded away from zero so
    it can only hurt).
    """

    currency: str
    balance: Decimal
    price_usd: float
    haircut: float
    gross_usd: Decimal
    value_usd: Decimal


@dataclass(frozen=True, slots=True)
class CollateralValuation:
    """Collateral of one account in USD: per currency and in total (after haircuts)."""

    lines: tuple[CollateralLine, ...]
    gross_usd: Decimal
    value_usd: Decimal


def value_collateral(
    balances: Mapping[str, Decimal], market: MarketSnapshot, haircuts: HaircutSchedule
) -> CollateralValuation:
    """Value ``balances`` in USD at ``market`` index prices after ``haircuts``.

    Returns the gross USD value (no haircut) and the haircut value, both rounded **down** to the
    USD quantum (1e-6) as the numeric policy requires: assets towards zero, liabilities away from
    it.
    """
    lines: list[CollateralLine] = []
    for currency in sorted(balances):
        balance = balances[currency]
        price = market.index(currency)
        haircut = haircuts.haircut_for(currency)
        gross = decimal_to_float(balance) * price
        weight = 1.0 - haircut if balance >= 0 else 1.0 + haircut
        weighted = gross * weight
        value = (
            collateral_to_decimal(weighted, "USD", f"collateral.{currency}")
            if weighted >= 0
            else -margin_to_decimal(-weighted, "USD", f"collateral.{currency}")
        )
        lines.append(
            CollateralLine(
                currency=currency,
                balance=balance,
                price_usd=price,
                haircut=haircut,
                gross_usd=collateral_to_decimal(gross, "USD", f"collateral.{currency}")
                if gross >= 0
                else -margin_to_decimal(-gross, "USD", f"collateral.{currency}"),
                value_usd=value,
            )
        )
    return CollateralValuation(
        lines=tuple(lines),
        gross_usd=sum((line.gross_usd for line in lines), Decimal(0)),
        value_usd=sum((line.value_usd for line in lines), Decimal(0)),
    )
