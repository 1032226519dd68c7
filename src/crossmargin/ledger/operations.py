"""Ledger operations as pure values, and the entry lines they are made of.

An :class:`Operation` holds validated inputs, the normalised request (what an idempotency key is
bound to) and a function that turns the current state into a balanced
:class:`~crossmargin.ledger.entries.EntryDraft`. Nothing here touches the database:
:class:`~crossmargin.ledger.ledger.Ledger` posts an operation inside one transaction, building the
entry against the rows it has locked. The operations themselves live in
:mod:`crossmargin.ledger.cash_operations` and :mod:`crossmargin.ledger.position_operations`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from crossmargin.core.errors import InputError
from crossmargin.instruments import Instrument, parse_instrument
from crossmargin.ledger.accounts import AccountKind
from crossmargin.ledger.entries import (
    EntryDraft,
    EntryKind,
    PositionChange,
    Posting,
    PostingKind,
    RequestValue,
)
from crossmargin.ledger.money import LEDGER_CONTEXT, round_cash_to_account
from crossmargin.ledger.risk import MarginCheck
from crossmargin.ledger.state import LedgerPosition, StateBuilder

__all__ = [
    "TRADING_KINDS",
    "EntryBuilder",
    "Operation",
    "SystemAccounts",
    "cash_lines",
    "held_position",
    "mirror_change",
    "parse_instrument_name",
    "require_kind",
    "transfer_lines",
]

#: Ids of the system accounts by kind.
SystemAccounts = Mapping[AccountKind, int]

#: Builds an operation's entry from the current state and the system account ids.
EntryBuilder = Callable[[StateBuilder, SystemAccounts], EntryDraft]

#: Account kinds that hold positions with entry prices and may trade.
TRADING_KINDS = tuple(kind for kind in AccountKind if kind.may_trade)


@dataclass(frozen=True, slots=True)
class Operation:
    """A validated ledger operation, ready to post.

    ``account_id`` is the primary account: its idempotency keys are the ones the operation uses,
    and ``margin_check`` applies to it.
    """

    kind: EntryKind
    account_id: int
    request: Mapping[str, RequestValue]
    build: EntryBuilder
    margin_check: MarginCheck = MarginCheck.NONE


def parse_instrument_name(name: object) -> Instrument:
    """The instrument named ``name`` (``InputError`` on field ``instrument`` otherwise)."""
    if not isinstance(name, str):
        raise InputError("instrument", name, "must be an instrument name")
    return parse_instrument(name)


def require_kind(
    view: StateBuilder, account_id: int, kinds: tuple[AccountKind, ...], what: str
) -> None:
    """Refuse (``InputError`` on ``account_id``) an account whose kind is not in ``kinds``."""
    record = view.account(account_id)
    if record.kind not in kinds:
        allowed = " or ".join(kind.value for kind in kinds)
        raise InputError(
            "account_id", account_id, f"is the {record.name} account; {what} need {allowed}"
        )


def held_position(view: StateBuilder, account_id: int, contract: Instrument) -> LedgerPosition:
    """The account's position in ``contract`` (``InputError`` on ``instrument`` when none)."""
    view.account(account_id)
    position = view.position(account_id, contract.name)
    if position is None:
        raise InputError(
            "instrument", contract.name, f"account {account_id} holds no position in it"
        )
    return position


def transfer_lines(
    source: int, target: int, currency: str, amount: Decimal, kind: PostingKind
) -> tuple[Posting, ...]:
    """An exact amount (already on the quantum) from ``source`` to ``target``."""
    if amount == 0:
        return ()
    return (Posting(source, currency, -amount, kind), Posting(target, currency, amount, kind))


def cash_lines(
    account_id: int, counterparty: int, currency: str, exact: Decimal, kind: PostingKind
) -> tuple[Posting, ...]:
    """A computed cash flow into ``account_id`` (negative: out of it), rounded by
    :func:`~crossmargin.ledger.money.round_cash_to_account`; the counterparty takes the exact
    opposite."""
    amount = round_cash_to_account(exact, currency)
    if amount == 0:
        return ()
    return (
        Posting(account_id, currency, amount, kind),
        Posting(counterparty, currency, -amount, kind),
    )


def mirror_change(
    view: StateBuilder, settlement: int, instrument: str, change: Decimal
) -> PositionChange:
    """The settlement account's side of a position change (size only, no entry price)."""
    held = view.position(settlement, instrument)
    before = held.size if held is not None else Decimal(0)
    return PositionChange(settlement, instrument, change, LEDGER_CONTEXT.add(before, change), None)
