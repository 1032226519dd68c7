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
    """One currency's contribution to collateral, USD.

    The haircut applies to the currency's *net* holding: its balance plus the mark value of the
    positions settled in it (``positions_value``, in the currency), as a venue haircuts a
    currency's equity. So moving value between the two (a trade at the mark: premium paid from
    the balance for an option worth as much; P&L realised from a position into the balance)
    leaves the account's equity where it was. A net liability is valued at its full price, with
    no haircut either way: a haircut discounts an asset's risk and never shrinks (or inflates) a
    debt.

    Attributes
    ----------
    currency:
        Asset code (``"BTC"``).
    balance:
        Ledger balance in the currency (negative is a liability).
    price_usd:
        Index price, USD per unit of the currency.
    haircut:
        The schedule's haircut (0.1 = 10 % of a positive net holding is not counted).
    gross_usd:
        ``balance × price``, rounded down for an asset and away from zero for a liability.
    value_usd:
        What the balance adds to equity: ``balance × price − haircut × max(balance +
        positions_value, 0) × price``, rounded the same way (down, or away from zero).
    positions_value:
        Mark value of the positions settled in the currency, in the currency (0 without any).
    haircut_usd:
        ``gross_usd − value_usd``, the haircut taken, USD (≥ 0).
    """

    currency: str
    balance: Decimal
    price_usd: float
    haircut: float
    gross_usd: Decimal
    value_usd: Decimal
    positions_value: float = 0.0
    haircut_usd: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class CollateralValuation:
    """Collateral of one account in USD: per currency and in total (after haircuts)."""

    lines: tuple[CollateralLine, ...]
    gross_usd: Decimal
    value_usd: Decimal


def _rounded_value(amount_usd: float, field: str) -> Decimal:
    """An asset rounded down to the USD quantum, a liability away from zero (both conservative)."""
    if amount_usd >= 0:
        return collateral_to_decimal(amount_usd, "USD", field)
    return -margin_to_decimal(-amount_usd, "USD", field)


def value_collateral(
    balances: Mapping[str, Decimal],
    market: MarketSnapshot,
    haircuts: HaircutSchedule,
    positions_value: Mapping[str, float] | None = None,
) -> CollateralValuation:
    """Value ``balances`` in USD at ``market`` index prices after ``haircuts``.

    Parameters
    ----------
    balances:
        Ledger balance per currency.
    market:
        Index prices (USD per unit; stablecoins 1.0 when absent).
    haircuts:
        The haircut schedule; every currency valued needs a haircut in it.
    positions_value:
        Mark value of the positions settled in each currency, in that currency (e.g. the BTC
        value of inverse options and of inverse futures' unrealised P&L). The haircut applies
        to balance + this net holding (see :class:`CollateralLine`); a currency with positions
        but no balance gets a line too. ``None``: balances alone.

    Returns
    -------
    CollateralValuation
        Lines sorted by currency; gross and haircut values rounded to the USD quantum (1e-6) as
        the numeric policy requires: assets down, liabilities away from zero.
    """
    held = dict(positions_value or {})
    lines: list[CollateralLine] = []
    for currency in sorted(set(balances) | {c for c, v in held.items() if v != 0.0}):
        balance = balances.get(currency, Decimal(0))
        field = f"collateral.{currency}"
        price = market.index(currency)
        haircut = haircuts.haircut_for(currency)
        on_positions = float(held.get(currency, 0.0))
        balance_units = decimal_to_float(balance)
        gross = balance_units * price
        taken = haircut * max(balance_units + on_positions, 0.0) * price
        gross_usd = _rounded_value(gross, field)
        value_usd = _rounded_value(gross - taken, field)
        lines.append(
            CollateralLine(
                currency=currency,
                balance=balance,
                price_usd=price,
                haircut=haircut,
                gross_usd=gross_usd,
                value_usd=value_usd,
                positions_value=on_positions,
                haircut_usd=gross_usd - value_usd,
            )
        )
    return CollateralValuation(
        lines=tuple(lines),
        gross_usd=sum((line.gross_usd for line in lines), Decimal(0)),
        value_usd=sum((line.value_usd for line in lines), Decimal(0)),
    )
