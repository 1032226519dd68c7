"""Unit tests of the event log format and of replay (pure; no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType

import pytest

from crossmargin.ledger import (
    AccountKind,
    AccountRecord,
    LedgerEvent,
    LedgerIntegrityError,
    LedgerPosition,
    LedgerState,
    canonical_json,
    replay,
    state_to_bytes,
)
from crossmargin.ledger.events import account_payload

D = Decimal
NOON = datetime(2024, 3, 11, 12, tzinfo=UTC)


def _opened(sequence: int, account_id: int, name: str, kind: AccountKind) -> LedgerEvent:
    payload = account_payload(AccountRecord(account_id, name, kind))
    return LedgerEvent(sequence, "account_opened", payload, NOON)


def _deposit(sequence: int, amount: str, user_amount: str | None = None) -> LedgerEvent:
    payload = canonical_json(
        {
            "account_id": 2,
            "idempotency_key": f"k{sequence}",
            "kind": "deposit",
            "request": {"amount": amount, "currency": "USDC"},
            "postings": [
                {"account_id": 1, "amount": f"-{amount}", "currency": "USDC", "kind": "deposit"},
                {
                    "account_id": 2,
                    "amount": user_amount or amount,
                    "currency": "USDC",
                    "kind": "deposit",
                },
            ],
            "position_changes": [],
        }
    )
    return LedgerEvent(sequence, "deposit", payload, NOON)


LOG = (
    _opened(1, 1, "system:external", AccountKind.EXTERNAL),
    _opened(2, 2, "alice", AccountKind.USER),
    _deposit(3, "100.5"),
    _deposit(4, "0.25"),
)


def test_canonical_json_sorts_keys_and_writes_decimals_as_text() -> None:
    assert canonical_json({"b": D("1.50"), "a": [D("1E+2"), None, 3]}) == (
        '{"a":["100",null,3],"b":"1.5"}'
    )
    with pytest.raises(TypeError, match="float"):
        canonical_json({"amount": 1.5})


def test_replay_folds_the_log_into_balances() -> None:
    state = replay(LOG)
    assert state.last_sequence == 4
    assert state.balances_of(2) == {"USDC": D("100.75")}
    assert state.balances_of(1) == {"USDC": D("-100.75")}


def test_replay_refuses_a_gap_a_repeat_and_an_unbalanced_entry() -> None:
    with pytest.raises(LedgerIntegrityError, match="does not follow"):
        replay((*LOG[:2], LOG[3]))
    with pytest.raises(LedgerIntegrityError, match="opened twice"):
        replay((LOG[0], replace(LOG[0], sequence=2)))
    with pytest.raises(LedgerIntegrityError, match="does not balance"):
        replay((*LOG[:2], _deposit(3, "100.5", user_amount="100.6")))
    with pytest.raises(LedgerIntegrityError, match="not JSON"):
        replay((*LOG[:2], replace(LOG[2], payload="{oops")))


def test_state_bytes_do_not_depend_on_how_a_decimal_is_written() -> None:
    accounts = MappingProxyType({2: AccountRecord(2, "alice", AccountKind.USER)})

    def state(amount: str, size: str) -> LedgerState:
        return LedgerState(
            3,
            accounts,
            {(2, "USDC"): D(amount)},
            {(2, "BTC-PERPETUAL"): LedgerPosition("BTC-PERPETUAL", D(size), D("60000.0"))},
        )

    assert state_to_bytes(state("100.50", "1E+3")) == state_to_bytes(state("100.5", "1000"))
    assert b'"amount":"100.5"' in state_to_bytes(state("100.500000", "1000"))
