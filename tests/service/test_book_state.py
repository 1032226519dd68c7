"""The live desk's risk state (:mod:`crossmargin.service.book_state`) against the single-account
model over a replayed session.

A ledger is seeded with the example portfolios and 60 synthetic accounts (options, futures,
perpetuals, spot; USDC, BTC and ETH balances from their premiums), loaded into a
:class:`BookState`, and replayed for two days of real 4-hour BTC/ETH closes and DVOL from
2024-03-11 (12 ticks); two trades are posted between ticks and re-read. At every tick every
account's engine initial and maintenance margin must equal ``PortfolioMargin`` run on its ledger
holdings to a relative 1e-9 — plus 1e-6 USD per component, which the model rounds up (as in the
engine's property tests) — coin-settled futures entered at their own prices included (the
engine carries their entry offsets).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from crossmargin.instruments import InstrumentKind, parse_instrument
from crossmargin.ledger import Ledger, cash_operations, position_operations
from crossmargin.ledger.risk import holdings_portfolio
from crossmargin.margin.pm.model import PortfolioMargin
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import portfolio_equity_usd
from crossmargin.service.book_state import BookState
from crossmargin.service.replay import load_tape
from crossmargin.service.seed import seed_demo_ledger
from crossmargin.shared_data import shared_data_dir
from crossmargin.simulation.synthetic import synthetic_market

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.toml"))
COMPONENTS = 8


def _close(value: float, expected: float) -> bool:
    return abs(value - expected) <= 1e-9 * abs(expected) + 1e-6 * COMPONENTS + 1e-9


def _off_entry_inverse(positions: object, entries: dict[str, float]) -> bool:
    """Whether a coin-settled future or perpetual among ``positions`` was entered away from the
    engine's entry price (its USD scenario P&L then differs from the engine's at that price)."""
    for held in positions:  # type: ignore[attr-defined]
        instrument = parse_instrument(held.instrument)
        coin_future = instrument.is_inverse and instrument.kind is not InstrumentKind.OPTION
        if coin_future and float(held.average_price) != entries[held.instrument]:
            return True
    return False


def _book_at_tick(ledger: Ledger, number: int) -> tuple[BookState, MarketSnapshot]:
    """Every account of ``ledger`` in a :class:`BookState` loaded at the synthetic market and
    moved to tick ``number`` of the two-day replay; that tick's market."""
    data_dir = shared_data_dir()
    base = synthetic_market(data_dir)
    market = load_tape(data_dir, base.valuation_time, 2).tick(base, number).market
    book = BookState(base)
    book.load(ledger)
    book.move_market(market)
    return book, market


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    data_dir = shared_data_dir()
    ledger = Ledger(f"sqlite:///{tmp_path_factory.mktemp('book') / 'ledger.db'}")
    seed_demo_ledger(ledger, synthetic_market(data_dir), data_dir, EXAMPLES, 60, seed=3)
    return ledger


def test_engine_margin_equals_the_model_at_every_replayed_tick(seeded: Ledger) -> None:
    data_dir = shared_data_dir()
    base = synthetic_market(data_dir)
    book = BookState(base)
    assert book.load(seeded) == len(EXAMPLES) + 60
    model = PortfolioMargin()
    tape = load_tape(data_dir, base.valuation_time, 2)
    assert tape.length == 12
    account_ids = book.account_ids
    checked = inverse = 0
    for number in range(tape.length):
        tick = tape.tick(base, number)
        if number in (3, 7):  # a trade between ticks, re-read after its commit
            account_id = account_ids[number]
            forward = Decimal(repr(round(tick.market.index("BTC") * 2) / 2))
            operation = position_operations.trade(
                account_id, "BTC_USDC-PERPETUAL", Decimal("0.5"), forward, 0
            )
            seeded.post_batch([(operation, f"replay-trade-{number}")])
            book.refresh(seeded, [account_id])
        result = book.move_market(tick.market)
        assert result is not None
        entries = book.entry_prices_usd()
        for a, account_id in enumerate(account_ids):
            holdings = seeded.holdings(account_id)
            expected = model.margin(holdings_portfolio(holdings), tick.market)
            assert _close(float(result.initial_margin[a]), float(expected.initial_margin))
            assert _close(float(result.maintenance_margin[a]), float(expected.maintenance_margin))
            checked += 1
            inverse += _off_entry_inverse(holdings.positions, entries)
    assert checked == 12 * len(account_ids)
    assert inverse > 12 * 10


