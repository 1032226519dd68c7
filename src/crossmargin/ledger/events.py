"""The append-only event log: canonical JSON payloads and their parsing.

Each event has a ``sequence`` (1, 2, 3, … with no gaps, in commit order), a ``kind``
(``"account_opened"`` or an :class:`~crossmargin.ledger.entries.EntryKind` value) and a canonical
JSON ``payload``: keys sorted, no whitespace, UTF-8, every decimal as canonical text
(``"1.5"``, never ``1.5`` or ``"1.50"``). An entry's payload records its facts — postings and
position changes with the sizes and entry prices after them — so replaying the log needs no
business logic and always yields the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from crossmargin.ledger.accounts import AccountKind, AccountRecord
from crossmargin.ledger.entries import (
    EntryDraft,
    EntryKind,
    EntryRecord,
    PositionChange,
    Posting,
    PostingKind,
    RequestValue,
)
from crossmargin.ledger.errors import LedgerIntegrityError
from crossmargin.ledger.money import canonical_decimal

__all__ = [
    "ACCOUNT_OPENED",
    "LedgerEvent",
    "account_from_payload",
    "account_payload",
    "canonical_json",
    "entry_from_event",
    "entry_payload",
    "request_hash",
]

#: Event kind of a new account.
ACCOUNT_OPENED = "account_opened"


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    """One event of the log (see the module docstring); ``recorded_at`` is audit-only."""

    sequence: int
    kind: str
    payload: str
    recorded_at: datetime

    @property
    def is_entry(self) -> bool:
        """True for a journal entry (every kind except ``account_opened``)."""
        return self.kind != ACCOUNT_OPENED


def _encode(value: object) -> str:
    if isinstance(value, Decimal):
        return canonical_decimal(value)
    raise TypeError(f"not allowed in a ledger payload: {value!r}")


def canonical_json(value: object) -> str:
    """Serialise ``value`` canonically: sorted keys, compact separators, Decimals as text.

    Floats are refused (``TypeError``): they have no place in the ledger.
    """
    _refuse_floats(value)
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_encode
    )


def _refuse_floats(value: object) -> None:
    if isinstance(value, float):
        raise TypeError(f"float {value!r} in a ledger payload")
    if isinstance(value, Mapping):
        for item in value.values():
            _refuse_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_floats(item)


def request_hash(kind: EntryKind, account_id: int, request: Mapping[str, RequestValue]) -> str:
    """SHA-256 (hex) of a request's canonical form: what an idempotency key is bound to."""
    text = canonical_json({"account_id": account_id, "kind": kind.value, "request": request})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def account_payload(record: AccountRecord) -> str:
    """Payload of an ``account_opened`` event."""
    return canonical_json(
        {"account_id": record.account_id, "kind": record.kind.value, "name": record.name}
    )


def account_from_payload(payload: str) -> AccountRecord:
    """Parse an ``account_opened`` payload."""
    fields = _load(payload)
    return AccountRecord(
        int(fields["account_id"]), str(fields["name"]), AccountKind(fields["kind"])
    )


def entry_payload(draft: EntryDraft | EntryRecord, idempotency_key: str) -> str:
    """Payload of an entry event: its facts and the normalised request."""
    return canonical_json(
        {
            "account_id": draft.account_id,
            "idempotency_key": idempotency_key,
            "kind": draft.kind.value,
            "request": dict(draft.request),
            "postings": [
                {
                    "account_id": p.account_id,
                    "amount": p.amount,
                    "currency": p.currency,
                    "kind": p.kind.value,
                }
                for p in draft.postings
            ],
            "position_changes": [
                {
                    "account_id": c.account_id,
                    "average_price_after": c.average_price_after,
                    "instrument": c.instrument,
                    "size_after": c.size_after,
                    "size_change": c.size_change,
                }
                for c in draft.position_changes
            ],
        }
    )


def _load(payload: str) -> dict[str, Any]:
    try:
        fields = json.loads(payload)
    except json.JSONDecodeError as error:
        raise LedgerIntegrityError(f"event payload is not JSON: {error}") from None
    if not isinstance(fields, dict):
        raise LedgerIntegrityError("event payload is not a JSON object")
    return fields


def _optional_decimal(text: object) -> Decimal | None:
    return None if text is None else Decimal(str(text))


def entry_from_event(event: LedgerEvent) -> EntryRecord:
    """Rebuild the :class:`EntryRecord` an entry event recorded."""
    if not event.is_entry:
        raise LedgerIntegrityError(f"event {event.sequence} is not an entry")
    fields = _load(event.payload)
    try:
        return EntryRecord(
            entry_id=event.sequence,
            kind=EntryKind(fields["kind"]),
            account_id=int(fields["account_id"]),
            idempotency_key=str(fields["idempotency_key"]),
            request=dict(fields["request"]),
            postings=tuple(
                Posting(
                    int(p["account_id"]),
                    str(p["currency"]),
                    Decimal(p["amount"]),
                    PostingKind(p["kind"]),
                )
                for p in fields["postings"]
            ),
            position_changes=tuple(
                PositionChange(
                    int(c["account_id"]),
                    str(c["instrument"]),
                    Decimal(c["size_change"]),
                    Decimal(c["size_after"]),
                    _optional_decimal(c["average_price_after"]),
                )
                for c in fields["position_changes"]
            ),
            recorded_at=event.recorded_at,
        )
    except (KeyError, TypeError, ValueError, ArithmeticError) as error:
        raise LedgerIntegrityError(f"event {event.sequence}: malformed entry ({error})") from None
