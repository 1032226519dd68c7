"""The live desk's whole-book liquidation pass (:mod:`crossmargin.service.book_liquidations`),
the bulk account opening the demo seed uses, and market pushes to the moved accounts only.

A ledger seeded with the examples and 60 synthetic accounts is loaded into a
:class:`BookState` and moved by a 25 % BTC and ETH fall; the pass liquidates the accounts the
engine puts in the liquidatable or bankrupt band, most underwater first, and posts every round
in one batch. Afterwards the ledger's invariants hold, the insurance fund moved by exactly the
events' fees in minus deficits covered, each posted round is a ledger entry reducing the
account's positions, and every account liquidated from the liquidatable band has a lower
maintenance margin (most are back above the band; a large one continues at the next tick).
Coin deficits: an inverse position's loss realised in a coin the account does not hold is
covered by the fund buying the coin from the market at the shocked index for its USDC, so with
the seed's 5,000,000 USDC no account is left owing anything; valued at the index, users + fund +
fees lose to the market exactly the conversions' rounding (< 1 USDC quantum each).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from crossmargin.core.numeric import quantum_for
from crossmargin.ledger import AccountKind, DuplicateAccountError, Ledger, cash_operations
from crossmargin.liquidation import load_liquidation_parameters
from crossmargin.margin.base import MarginModel
from crossmargin.margin.health import HealthState, health_state
from crossmargin.margin.registry import build_model
from crossmargin.service import routes_liquidations
from crossmargin.service.book_liquidations import (
    due_accounts,
    fund_of,
    plan_liquidations,
    post_liquidations,
)
from crossmargin.service.book_state import BookState
from crossmargin.service.context import LiveDeskSlot, ServiceContext
from crossmargin.service.seed import seed_demo_ledger
from crossmargin.service.stream import MarginStream
from crossmargin.shared_data import shared_data_dir
from crossmargin.simulation.synthetic import synthetic_market
from support.markets import MARKET

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.toml"))


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    data_dir = shared_data_dir()
    ledger = Ledger(f"sqlite:///{tmp_path_factory.mktemp('pass') / 'ledger.db'}")
    report = seed_demo_ledger(ledger, synthetic_market(data_dir), data_dir, EXAMPLES, 60, seed=3)
    assert report.accounts == len(EXAMPLES) + 60
    return ledger


def test_the_seeded_ledger_keeps_its_invariants(seeded: Ledger) -> None:
    report = seeded.check_invariants()
    assert report.ok and report.violations == ()
    users = [r for r in seeded.accounts() if r.kind is AccountKind.USER]
    assert len(users) == len(EXAMPLES) + 60
    assert [r.name for r in users[-2:]] == ["synthetic-000058", "synthetic-000059"]


def test_open_accounts_is_all_or_nothing_and_posts_afterwards(tmp_path: Path) -> None:
    with Ledger(f"sqlite:///{tmp_path / 'open.db'}") as ledger:
        first = ledger.open_account("alone")
        ids = ledger.open_accounts(["a", "b", "c"])
        assert ids == [first + 1, first + 2, first + 3]
        assert [ledger.account(i).name for i in ids] == ["a", "b", "c"]
        with pytest.raises(DuplicateAccountError):
            ledger.open_accounts(["d", "b"])
        with pytest.raises(DuplicateAccountError):
            ledger.open_accounts(["e", "e"])
        assert ledger.open_accounts([]) == []
        names = [r.name for r in ledger.accounts() if r.kind is AccountKind.USER]
        assert names == ["alone", "a", "b", "c"]  # nothing of the refused calls
        # the writer's cache took the new accounts over empty: postings read them right
        outcomes = ledger.post_batch(
            [(cash_operations.deposit(i, "USDC", Decimal(100 * k)), f"d{k}") for k, i in
             enumerate(ids, 1)]
        )  # fmt: skip
        assert all(not isinstance(o, Exception) for o in outcomes)
        assert [ledger.balance(i, "USDC") for i in ids] == [
            Decimal(100),
            Decimal(200),
            Decimal(300),
        ]
        assert ledger.open_accounts(["f"]) == [ids[-1] + 1]
        assert ledger.check_invariants().ok


def test_the_pass_liquidates_the_due_accounts_and_posts_every_round(seeded: Ledger) -> None:
    base = synthetic_market(shared_data_dir())
    book = BookState(base)
    book.load(seeded)
    parameters = load_liquidation_parameters()
    result = book.move_market(base.shocked({"BTC": -0.25, "ETH": -0.25}))
    assert result is not None
    due = due_accounts(result, parameters, 1000)
    assert due.size > 0
    ratios = np.asarray(result.margin_ratio)[due]
    assert np.all(ratios[:-1] >= ratios[1:])  # most underwater first (bankrupt: inf)
    insurance = seeded.system_account_id(AccountKind.INSURANCE)
    fund_before = seeded.balances(insurance)
    assert fund_of(seeded).balance == fund_before["USDC"]
    planned = book.with_engine(
        lambda engine, margins, ids: plan_liquidations(
            engine, margins, ids, parameters, fund_of(seeded), 2, 1000
        )
    )
    assert planned is not None and len(planned) == due.size
    positions_before = {p.account_id: seeded.positions(p.account_id) for p in planned}
    totals_before = _totals(seeded)
    events = post_liquidations(seeded, planned, 2, book.market)
    assert seeded.check_invariants().ok
    assert _totals(seeded) == totals_before  # every currency over every account, exactly
    assert all(e["error"] is None for e in events)
    assert sum(len(e["rounds"]) for e in events) > 0
    fund_after = seeded.balances(insurance)
    for currency in sorted(set(fund_before) | set(fund_after)):
        delta = sum(
            (Decimal(e["insurance_fund_delta"].get(currency, "0")) for e in events), Decimal(0)
        )
        assert fund_after.get(currency, 0) == fund_before.get(currency, 0) + delta
    fees = sum(
        (Decimal(r["fee"].get("USDC", "0")) for e in events for r in e["rounds"]), Decimal(0)
    )
    assert fees > 0
    assert all(e["bad_debt"] == {} for e in events)  # the fund could pay everything
    for event in events:
        assert all(v >= 0 for v in seeded.balances(event["account_id"]).values())
    conversions = [c for e in events for c in e["conversions"]]
    assert {c["currency"] for c in conversions} == {"BTC", "ETH"}  # inverse books in deficit
    assert {c["payer"] for c in conversions} == {"account", "insurance_fund"}
    _conversions_at_the_index(seeded, events, book.market.index_usd)
    for event in events:
        account_id = event["account_id"]
        entries = {e.entry_id: e for e in seeded.entries(account_id, 1000)}
        for posted in event["rounds"]:
            entry = entries[posted["entry_id"]]
            closed = {leg["instrument"]: Decimal(leg["size"]) for leg in posted["closed"]}
            changed = {
                c.instrument: c.size_change
                for c in entry.position_changes
                if c.account_id == account_id
            }
            assert set(changed) == set(closed)
            for name, size in closed.items():
                assert abs(changed[name] - size) <= Decimal("1e-9")
        before = {p.instrument: abs(p.size) for p in positions_before[account_id]}
        after = {p.instrument: abs(p.size) for p in seeded.positions(account_id)}
        assert all(after.get(name, Decimal(0)) <= size for name, size in before.items())
        if event["rounds"]:
            assert sum(after.values(), Decimal(0)) < sum(before.values(), Decimal(0))
    book.refresh(seeded, [p.account_id for p in planned])
    now = book.margins()
    assert now is not None
    index = {a: k for k, a in enumerate(book.account_ids)}
    by_account = {e["account_id"]: e for e in events}
    recovered = 0
    for plan in planned:
        if plan.health_before != HealthState.LIQUIDATABLE.value:
            continue  # bankrupt: taken over whole (a coin deficit may stay recorded)
        k = index[plan.account_id]
        mm_before = float(result.maintenance_margin[plan.account])
        assert float(now.maintenance_margin[k]) < mm_before
        assert by_account[plan.account_id]["rounds"]
        state = health_state(
            float(now.equity[k]), float(now.maintenance_margin[k]), parameters.health
        )
        recovered += state not in (HealthState.LIQUIDATABLE, HealthState.BANKRUPT)
    assert recovered >= 4  # the others keep being liquidated at the next ticks


def _totals(ledger: Ledger) -> dict[str, Decimal]:
    """Every currency's sum over every account (users, fund, fees, market, outside world)."""
    totals: dict[str, Decimal] = {}
    for record in ledger.accounts():
        for currency, amount in ledger.balances(record.account_id).items():
            totals[currency] = totals.get(currency, Decimal(0)) + amount
    return totals


