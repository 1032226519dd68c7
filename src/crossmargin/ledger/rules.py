"""The no-negative-balance rule, shared by the live ledger and the invariant check.

An account that may not go negative (users, fees, the insurance fund) must cover every debit of
an entry except losses: withdrawals, fees, option premiums, spot purchases and transfers. Losses
— realised P&L, funding, expiry settlement, liquidation P&L and penalties — may take a balance
below zero; the loss postings are the record of that deficit. Formally, for each such account and
currency touched by an entry::

    before + (sum of the entry's postings that are not loss debits) >= min(before, 0)

so a deficit can only be created or deepened by loss postings, and a deposit may reduce one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from crossmargin.ledger.entries import EntryDraft, EntryRecord
from crossmargin.ledger.money import LEDGER_CONTEXT
from crossmargin.ledger.state import StateBuilder

__all__ = ["UncoveredDebit", "uncovered_debits"]


@dataclass(frozen=True, slots=True)
class UncoveredDebit:
    """A debit the balance does not cover: ``balance`` before the entry, ``required`` the
    non-loss debits of the entry (a positive amount)."""

    account_id: int
    currency: str
    balance: Decimal
    required: Decimal


def uncovered_debits(
    builder: StateBuilder, entry: EntryDraft | EntryRecord
) -> tuple[UncoveredDebit, ...]:
    """Debits of ``entry`` that break the rule, evaluated against ``builder`` *before* the entry
    is applied. Empty when the entry may be posted."""
    covered: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for posting in entry.postings:
        if not posting.records_loss:
            key = (posting.account_id, posting.currency)
            covered[key] = LEDGER_CONTEXT.add(covered[key], posting.amount)
    problems = []
    for (account_id, currency), change in sorted(covered.items()):
        if change >= 0 or builder.account(account_id).kind.may_go_negative:
            continue
        before = builder.balance(account_id, currency)
        if LEDGER_CONTEXT.add(before, change) < min(before, Decimal(0)):
            problems.append(UncoveredDebit(account_id, currency, before, -change))
    return tuple(problems)
