"""``Ledger.holdings_many``: several accounts' holdings served from the writer's cache of
committed state where it is current, read from the database otherwise — always exactly what
``Ledger.holdings`` reads, account by account, even after another writer (a second ``Ledger``
on the same file, as another process would be) moved the head."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from crossmargin.ledger import Ledger, UnknownAccountError

PERP = "BTC_USDC-PERPETUAL"


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture
def ledger(url: str) -> Iterator[Ledger]:
    with Ledger(url) as opened:
        yield opened


def _same_as_holdings(ledger: Ledger, ids: list[int]) -> None:
    many = ledger.holdings_many(ids)
    assert sorted(many) == sorted(set(ids))
    for account_id, holdings in many.items():
        assert holdings == ledger.holdings(account_id)


def test_holdings_many_equals_holdings_cached_or_not(ledger: Ledger, url: str) -> None:
    alice, bob, carol = (ledger.open_account(n) for n in ("alice", "bob", "carol"))
    ledger.deposit(alice, "USDC", "10000", "a-usdc")
    ledger.deposit(bob, "BTC", "1.5", "b-btc")
    ledger.trade(alice, PERP, "0.25", "72000", "1.5", "a-trade")
    ledger.trade(alice, PERP, "-0.1", "72100", "0", "a-trade-2")
    _same_as_holdings(ledger, [alice, bob, carol, alice])  # alice and bob cached, carol not
    holdings = ledger.holdings_many([alice])[alice]
    # 10,000 deposited − 1.5 fee + 0.1 × (72,100 − 72,000) realised by the partial close
    assert holdings.balances["USDC"] == Decimal("10008.5")
    assert [(p.instrument, p.size) for p in holdings.positions] == [(PERP, Decimal("0.15"))]
    assert holdings.account_sequence == 3
    with Ledger(url) as other:  # another writer moves the head: the cache must not answer
        other.deposit(alice, "USDC", "5", "other-usdc")
        other.trade(bob, PERP, "1", "72000", "0", "other-trade")
    _same_as_holdings(ledger, [alice, bob, carol])
    assert ledger.holdings_many([alice])[alice].balances["USDC"] == Decimal("10013.5")
    ledger.withdraw(alice, "USDC", "3.5", "a-out")  # the cache is current again after this
    _same_as_holdings(ledger, [alice, bob, carol])


def test_holdings_many_refuses_an_unknown_account(ledger: Ledger) -> None:
    with pytest.raises(UnknownAccountError):
        ledger.holdings_many([ledger.open_account("dave"), 10_000])