def _conversions_at_the_index(
    ledger: Ledger, events: list[dict[str, Any]], index_usd: Mapping[str, float]
) -> None:
    """Each conversion entry moves the owed coin from the market to the account and the cost
    from the payer (the account's own other balance, else the fund's USDC) to the market, the
    cost being the coin at the ratio of the index prices rounded up to the cost currency's
    quantum; valued at the index, users + fund + fees never gain and lose at most one quantum
    per conversion (the market is never short-changed)."""
    market = ledger.system_account_id(AccountKind.SETTLEMENT)
    fund = ledger.system_account_id(AccountKind.INSURANCE)

    def usd(currency: str) -> Decimal:
        return Decimal(1) if currency == "USDC" else Decimal(repr(index_usd[currency]))

    bound = Decimal(0)
    value_change = Decimal(0)  # of every account but the market, USD at the index
    for event in events:
        entries = {e.entry_id: e for e in ledger.entries(event["account_id"], 1000)}
        for conversion in event["conversions"]:
            coin, pay = conversion["currency"], conversion["cost_currency"]
            amount, price = Decimal(conversion["amount"]), Decimal(conversion["index_price"])
            cost = Decimal(conversion["cost"])
            quantum = quantum_for(pay)
            assert abs(price - usd(coin) / usd(pay)) < Decimal("1e-20")
            assert Decimal(0) <= cost - amount * price < quantum
            bound += quantum * usd(pay)
            payer = fund if conversion["payer"] == "insurance_fund" else event["account_id"]
            assert conversion["payer"] == "account" or pay == "USDC"
            entry = entries[conversion["entry_id"]]
            assert conversion["entry_id"] in event["cover_entry_ids"]
            moved = {(p.account_id, p.currency): p.amount for p in entry.postings}
            assert moved == {
                (payer, pay): -cost,
                (market, pay): cost,
                (market, coin): -amount,
                (event["account_id"], coin): amount,
            }
            value_change += sum(
                (p.amount * usd(p.currency) for p in entry.postings if p.account_id != market),
                Decimal(0),
            )
    assert -bound - Decimal("1e-12") <= value_change <= Decimal("1e-12")