def test_engine_equity_is_the_models_at_every_replayed_tick(seeded: Ledger) -> None:
    """The engine's equity of every account equals the single-account valuation's
    (:func:`portfolio_equity_usd` of its ledger holdings: collateral after haircuts on each
    currency's net holding, plus the positions' mark value at their own entry prices) at every
    tick, to a relative 1e-9 plus the valuation's rounding of each line to 1e-6 USD.

    Found by replaying 209 demo accounts for two days: equity froze the USD value of each coin
    balance at the moment the account was read, so after the fourth tick 120 accounts were off,
    by up to 2 % of their equity by the twelfth (health and liquidations read that equity)."""
    data_dir = shared_data_dir()
    base = synthetic_market(data_dir)
    book = BookState(base)
    book.load(seeded)
    tape = load_tape(data_dir, base.valuation_time, 2)
    haircuts = PortfolioMargin().haircuts
    coin_held = 0
    for number in range(tape.length):
        market = tape.tick(base, number).market
        result = book.move_market(market)
        assert result is not None
        for a, account_id in enumerate(book.account_ids):
            holdings = seeded.holdings(account_id)
            expected = float(portfolio_equity_usd(holdings_portfolio(holdings), market, haircuts))
            assert _close(float(result.equity[a]), expected), (number, account_id)
            coin_held += any(c not in ("USDC", "USDT") for c in holdings.balances)
    assert coin_held > 12 * 20


def test_a_pre_trade_check_equals_the_margin_after_posting(seeded: Ledger) -> None:
    base = synthetic_market(shared_data_dir())
    book = BookState(base)
    book.load(seeded)
    account_id = book.account_ids[-1]
    check = book.pre_trade(account_id, "BTC_USDC-PERPETUAL", 2.0)
    assert check is not None
    forward = Decimal(repr(round(base.index("BTC") * 2) / 2))
    seeded.post_batch(
        [(position_operations.trade(account_id, "BTC_USDC-PERPETUAL", 2, forward, 0), "pre-1")]
    )
    book.refresh(seeded, [account_id])
    result = book.margins()
    assert result is not None
    a = book.account_ids.index(account_id)
    assert _close(check.initial_margin, float(result.initial_margin[a]))


def test_a_coin_settled_future_checked_away_from_the_engine_entry_is_the_models(
    seeded: Ledger,
) -> None:
    """Two days into the replay BTC has moved from the engine's entry: a what-if on
    BTC-PERPETUAL (bought and sold at the mark, which changes the position's average entry) gives
    the initial and maintenance margin the model gives the account's holdings after that trade,
    and the margin before, to a relative 1e-9."""
    book, market = _book_at_tick(seeded, 11)
    model = PortfolioMargin()
    mark = market.forward("BTC", None)
    assert abs(mark / book.entry_prices_usd()["BTC-PERPETUAL"] - 1.0) > 0.01
    checked = 0
    for account_id in book.account_ids[:12]:
        for size in (20_000.0, -50_000.0):
            check = book.pre_trade(account_id, "BTC-PERPETUAL", size)
            assert check is not None
            preview = seeded.preview_trade(
                account_id, "BTC-PERPETUAL", Decimal(repr(size)), Decimal(repr(mark))
            )
            after = model.margin(holdings_portfolio(preview.after), market)
            before = model.margin(holdings_portfolio(preview.before), market)
            assert _close(check.initial_margin, float(after.initial_margin))
            assert _close(check.maintenance_margin, float(after.maintenance_margin))
            assert _close(check.initial_margin_before, float(before.initial_margin))
            checked += 1
    assert checked == 24


def test_a_re_read_updates_the_engine_in_place(
    seeded: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a tick, a trade and a BTC deposit are re-read: the engine takes the two accounts in
    place (no reload of the book), their engine equity is the single-account valuation's at the
    moment they were read, every other account's equity is that of a state loaded afresh and
    moved to the same market, and every account's IM and MM equal that fresh state's to a
    relative 1e-9."""
    book, market = _book_at_tick(seeded, 2)
    base = synthetic_market(shared_data_dir())
    engine = book.sync()
    assert engine is not None
    loads: list[object] = []
    monkeypatch.setattr(engine, "load_positions", lambda *a, **k: loads.append(a))
    trader, depositor = book.account_ids[5], book.account_ids[-3]
    forward = Decimal(repr(round(market.index("BTC") * 2) / 2))
    seeded.post_batch(
        [
            (position_operations.trade(trader, "BTC_USDC-PERPETUAL", 1, forward, 0), "inplace-t"),
            (cash_operations.deposit(depositor, "BTC", Decimal("0.25")), "inplace-d"),
        ]
    )
    book.refresh(seeded, [trader, depositor])
    result = book.margins()
    assert result is not None and book.sync() is engine and loads == []

    fresh = BookState(base)
    fresh.load(seeded)
    expected = fresh.move_market(market)
    assert expected is not None and fresh.account_ids == book.account_ids
    for a, account_id in enumerate(book.account_ids):
        assert _close(float(result.initial_margin[a]), float(expected.initial_margin[a]))
        assert _close(float(result.maintenance_margin[a]), float(expected.maintenance_margin[a]))
        row = book.row(account_id)
        assert row is not None
        if account_id in (trader, depositor):
            assert row.collateral_usd > 0.0
            assert float(result.equity[a]) == pytest.approx(row.equity_usd, rel=1e-9, abs=1e-6)
        else:
            assert float(result.equity[a]) == pytest.approx(
                float(expected.equity[a]), rel=1e-9, abs=1e-6
            )
