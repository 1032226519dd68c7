"""``BookEngine.margin_of``: the margin of an account given as its positions and coin balances,
computed from them alone at the engine's market.

It must equal what the engine computes for the same account inside a book (``margin_all``, to
a relative 1e-12: the same kernel on the same row), after a move of the market (the tables it
reads move with the engine), and after a multi-leg what-if (a trade plus the premium it pays
in coin) the account would hold; it must read nothing of the book (two engines holding
different books give the same answer) and refuse bad input naming the argument.

Market: 2024-03-11 15:17 UTC, BTC 72,000, ETH 4,000, flat vols 60 % / 70 %, r = 0.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from crossmargin.core.errors import InputError
from crossmargin.engine import AccountMargin, BookEngine
from crossmargin.instruments import parse_instrument
from crossmargin.margin.pm.model import PortfolioMargin
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio, Position
from support.engine_books import ENGINE_NAMES
from support.markets import MARKET, MOVED_MARKET

MOVED = MOVED_MARKET
#: (account, instrument, size in native units).
BOOK = [
    (0, 0, 10_000.0), (0, 4, -2.0), (0, 5, 1.0),
    (1, 2, 50_000.0), (1, 3, -50_000.0),
    (2, 6, -3.0), (2, 7, -3.0), (2, 8, 20_000.0),
    (3, 9, 15.0), (3, 10, 2.0),
    (4, 1, -1.5), (4, 4, 3.0),
]  # fmt: skip
COLLATERAL = [100_000.0, 50_000.0, 80_000.0, 20_000.0, 5_000.0]
BTC_BALANCE = [0.5, 0.0, 1.5, 0.0, -0.25]


def _engine(market: MarketSnapshot = MARKET) -> BookEngine:
    engine = BookEngine(ENGINE_NAMES, market, "pm")
    engine.load_positions(
        [r[0] for r in BOOK], [r[1] for r in BOOK], [r[2] for r in BOOK], COLLATERAL,
        balance_coin={"BTC": BTC_BALANCE},
    )  # fmt: skip
    return engine


def _rows(account: int) -> tuple[list[int], list[float]]:
    held = [(i, s) for a, i, s in BOOK if a == account]
    return [i for i, _ in held], [s for _, s in held]


def _assert_margins(engine: BookEngine) -> None:
    book = engine.margin_all(incremental=False)
    for account in range(len(COLLATERAL)):
        instruments, sizes = _rows(account)
        margin = engine.margin_of(instruments, sizes, balance_coin={"BTC": BTC_BALANCE[account]})
        initial, maintenance = margin.initial_margin, margin.maintenance_margin
        assert initial > 0.0
        assert margin.worst_scenario_index == int(book.worst_scenario_index[account])
        assert initial == pytest.approx(float(book.initial_margin[account]), rel=1e-12)
        assert maintenance == pytest.approx(float(book.maintenance_margin[account]), rel=1e-12)


def test_margin_of_equals_the_book_kernel_for_every_account() -> None:
    _assert_margins(_engine())


def test_margin_of_follows_a_market_move() -> None:
    engine = _engine()
    before = engine.margin_of([0, 4], [10_000.0, -2.0])
    engine.update_market(MOVED)
    _assert_margins(engine)
    assert engine.margin_of([0, 4], [10_000.0, -2.0]) != before


def test_a_trade_and_its_coin_premium_equal_the_account_after_committing_them() -> None:
    engine = _engine()
    instruments, sizes = _rows(0)
    premium_btc = 0.0431
    margin = engine.margin_of(
        [*instruments, 4, 0],
        [*sizes, 1.0, -4_000.0],  # two legs, one of them on an instrument already held
        balance_coin={"BTC": BTC_BALANCE[0] - premium_btc},
    )
    initial, maintenance = margin.initial_margin, margin.maintenance_margin
    engine.set_account(
        0, [0, 4, 5], [6_000.0, -1.0, 1.0], COLLATERAL[0],
        balance_coin={"BTC": BTC_BALANCE[0] - premium_btc},
    )  # fmt: skip
    book = engine.margin_all()
    assert initial == pytest.approx(float(book.initial_margin[0]), rel=1e-12)
    assert maintenance == pytest.approx(float(book.maintenance_margin[0]), rel=1e-12)
    without_premium = engine.margin_of([0, 4, 5], [6_000.0, -1.0, 1.0]).initial_margin
    assert initial != pytest.approx(without_premium, rel=1e-9)


def test_margin_of_reads_nothing_of_the_book() -> None:
    empty = BookEngine(ENGINE_NAMES, MARKET, "pm")
    empty.load_positions([], [], [], [0.0])
    assert empty.margin_of([2, 3], [50_000.0, -50_000.0]) == _engine().margin_of(
        [2, 3], [50_000.0, -50_000.0]
    )
    assert empty.margin_of([], []) == AccountMargin(0.0, 0.0, -1)
    assert np.isfinite(empty.margin_of([10], [1e-9]).initial_margin)


@pytest.mark.parametrize(
    ("instruments", "sizes", "coins", "field"),
    [
        ([11], [1.0], None, "instrument_index"),
        ([0], [float("nan")], None, "size"),
        ([0, 1], [1.0], None, "size"),
        ([0], [1.0], {"SOL": 1.0}, "balance_coin"),
    ],
)
def test_margin_of_refuses_bad_input_naming_it(
    instruments: list[int], sizes: list[float], coins: dict[str, float] | None, field: str
) -> None:
    with pytest.raises(InputError) as raised:
        _engine().margin_of(instruments, sizes, balance_coin=coins)
    assert raised.value.field.startswith(field)


def test_position_arrays_list_every_position_and_no_balance() -> None:
    engine = _engine()
    engine.set_account(2, [8, 6], [5_000.0, -1.0], 1_000.0, balance_coin={"BTC": 2.0})
    accounts, instruments, sizes = engine.position_arrays()
    expected = sorted([(a, i, s) for a, i, s in BOOK if a != 2] + [(2, 6, -1.0), (2, 8, 5_000.0)])
    got = sorted(zip(accounts.tolist(), instruments.tolist(), sizes.tolist(), strict=True))
    assert got == expected
    assert list(accounts) == sorted(accounts)


def test_set_collateral_moves_equity_by_the_change_and_keeps_margin() -> None:
    engine = _engine()
    before = engine.margin_all()
    collateral = np.array(COLLATERAL) + np.array([0.0, -60_000.0, 0.0, 12.5, 0.0])
    engine.set_collateral(collateral)
    after = engine.margin_all()
    assert np.allclose(after.equity - before.equity, [0.0, -60_000.0, 0.0, 12.5, 0.0], atol=1e-6)
    assert float(after.equity[1]) < 0.0  # a debt larger than the positions' value
    assert np.array_equal(after.initial_margin, before.initial_margin)
    full = engine.margin_all(incremental=False)
    assert np.array_equal(after.equity, full.equity)
    assert np.array_equal(after.margin_ratio, full.margin_ratio)
    with pytest.raises(InputError) as raised:
        engine.set_collateral(collateral[:3])
    assert raised.value.field == "collateral_usd"


@pytest.mark.parametrize(
    ("entries", "balance_btc"),
    [((66_000.0, 75_500.0, 3_610.0), 0.4), ((80_000.0, 69_000.0, 4_400.0), -0.3)],
)
def test_entry_offsets_margin_coin_settled_futures_at_their_own_entries(
    entries: tuple[float, float, float], balance_btc: float
) -> None:
    """An account short BTC-PERPETUAL and long BTC-29MAR24 (coin-settled, USD face), long
    ETH-PERPETUAL, with a BTC call and a BTC balance, entered at ``entries`` (BTC perpetual, BTC
    future, ETH perpetual; the engine enters each at the market's forward): the engine with
    ``entry_offset_coin`` = Σ size × (1/E_own − 1/E_engine) per coin equals the single-account
    model on the positions at their own entries (IM and MM to 1e-9 plus the model's rounding
    up of each component to 1e-6 USD), and without the offsets it does not."""
    engine = _engine()
    held = [(0, -60_000.0, entries[0]), (2, 90_000.0, entries[1]), (8, 25_000.0, entries[2])]
    own = {0: entries[0], 2: entries[1], 8: entries[2]}
    offsets: dict[str, float] = {}
    for i, size, price in held:
        underlying = ENGINE_NAMES[i].split("-")[0]
        engine_entry = float(engine.entry_prices_usd[i])
        offsets[underlying] = offsets.get(underlying, 0.0) + size * (1 / price - 1 / engine_entry)
    instruments = [i for i, _, _ in held] + [4]
    sizes = [s for _, s, _ in held] + [1.5]
    margin = engine.margin_of(
        instruments, sizes, balance_coin={"BTC": balance_btc}, entry_offset_coin=offsets
    )
    initial, maintenance = margin.initial_margin, margin.maintenance_margin
    positions = tuple(
        Position(parse_instrument(ENGINE_NAMES[i]), s, own.get(i))
        for i, s in zip(instruments, sizes, strict=True)
    )
    portfolio = Portfolio(
        positions, {"USDC": Decimal("1000000"), "BTC": Decimal(repr(balance_btc))}
    )
    expected = PortfolioMargin().margin(portfolio, MARKET)
    tolerance = 1e-9 * float(expected.initial_margin) + 8e-6
    assert abs(initial - float(expected.initial_margin)) <= tolerance
    assert abs(maintenance - float(expected.maintenance_margin)) <= tolerance
    plain = engine.margin_of(instruments, sizes, balance_coin={"BTC": balance_btc}).initial_margin
    assert abs(plain - float(expected.initial_margin)) > 100 * tolerance