def test_a_market_push_reaches_the_moved_accounts_only() -> None:
    async def run() -> tuple[int, int]:
        stream = MarginStream()
        moved = stream.subscribe(1, "pm", "k1")
        still = stream.subscribe(2, "pm", "k2")
        assert moved is not None and still is not None
        stream.publish_market([1, 3], {"kind": "market", "market_version": 2})
        got = await asyncio.wait_for(moved.next_batch(), 1)
        assert got == [{"kind": "market", "market_version": 2}]
        return moved._queue.qsize(), still._queue.qsize()

    assert asyncio.run(run()) == (0, 0)


class _Context:
    """What :func:`routes_liquidations._liquidate_all` reads of a service context."""

    def __init__(self, ledger: Ledger, book: BookState | None = None) -> None:
        self.ledger = ledger
        self.risk_model = "pm"
        self._model = build_model("pm")
        self.live = LiveDeskSlot(book)

    def model(self, name: str) -> MarginModel:
        assert name == "pm"
        return self._model


@pytest.mark.parametrize("live_desk", [False, True], ids=["model-pass", "engine-narrowed"])
def test_after_post_market_a_coin_deficit_is_bought_at_the_index(
    tmp_path: Path, live_desk: bool
) -> None:
    """The ``POST /market`` path (:mod:`crossmargin.service.routes_liquidations`): Alice holds
    3,000 USDC and is short 100,000 USD of BTC-PERPETUAL (inverse) at 72,000; BTC +25 % to
    90,000 costs her 100,000 × (1/72,000 − 1/90,000) ≈ 0.2778 BTC she does not hold. Her USDC
    buys what it can at the index, the fund buys the rest for its USDC: she ends owing nothing,
    every currency's total over all accounts is unchanged and the ledger's invariants hold.
    With a live desk at the market, its engine narrows the pass (Bob, flat and funded, is shown
    clear and not margined by the model) and Alice is found all the same."""
    with Ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        alice = ledger.open_account("alice")
        ledger.deposit(alice, "USDC", "3000", "deposit")
        ledger.trade(alice, "BTC-PERPETUAL", "-100000", "72000", "0", "sell")
        ledger.insurance_fund_deposit("USDC", "1000000", "fund")
        bob = ledger.open_account("bob")
        ledger.deposit(bob, "USDC", "500000", "bob-deposit")
        ledger.trade(bob, "BTC_USDC-PERPETUAL", "1", "72000", "0", "bob-buy")
        totals = _totals(ledger)
        market = MARKET.shocked({"BTC": 0.25})
        desk = routes_liquidations.LiquidationDesk()
        book = None
        if live_desk:
            book = BookState(MARKET)
            book.load(ledger)
            book.move_market(market)
            unclear = book.accounts_to_confirm(market, desk.parameters.health.reduce_only_from)
            assert unclear == {alice}
        (event,) = routes_liquidations._liquidate_all(
            cast(ServiceContext, _Context(ledger, book)), desk, 2, market
        )
        assert event["account_id"] == alice and event["health_before"] == "bankrupt"
        assert event["error"] is None and event["bad_debt"] == {}
        assert ledger.positions(alice) == ()
        assert all(v >= 0 for v in ledger.balances(alice).values())
        own, bought = event["conversions"]
        assert (own["payer"], own["currency"], own["cost_currency"]) == ("account", "BTC", "USDC")
        assert (bought["payer"], bought["currency"]) == ("insurance_fund", "BTC")
        assert Decimal(own["index_price"]) == Decimal(bought["index_price"]) == Decimal("90000")
        assert Decimal(3000) - Decimal("0.0009") < Decimal(own["cost"]) <= Decimal(3000)  # 1 sat
        fees = sum((Decimal(r["fee"].get("USDC", "0")) for r in event["rounds"]), Decimal(0))
        (delta,) = event["insurance_fund_delta"].items()
        assert delta[0] == "USDC" and Decimal(delta[1]) == fees - Decimal(bought["cost"])
        assert _totals(ledger) == totals
        assert ledger.check_invariants().ok
        _conversions_at_the_index(ledger, [event], market.index_usd)
