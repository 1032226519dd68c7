"""Journal entries: balanced sets of cash postings and position changes.

An entry is what one ledger operation did. Its cash postings sum to zero in every currency and its
position changes sum to zero for every instrument (the settlement account holds the mirror of
every position), which :class:`EntryDraft` checks when it is built.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from crossmargin.ledger.errors import LedgerIntegrityError
from crossmargin.ledger.money import LEDGER_CONTEXT, is_multiple_of_quantum

__all__ = [
    "LOSS_POSTING_KINDS",
    "EntryDraft",
    "EntryKind",
    "EntryRecord",
    "PositionChange",
    "Posting",
    "PostingKind",
    "RequestValue",
    "touched_accounts",
]

#: A value in an entry's request: decimal text, an id, nothing, or a currency → amount map.
RequestValue = str | int | None | Mapping[str, str]


class EntryKind(StrEnum):
    """Which operation made an entry."""

    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    TRADE = "trade"
    FUNDING = "funding"
    EXPIRY_SETTLEMENT = "expiry_settlement"
    LIQUIDATION_TRANSFER = "liquidation_transfer"
    INSURANCE_DEPOSIT = "insurance_deposit"
    INSURANCE_WITHDRAWAL = "insurance_withdrawal"
    DEFICIT_COVER = "deficit_cover"


class PostingKind(StrEnum):
    """Why cash moved."""

    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    FEE = "fee"
    PREMIUM = "premium"
    SPOT = "spot"
    REALISED_PNL = "realised_pnl"
    FUNDING = "funding"
    SETTLEMENT = "settlement"
    LIQUIDATION_PNL = "liquidation_pnl"
    LIQUIDATION_PENALTY = "liquidation_penalty"
    LIQUIDATION_CASH = "liquidation_cash"
    INSURANCE = "insurance"
    DEFICIT_COVER = "deficit_cover"


#: Postings that record a loss: they may take a balance below zero (a recorded deficit). Every
#: other debit must be covered by the balance (see :func:`crossmargin.ledger.rules`).
LOSS_POSTING_KINDS = frozenset(
    {
        PostingKind.REALISED_PNL,
        PostingKind.FUNDING,
        PostingKind.SETTLEMENT,
        PostingKind.LIQUIDATION_PNL,
        PostingKind.LIQUIDATION_PENALTY,
    }
)


@dataclass(frozen=True, slots=True)
class Posting:
    """Cash into (``amount`` > 0) or out of (< 0) one account, exact in ``currency``."""

    account_id: int
    currency: str
    amount: Decimal
    kind: PostingKind

    @property
    def records_loss(self) -> bool:
        """True for a debit of a loss kind (realised P&L, funding, settlement, liquidation)."""
        return self.amount < 0 and self.kind in LOSS_POSTING_KINDS


@dataclass(frozen=True, slots=True)
class PositionChange:
    """A change of one account's position in one instrument.

    ``size_after`` is the position after the change (0 when closed); ``average_price_after`` the
    entry price after it (``None`` when closed, and always for the settlement account's mirror).
    """

    account_id: int
    instrument: str
    size_change: Decimal
    size_after: Decimal
    average_price_after: Decimal | None


def _check_balanced(
    postings: tuple[Posting, ...], position_changes: tuple[PositionChange, ...]
) -> None:
    cash: dict[str, Decimal] = defaultdict(Decimal)
    sizes: dict[str, Decimal] = defaultdict(Decimal)
    for posting in postings:
        if posting.amount == 0 or not is_multiple_of_quantum(posting.amount, posting.currency):
            raise LedgerIntegrityError(f"posting {posting} is zero or off the currency quantum")
        cash[posting.currency] = LEDGER_CONTEXT.add(cash[posting.currency], posting.amount)
    seen: set[tuple[int, str]] = set()
    for change in position_changes:
        if (change.account_id, change.instrument) in seen:
            raise LedgerIntegrityError(f"position {change.instrument} changes twice in one entry")
        seen.add((change.account_id, change.instrument))
        if change.size_change == 0:
            raise LedgerIntegrityError(f"position change {change} has a zero size change")
        sizes[change.instrument] = LEDGER_CONTEXT.add(sizes[change.instrument], change.size_change)
    unbalanced = [(currency, total) for currency, total in cash.items() if total != 0]
    unbalanced += [(instrument, total) for instrument, total in sizes.items() if total != 0]
    if unbalanced:
        raise LedgerIntegrityError(f"entry does not balance: {unbalanced}")


@dataclass(frozen=True, slots=True)
class EntryDraft:
    """An entry before it is stored: the operation, the primary account, the normalised request
    (decimal text), and the balanced postings and position changes."""

    kind: EntryKind
    account_id: int
    request: Mapping[str, RequestValue]
    postings: tuple[Posting, ...]
    position_changes: tuple[PositionChange, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "request", MappingProxyType(dict(self.request)))
        _check_balanced(self.postings, self.position_changes)


@dataclass(frozen=True, slots=True)
class EntryRecord:
    """A stored journal entry.

    Attributes
    ----------
    entry_id:
        The sequence number of the event that recorded it (unique, increasing).
    kind, account_id, request, postings, position_changes:
        As in :class:`EntryDraft`; ``request`` holds the normalised inputs as decimal text.
    idempotency_key:
        The caller's key; unique per account.
    recorded_at:
        UTC time the entry was committed (audit only; not part of the replayed state).
    idempotent_replay:
        True when this call was a retry that returned the original entry and posted nothing
        (ignored by ``==``).
    account_sequences:
        ``(account id, account sequence)`` for every account the entry touches: its number in
        that account's own journal (1, 2, …; see :meth:`sequence_of`). Empty on a record
        rebuilt from an event alone; ignored by ``==``.
    """

    entry_id: int
    kind: EntryKind
    account_id: int
    idempotency_key: str
    request: Mapping[str, RequestValue]
    postings: tuple[Posting, ...]
    position_changes: tuple[PositionChange, ...]
    recorded_at: datetime
    idempotent_replay: bool = field(default=False, compare=False)
    account_sequences: tuple[tuple[int, int], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "request", MappingProxyType(dict(self.request)))
        _check_balanced(self.postings, self.position_changes)

    def sequence_of(self, account_id: int) -> int | None:
        """This entry's number in the journal of ``account_id`` (``None`` when unknown)."""
        for touched, sequence in self.account_sequences:
            if touched == account_id:
                return sequence
        return None

    def touched_accounts(self) -> tuple[int, ...]:
        """The primary account and every account in a posting or position change, sorted."""
        return touched_accounts(self)

    def cash_change(self, account_id: int, currency: str) -> Decimal:
        """Net cash this entry moved into ``account_id`` in ``currency`` (negative: out)."""
        return sum(
            (
                p.amount
                for p in self.postings
                if p.account_id == account_id and p.currency == currency
            ),
            Decimal(0),
        )


def touched_accounts(entry: EntryDraft | EntryRecord) -> tuple[int, ...]:
    """The accounts an entry touches: its primary account and every account of its postings
    and position changes, sorted (the accounts whose journals number it)."""
    accounts = {entry.account_id}
    accounts.update(p.account_id for p in entry.postings)
    accounts.update(c.account_id for c in entry.position_changes)
    return tuple(sorted(accounts))
