"""``BookEngine.set_account``: one account's positions, coin balances and collateral replaced in
place, the rest of the book untouched.

After the update the engine must margin exactly as an engine freshly built with the new book
(IM, MM, equity, worst scenario, pre-trade checks; to a relative 1e-9), and the updated account
must equal the single-account model (``PortfolioMargin`` on its positions at the engine's entry
prices, its collateral as USD cash and its coin balance, no haircuts) to 1e-9 plus the model's
rounding up of each component to 1e-6 USD.

Market: 2024-03-11 15:17 UTC, BTC 72,000, ETH 4,000, flat vols 60 % / 70 %, r = 0.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from crossmargin.collateral import HaircutSchedule
from crossmargin.core.errors import InputError
from crossmargin.engine import BookEngine, BookMarginResult
from crossmargin.margin.pm.model import PortfolioMargin
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio, Position
from support.engine_books import ENGINE_NAMES
from support.markets import MARKET, MOVED_MARKET

MOVED = MOVED_MARKET
NAMES = ENGINE_NAMES
NO_HAIRCUTS = HaircutSchedule(
    version="none",
    source="tests: no haircuts",
    haircuts={"USD": 0.0, "USDC": 0.0, "BTC": 0.0, "ETH": 0.0},
)
#: (account, instrument, size in native units) of the book before the update.
BOOK = [
    (0, 0, 10_000.0), (0, 4, -2.0), (0, 5, 1.0),
    (1, 2, 50_000.0), (1, 3, -50_000.0),
    (2, 6, -3.0), (2, 7, -3.0), (2, 8, 20_000.0),
    (3, 9, 15.0), (3, 10, 2.0),
]  # fmt: skip
COLLATERAL = [100_000.0, 50_000.0, 80_000.0, 20_000.0, 5_000.0]
BTC_BALANCE = [0.5, 0.0, 1.5, 0.0, 0.0]
#: The account updated and what it holds afterwards: more positions than its row has room for
#: (the row moves), one repeated instrument (netted), one zero (dropped), a new coin balance.
ACCOUNT = 2
NEW_ROWS = [(1, 4.0), (4, -1.0), (5, 2.0), (6, -1.5), (9, -10.0), (3, 1000.0), (1, -1.0), (2, 0.0)]
NEW_COLLATERAL = 61_234.5
NEW_BTC = -0.75


def _fresh(rows: list[tuple[int, int, float]], collateral: list[float], btc: list[float],
           market: MarketSnapshot, entries: object = None) -> BookEngine:  # fmt: skip
    engine = BookEngine(NAMES, market, "pm", entry_prices_usd=entries)  # type: ignore[arg-type]
    engine.load_positions(
        [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], collateral,
        balance_coin={"BTC": btc},
    )  # fmt: skip
    return engine


def _updated_book() -> tuple[list[tuple[int, int, float]], list[float], list[float]]:
    rows = [r for r in BOOK if r[0] != ACCOUNT] + [(ACCOUNT, i, s) for i, s in NEW_ROWS]
    collateral = list(COLLATERAL)
    collateral[ACCOUNT] = NEW_COLLATERAL
    btc = list(BTC_BALANCE)
    btc[ACCOUNT] = NEW_BTC
    return rows, collateral, btc


def _update(engine: BookEngine) -> None:
    engine.set_account(
        ACCOUNT,
        [i for i, _ in NEW_ROWS],
        [s for _, s in NEW_ROWS],
        NEW_COLLATERAL,
        balance_coin={"BTC": NEW_BTC, "USDC": 123.0},
    )


def _assert_same(result: BookMarginResult, expected: BookMarginResult) -> None:
    np.testing.assert_allclose(result.initial_margin, expected.initial_margin, rtol=1e-9)
    np.testing.assert_allclose(result.maintenance_margin, expected.maintenance_margin, rtol=1e-9)
    np.testing.assert_allclose(result.equity, expected.equity, rtol=1e-9)
    np.testing.assert_array_equal(result.worst_scenario_index, expected.worst_scenario_index)


def _model_close(value: float, expected: Decimal) -> bool:
    return abs(value - float(expected)) <= 1e-9 * abs(float(expected)) + 1e-6 * 8 + 1e-9


def _assert_equals_the_model(engine: BookEngine, result: BookMarginResult, account: int) -> None:
    cols, sizes = engine.positions(account)
    entries = engine.entry_prices_usd
    positions = tuple(
        Position(
            engine.instruments[i], float(s), None if np.isnan(entries[i]) else float(entries[i])
        )
        for i, s in zip(cols, sizes, strict=True)
    )
    # the engine's equity is collateral + mark value: the model gets the collateral as USD cash
    # less the coin balance's value, and the coin balance itself (it moves in the scenarios)
    coin_usd = NEW_BTC * engine.market.index("BTC")
    cash = Decimal(repr(float(engine.collateral_usd[account]) - coin_usd))
    portfolio = Portfolio(positions, {"USD": cash, "BTC": Decimal(repr(NEW_BTC))})
    expected = PortfolioMargin(haircuts=NO_HAIRCUTS).margin(portfolio, engine.market)
    assert _model_close(float(result.initial_margin[account]), expected.initial_margin)
    assert _model_close(float(result.maintenance_margin[account]), expected.maintenance_margin)
    assert float(result.equity[account]) == pytest.approx(float(expected.equity), rel=1e-9)


@pytest.mark.parametrize("checked_first", [False, True])
def test_an_updated_account_margins_as_a_freshly_built_engine(checked_first: bool) -> None:
    """Margined (and, in one case, pre-trade checked: its stored state must be dropped) before
    the update; afterwards every account equals the fresh engine and the model."""
    engine = _fresh(BOOK, COLLATERAL, BTC_BALANCE, MARKET)
    engine.margin_all()
    if checked_first:
        engine.pre_trade(ACCOUNT, 1, 0.5)
        engine.apply_trade(ACCOUNT, 0, 1000.0)
    _update(engine)
    rows, collateral, btc = _updated_book()
    fresh = _fresh(rows, collateral, btc, MARKET)
    result = engine.margin_all()
    _assert_same(result, fresh.margin_all())
    _assert_same(engine.margin_all(incremental=False), fresh.margin_all())
    assert engine.collateral_usd[ACCOUNT] == NEW_COLLATERAL
    np.testing.assert_array_equal(engine.positions(ACCOUNT)[0], fresh.positions(ACCOUNT)[0])
    np.testing.assert_array_equal(engine.positions(ACCOUNT)[1], fresh.positions(ACCOUNT)[1])
    assert engine.position_count == fresh.position_count
    _assert_equals_the_model(engine, result, ACCOUNT)
    for instrument, size in ((1, 0.5), (8, -5_000.0), (4, 1.0)):
        check = engine.pre_trade(ACCOUNT, instrument, size)
        expected = fresh.pre_trade(ACCOUNT, instrument, size)
        assert check.initial_margin_before == pytest.approx(expected.initial_margin_before, 1e-9)
        assert check.initial_margin == pytest.approx(expected.initial_margin, rel=1e-9)
        assert check.maintenance_margin == pytest.approx(expected.maintenance_margin, rel=1e-9)
        assert check.equity == pytest.approx(expected.equity, rel=1e-9)


def test_an_update_after_a_market_move_equals_a_fresh_engine_there() -> None:
    engine = _fresh(BOOK, COLLATERAL, BTC_BALANCE, MARKET)
    engine.margin_all()
    engine.update_market(MOVED)
    engine.margin_all()
    _update(engine)
    rows, collateral, btc = _updated_book()
    fresh = _fresh(rows, collateral, btc, MOVED, engine.entry_prices_usd)
    result = engine.margin_all()
    _assert_same(result, fresh.margin_all())
    _assert_equals_the_model(engine, result, ACCOUNT)
    engine.apply_trade(ACCOUNT, 1, 2.0)  # trades keep working on the moved row
    fresh.apply_trade(ACCOUNT, 1, 2.0)
    _assert_same(engine.margin_all(), fresh.margin_all())


def test_closing_everything_leaves_collateral_only() -> None:
    engine = _fresh(BOOK, COLLATERAL, BTC_BALANCE, MARKET)
    before = engine.margin_all()
    engine.set_account(0, [], [], 7.5)
    result = engine.margin_all()
    assert result.initial_margin[0] == 0.0
    assert result.maintenance_margin[0] == 0.0
    assert result.equity[0] == 7.5
    assert engine.positions(0)[0].size == 0
    others = np.arange(1, engine.account_count)
    np.testing.assert_array_equal(result.initial_margin[others], before.initial_margin[others])


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ((5, [0], [1.0], 0.0, None), "account"),
        ((0, [11], [1.0], 0.0, None), "instrument_index"),
        ((0, [0, 1], [1.0], 0.0, None), "size"),
        ((0, [0], [float("nan")], 0.0, None), "size"),
        ((0, [0], [1.0], float("nan"), None), "collateral_usd"),
        ((0, [0], [1.0], float("inf"), None), "collateral_usd"),
        ((0, [0], [1.0], 0.0, {"SOL": 1.0}), "balance_coin"),
        ((0, [0], [1.0], 0.0, {"BTC": float("nan")}), "balance_coin"),
    ],
)
def test_a_rejected_update_is_named_and_changes_nothing(
    arguments: tuple[object, ...], named: str
) -> None:
    engine = _fresh(BOOK, COLLATERAL, BTC_BALANCE, MARKET)
    before = engine.margin_all(incremental=False)
    positions = engine.positions(0)
    account, instruments, sizes, collateral, coins = arguments
    with pytest.raises(InputError, match=named):
        engine.set_account(
            account,  # type: ignore[arg-type]
            instruments,  # type: ignore[arg-type]
            sizes,  # type: ignore[arg-type]
            collateral,  # type: ignore[arg-type]
            balance_coin=coins,  # type: ignore[arg-type]
        )
    _assert_same(engine.margin_all(), before)
    np.testing.assert_array_equal(engine.positions(0)[1], positions[1])
    np.testing.assert_array_equal(engine.collateral_usd, COLLATERAL)
