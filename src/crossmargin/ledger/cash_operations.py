"""Cash operations: deposits, withdrawals, insurance-fund movements and deficit cover.

Each function validates its inputs (``InputError`` naming the field) and returns an
:class:`~crossmargin.ledger.operations.Operation` for :class:`~crossmargin.ledger.Ledger` to
post. Amounts are given by the caller and must already sit on the currency quantum.
"""

from __future__ import annotations

from decimal import Decimal

from crossmargin.core.errors import InputError
from crossmargin.ledger.accounts import AccountKind, parse_account_id
from crossmargin.ledger.entries import EntryDraft, EntryKind, PostingKind
from crossmargin.ledger.money import DecimalInput, canonical_decimal, parse_amount, parse_currency
from crossmargin.ledger.operations import (
    Operation,
    SystemAccounts,
    require_kind,
    transfer_lines,
)
from crossmargin.ledger.risk import MarginCheck
from crossmargin.ledger.state import StateBuilder

__all__ = ["deficit_cover", "deposit", "insurance_deposit", "insurance_withdrawal", "withdrawal"]

_USER = (AccountKind.USER,)


def _parsed(currency: str, amount: DecimalInput) -> tuple[str, Decimal, dict[str, str]]:
    currency = parse_currency(currency)
    value = parse_amount(amount, currency)
    return currency, value, {"currency": currency, "amount": canonical_decimal(value)}


def deposit(account_id: int, currency: str, amount: DecimalInput) -> Operation:
    """Cash from the outside world into a user account."""
    account_id = parse_account_id(account_id)
    currency, value, request = _parsed(currency, amount)

    def build(view: StateBuilder, system: SystemAccounts) -> EntryDraft:
        require_kind(view, account_id, _USER, "deposits")
        lines = transfer_lines(
            system[AccountKind.EXTERNAL], account_id, currency, value, PostingKind.DEPOSIT
        )
        return EntryDraft(EntryKind.DEPOSIT, account_id, request, lines)

    return Operation(EntryKind.DEPOSIT, account_id, request, build)


def withdrawal(account_id: int, currency: str, amount: DecimalInput) -> Operation:
    """Cash from a user account to the outside world (covered by the balance; margin-checked)."""
    account_id = parse_account_id(account_id)
    currency, value, request = _parsed(currency, amount)

    def build(view: StateBuilder, system: SystemAccounts) -> EntryDraft:
        require_kind(view, account_id, _USER, "withdrawals")
        lines = transfer_lines(
            account_id, system[AccountKind.EXTERNAL], currency, value, PostingKind.WITHDRAWAL
        )
        return EntryDraft(EntryKind.WITHDRAWAL, account_id, request, lines)

    return Operation(EntryKind.WITHDRAWAL, account_id, request, build, MarginCheck.WITHDRAWAL)


def insurance_deposit(system: SystemAccounts, currency: str, amount: DecimalInput) -> Operation:
    """Cash from the outside world into the insurance fund."""
    fund = system[AccountKind.INSURANCE]
    currency, value, request = _parsed(currency, amount)

    def build(view: StateBuilder, system: SystemAccounts) -> EntryDraft:
        lines = transfer_lines(
            system[AccountKind.EXTERNAL], fund, currency, value, PostingKind.INSURANCE
        )
        return EntryDraft(EntryKind.INSURANCE_DEPOSIT, fund, request, lines)

    return Operation(EntryKind.INSURANCE_DEPOSIT, fund, request, build)


def insurance_withdrawal(system: SystemAccounts, currency: str, amount: DecimalInput) -> Operation:
    """Cash from the insurance fund to the outside world (the fund must cover it)."""
    fund = system[AccountKind.INSURANCE]
    currency, value, request = _parsed(currency, amount)

    def build(view: StateBuilder, system: SystemAccounts) -> EntryDraft:
        lines = transfer_lines(
            fund, system[AccountKind.EXTERNAL], currency, value, PostingKind.INSURANCE
        )
        return EntryDraft(EntryKind.INSURANCE_WITHDRAWAL, fund, request, lines)

    return Operation(EntryKind.INSURANCE_WITHDRAWAL, fund, request, build)


def deficit_cover(account_id: int, currency: str, amount: DecimalInput) -> Operation:
    """The insurance fund pays (part of) a user's recorded deficit in ``currency``; ``amount``
    may not exceed the deficit."""
    account_id = parse_account_id(account_id)
    currency, value, request = _parsed(currency, amount)

    def build(view: StateBuilder, system: SystemAccounts) -> EntryDraft:
        require_kind(view, account_id, _USER, "deficit cover")
        deficit = max(-view.balance(account_id, currency), Decimal(0))
        if value > deficit:
            raise InputError(
                "amount",
                canonical_decimal(value),
                f"exceeds the {currency} deficit {canonical_decimal(deficit)} of account "
                f"{account_id}",
            )
        lines = transfer_lines(
            system[AccountKind.INSURANCE], account_id, currency, value, PostingKind.DEFICIT_COVER
        )
        return EntryDraft(EntryKind.DEFICIT_COVER, account_id, request, lines)

    return Operation(EntryKind.DEFICIT_COVER, account_id, request, build)
