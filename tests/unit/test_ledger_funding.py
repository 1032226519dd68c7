"""Replaying the real Binance BTCUSDT 8-hourly funding history through the ledger.

Source: ``funding/binance_btcusdt_8h/btc_funding_rate.csv`` in the shared data set (Binance
USDⓈ-M API via adee0210/project_funding_rate_his_realtime; see ``shared/data/README.md``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

import pytest

from crossmargin.core.errors import FileInputError, InputError
from crossmargin.ledger import (
    BINANCE_BTCUSDT_FUNDING_8H,
    AccountKind,
    FundingRate,
    Ledger,
    load_binance_funding,
    replay,
    replay_funding,
    state_to_bytes,
)
from support.shared_data import require_shared_data

D = Decimal
PERP = "BTC_USDC-PERPETUAL"


@pytest.fixture(scope="module")
def history() -> tuple[FundingRate, ...]:
    return load_binance_funding(require_shared_data(*BINANCE_BTCUSDT_FUNDING_8H.parts))


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as opened:
        yield opened


def test_the_file_is_read_exactly(history: tuple[FundingRate, ...]) -> None:
    """6579 rows from 2019-09-10 08:00; the first marks appear on 2023-10-31 08:00
    (34149.46365245); the 2020-03-13 08:00 rate is the −0.003 cap."""
    assert len(history) == 6579
    assert history[0] == FundingRate(datetime(2019, 9, 10, 8, tzinfo=UTC), D("0.0001"), None)
    first_marked = next(row for row in history if row.mark_price is not None)
    assert first_marked.funding_time == datetime(2023, 10, 31, 8, tzinfo=UTC)
    assert first_marked.mark_price == D("34149.46365245")
    capped = next(r for r in history if r.funding_time == datetime(2020, 3, 13, 8, tzinfo=UTC))
    assert capped.rate == D("-0.003")
    assert history[-1].rate == D("0.00005843")  # "5.843e-05" parsed exactly


def test_replaying_funding_pays_the_hand_sum_and_keeps_the_ledger_balanced(
    ledger: Ledger, history: tuple[FundingRate, ...]
) -> None:
    """A 0.37 BTC long over 60 settlements from 2023-10-31 08:00. Each period the long pays
    0.37 × mark × rate USDC, debited rounded up to 1e-6 (cash rounds towards −∞); the hand sum
    below recomputes that over the rows, and the funding account receives the same total."""
    rows = [r for r in history if r.mark_price is not None][:60]
    alice = ledger.open_account("alice")
    ledger.deposit(alice, "USDC", "50000", "seed")
    ledger.trade(alice, PERP, "0.37", "34000", "0", "open")
    entries = replay_funding(ledger, alice, rows)

    hand_sum = D(0)
    exact_sum = D(0)
    for row in rows:
        assert row.mark_price is not None
        exact = D("0.37") * row.mark_price * row.rate
        exact_sum += exact
        hand_sum += (-exact).quantize(D("0.000001"), rounding=ROUND_FLOOR)
    paid = sum((e.cash_change(alice, "USDC") for e in entries), D(0))
    assert paid == hand_sum
    assert abs(paid + exact_sum) < D("0.000001") * len(rows)  # rounding costs < 1e-6 per row
    assert ledger.balances(alice) == {"USDC": D(50000) + hand_sum}
    funding = ledger.system_account_id(AccountKind.FUNDING)
    assert ledger.balances(funding) == {"USDC": -hand_sum}
    assert ledger.check_invariants().ok
    assert state_to_bytes(replay(ledger.events())) == state_to_bytes(ledger.state())

    events = ledger.events()
    assert replay_funding(ledger, alice, rows) == entries  # a second run posts nothing
    assert ledger.events() == events


def test_rows_without_a_mark_need_one(ledger: Ledger, history: tuple[FundingRate, ...]) -> None:
    """2019-09-10 rows have markPrice 0.0: refused unless a mark is supplied; with a fixed mark
    of 10000 the 1 BTC long pays 1 × 10000 × 0.0001 = 1 USDC per row."""
    alice = ledger.open_account("alice")
    ledger.deposit(alice, "USDC", "1000", "seed")
    ledger.trade(alice, PERP, "1", "10000", "0", "open")
    with pytest.raises(InputError) as caught:
        replay_funding(ledger, alice, history[:3])
    assert caught.value.field == "rates[0].mark_price"
    entries = replay_funding(ledger, alice, history[:3], mark_price="10000")
    assert [e.cash_change(alice, "USDC") for e in entries] == [D(-1)] * 3


def test_a_malformed_file_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "funding.csv"
    path.write_text(
        "symbol,funding_date,funding_time,fundingRate,markPrice\n"
        "BTCUSDT,2024-01-01,00:00:00,0.0001,42000\n"
        "BTCUSDT,2024-01-01,08:00:00,lots,42000\n",
        encoding="utf-8",
    )
    with pytest.raises(FileInputError, match=r"row 3\.fundingRate"):
        load_binance_funding(path)
