"""``BookEngine.pre_trade`` / ``apply_trade`` with ``entry_offset_coin``: a trade and the entry
offset it moves (coin of the instrument's underlying) in one check.

A coin-settled future traded at a price M away from the engine's entry E moves the account's
entry offset by size × (1/M − 1/E) coin (:meth:`BookEngine.load_positions`). The two-leg check
must give the margin of the account holding both legs: :meth:`BookEngine.margin_of` of its row
plus the trade plus the offset (to a relative 1e-12: the same kernel arithmetic, summed in
another order), the single-account model on the positions at their own entries (to 1e-9 plus the
model's rounding up of each component to 1e-6 USD), and, committed, a fresh engine loaded with
the resulting rows. An offset of 0 is the one-leg check exactly; bad input is refused naming
``entry_offset_coin`` and changes nothing.

Market: :data:`support.markets.MARKET` (2024-03-11 15:17 UTC, BTC 72,000, ETH 4,000, flat vols
60 % / 70 %, r = 0), then :data:`support.markets.MOVED_MARKET` (BTC 66,000, ETH 3,700, 70 % /
80 %); default ``pm`` parameters.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from crossmargin.core.errors import InputError
from crossmargin.engine import BookEngine
from crossmargin.instruments import parse_instrument
from crossmargin.margin.pm.model import PortfolioMargin
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio, Position
from support.engine_books import ENGINE_NAMES
from support.markets import MARKET, MOVED_MARKET

NAMES = ENGINE_NAMES
BTC_PERPETUAL, BTC_MAR, BTC_JUN, ETH_PERPETUAL = 0, 2, 3, 8
#: (account, instrument, size in native units: USD face for the coin-settled futures).
BOOK = [
    (0, BTC_PERPETUAL, 10_000.0), (0, 4, -2.0), (0, 5, 1.0),
    (1, BTC_MAR, 50_000.0), (1, BTC_JUN, -50_000.0),
    (2, 6, -3.0), (2, 7, -3.0), (2, ETH_PERPETUAL, 20_000.0),
    (3, 9, 15.0), (3, 10, 2.0),
    (4, 1, -1.5), (4, 4, 3.0),
]  # fmt: skip
COLLATERAL = [100_000.0, 50_000.0, 80_000.0, 20_000.0, 5_000.0]
BTC_BALANCE = [0.5, 0.0, 1.5, 0.0, -0.25]
#: Entry offsets the accounts hold already (coin): 0 and 1 on BTC, 2 on ETH; 3 and 4 none.
BTC_OFFSET = [0.0125, -0.0301, 0.0, 0.0, 0.0]
ETH_OFFSET = [0.0, 0.0, 0.214, 0.0, 0.0]
#: (account, instrument, size, entry offset coin): new and existing positions bought and sold,
#: adding and reducing, on accounts with and without offsets; one trade moves only the offset,
#: one closes the account's BTC offset exactly, one closes the position it trades.
ORDERS = [
    (0, BTC_PERPETUAL, 5_000.0, 5_000.0 * (1 / 70_500.0 - 1 / 72_000.0)),
    (0, BTC_PERPETUAL, -4_000.0, -4_000.0 * (1 / 73_900.0 - 1 / 72_000.0)),
    (0, BTC_MAR, -30_000.0, -0.0125),
    (1, BTC_MAR, -50_000.0, 0.0217),
    (1, BTC_JUN, 20_000.0, 0.0301),
    (2, ETH_PERPETUAL, -8_000.0, -8_000.0 * (1 / 4_150.0 - 1 / 4_000.0)),
    (2, BTC_PERPETUAL, 12_000.0, -0.0044),
    (3, BTC_JUN, 40_000.0, 40_000.0 * (1 / 69_000.0 - 1 / 72_500.0)),
    (4, BTC_PERPETUAL, -25_000.0, -1.2),
    (4, BTC_MAR, 0.0, 2.5),
]


def _offsets(account: int) -> dict[str, float]:
    return {"BTC": BTC_OFFSET[account], "ETH": ETH_OFFSET[account]}


def _engine(model: str = "pm") -> BookEngine:
    engine = BookEngine(NAMES, MARKET, model)
    coins = (
        {"balance_coin": {"BTC": BTC_BALANCE}, "entry_offset_coin": {"BTC": BTC_OFFSET,
                                                                     "ETH": ETH_OFFSET}}
        if model == "pm"
        else {}
    )  # fmt: skip
    engine.load_positions(
        [r[0] for r in BOOK], [r[1] for r in BOOK], [r[2] for r in BOOK], COLLATERAL, **coins
    )
    return engine


def _rows(account: int) -> tuple[list[int], list[float]]:
    held = [(i, s) for a, i, s in BOOK if a == account]
    return [i for i, _ in held], [s for _, s in held]


def _underlying(instrument: int) -> str:
    return str(NAMES[instrument]).split("-")[0].split("_")[0]


@pytest.mark.parametrize("moved", [False, True])
@pytest.mark.parametrize(("account", "instrument", "size", "offset"), ORDERS)
def test_a_two_leg_check_equals_margin_of_the_account_after_both_legs(
    account: int, instrument: int, size: float, offset: float, moved: bool
) -> None:
    """IM, MM before and after, and the worst scenario, of the check against margin_of of the
    account's row, the trade and its offset added to the account's own (before and after a
    market move: the stored state is rebuilt at the new epoch)."""
    engine = _engine()
    engine.pre_trade(account, instrument, 1.0)  # the stored state built at the first market
    if moved:
        engine.update_market(MOVED_MARKET)
    check = engine.pre_trade(account, instrument, size, entry_offset_coin=offset)
    instruments, sizes = _rows(account)
    balance = {"BTC": BTC_BALANCE[account]}
    before = engine.margin_of(
        instruments, sizes, balance_coin=balance, entry_offset_coin=_offsets(account)
    )
    offsets = _offsets(account)
    offsets[_underlying(instrument)] += offset
    after = engine.margin_of(
        [*instruments, instrument], [*sizes, size], balance_coin=balance, entry_offset_coin=offsets
    )
    assert after.initial_margin > 0.0
    assert check.initial_margin_before == pytest.approx(before.initial_margin, rel=1e-12)
    assert check.maintenance_margin_before == pytest.approx(before.maintenance_margin, rel=1e-12)
    assert check.initial_margin == pytest.approx(after.initial_margin, rel=1e-12)
    assert check.maintenance_margin == pytest.approx(after.maintenance_margin, rel=1e-12)
    assert check.worst_scenario_index == after.worst_scenario_index
    assert check.equity == pytest.approx(
        float(engine.margin_all().equity[account]), rel=1e-12, abs=1e-9
    )
    if offset != 0.0:  # the second leg is not a no-op: the one-leg check misses it
        plain = engine.pre_trade(account, instrument, size).initial_margin
        assert abs(plain - check.initial_margin) > 1e-9 * check.initial_margin


def _own_entry_margin(
    held: list[tuple[int, float, float | None]], balance_btc: float, market: MarketSnapshot
) -> tuple[float, float]:
    """IM and MM (USD) of the single-account model on ``held`` (instrument, size, own entry or
    None) with a BTC balance and 1,000,000 USDC."""
    positions = tuple(Position(parse_instrument(NAMES[i]), s, e) for i, s, e in held)
    portfolio = Portfolio(
        positions, {"USDC": Decimal("1000000"), "BTC": Decimal(repr(balance_btc))}
    )
    margin = PortfolioMargin().margin(portfolio, market)
    return float(margin.initial_margin), float(margin.maintenance_margin)


@pytest.mark.parametrize("market", [MARKET, MOVED_MARKET], ids=["market", "moved"])
@pytest.mark.parametrize(
    ("instrument", "size", "price"),
    [
        (BTC_MAR, 70_000.0, 69_250.0),  # a new future bought below the engine's entry
        (BTC_PERPETUAL, 25_000.0, 74_800.0),  # part of the short perpetual bought back
        (ETH_PERPETUAL, 12_000.0, 3_650.0),  # more of the long ETH perpetual
        (BTC_JUN, -140_000.0, 64_000.0),  # a new short future sold below the engine's entry
    ],
)
def test_a_two_leg_check_equals_the_model_at_the_positions_own_entries(
    instrument: int, size: float, price: float, market: MarketSnapshot
) -> None:
    """An account short BTC-PERPETUAL at 66,000, long ETH-PERPETUAL at 3,610, with a BTC call
    and 0.4 BTC, held in the engine through its entry offsets, trades ``size`` at ``price``:
    the check with the trade's offset size × (1/price − 1/E_engine) equals the single-account
    model on the positions after the trade at their own entries — a position traded again at
    its size-weighted harmonic mean entry (S₀ + s) / (S₀/E₀ + s/price), the entry at which the
    engine's offset nets it, nothing realised (IM and MM to 1e-9 plus the model's rounding up
    of each component to 1e-6 USD)."""
    engine = BookEngine(NAMES, MARKET, "pm")
    entries = engine.entry_prices_usd
    held = {BTC_PERPETUAL: (-60_000.0, 66_000.0), ETH_PERPETUAL: (25_000.0, 3_610.0)}
    offsets: dict[str, float] = {"BTC": 0.0, "ETH": 0.0}
    for i, (s, e) in held.items():
        offsets[_underlying(i)] += s * (1 / e - 1 / float(entries[i]))
    balance = 0.4
    instruments, sizes = [*held, 4], [s for s, _ in held.values()] + [1.5]
    engine.load_positions(
        [0] * len(instruments), instruments, sizes, [0.0],
        balance_coin={"BTC": [balance]},
        entry_offset_coin={u: [k] for u, k in offsets.items()},
    )  # fmt: skip
    engine.update_market(market)
    offset = size * (1 / price - 1 / float(entries[instrument]))
    check = engine.pre_trade(0, instrument, size, entry_offset_coin=offset)
    after: dict[int, tuple[float, float | None]] = {i: (s, e) for i, (s, e) in held.items()}
    after[4] = (1.5, None)
    if instrument in held:
        s0, e0 = held[instrument]
        after[instrument] = (s0 + size, (s0 + size) / (s0 / e0 + size / price))
    else:
        after[instrument] = (size, price)
    initial, maintenance = _own_entry_margin(
        [(i, s, e) for i, (s, e) in after.items()], balance, market
    )
    tolerance = 1e-9 * initial + 8e-6
    assert abs(check.initial_margin - initial) <= tolerance
    assert abs(check.maintenance_margin - maintenance) <= tolerance
    plain = engine.pre_trade(0, instrument, size).initial_margin  # the offset matters
    assert abs(plain - initial) > 100 * tolerance


def test_committed_two_leg_trades_equal_a_fresh_load() -> None:
    """Every order of ORDERS committed (twice for account 0's perpetual, across a market move):
    margin_all, the next checks and the stored rows equal a fresh engine loaded with the
    resulting positions, balances and offsets; the offset leg pays nothing from collateral, and
    an offset brought back to 0 leaves the row."""
    engine = _engine()
    twin = _engine()  # the same trades without their offsets
    btc, eth = list(BTC_OFFSET), list(ETH_OFFSET)
    for step, (account, instrument, size, offset) in enumerate(ORDERS + ORDERS[:1]):
        if step == 5:
            engine.update_market(MOVED_MARKET)
            twin.update_market(MOVED_MARKET)
        engine.apply_trade(account, instrument, size, entry_offset_coin=offset)
        twin.apply_trade(account, instrument, size)
        (btc if _underlying(instrument) == "BTC" else eth)[account] += offset
    assert btc[0] == pytest.approx(BTC_OFFSET[0] + 2 * ORDERS[0][3] + ORDERS[1][3] - 0.0125)
    assert np.array_equal(engine.collateral_usd, twin.collateral_usd)
    accounts, instruments, sizes = engine.position_arrays()
    fresh = BookEngine(NAMES, MARKET, "pm")
    fresh.load_positions(
        accounts, instruments, sizes, engine.collateral_usd,
        balance_coin={"BTC": BTC_BALANCE}, entry_offset_coin={"BTC": btc, "ETH": eth},
    )  # fmt: skip
    fresh.update_market(MOVED_MARKET)
    result, expected = engine.margin_all(), fresh.margin_all()
    np.testing.assert_allclose(result.initial_margin, expected.initial_margin, rtol=1e-12)
    np.testing.assert_allclose(result.maintenance_margin, expected.maintenance_margin, rtol=1e-12)
    np.testing.assert_allclose(result.equity, expected.equity, rtol=1e-12)
    assert np.array_equal(result.worst_scenario_index, expected.worst_scenario_index)
    for account in range(len(COLLATERAL)):
        check = engine.pre_trade(account, BTC_JUN, 1_000.0, entry_offset_coin=0.003)
        again = fresh.pre_trade(account, BTC_JUN, 1_000.0, entry_offset_coin=0.003)
        assert check.initial_margin_before == pytest.approx(
            float(expected.initial_margin[account]), rel=1e-12
        )
        assert check.initial_margin == pytest.approx(again.initial_margin, rel=1e-12)
        assert check.worst_scenario_index == again.worst_scenario_index
    offset_btc = engine._layout.entry_offset_start  # test-only access: account 1's BTC offset
    assert btc[1] == pytest.approx(0.0217, abs=1e-15)
    assert engine._book.size_of(1, offset_btc) == btc[1]
    assert engine._book.size_of(0, offset_btc) == btc[0]


def test_a_closed_offset_leaves_the_row() -> None:
    """An offset brought back exactly to 0 removes its column from the account's row, and the
    stored state counts the vector as the fresh load does."""
    engine = _engine()
    column = engine._layout.entry_offset_start  # BTC's offset column (test-only access)
    check = engine.apply_trade(1, BTC_MAR, 10_000.0, entry_offset_coin=-BTC_OFFSET[1] + 0.0)
    assert engine._book.size_of(1, column) == 0.0
    assert column not in engine._book.row(1)[0].tolist()
    instruments, sizes = _rows(1)
    expected = engine.margin_of(
        [*instruments, BTC_MAR], [*sizes, 10_000.0], balance_coin={"BTC": 0.0}
    )
    assert check.initial_margin == pytest.approx(expected.initial_margin, rel=1e-12)
    assert engine.margin_all().initial_margin[1] == pytest.approx(
        expected.initial_margin, rel=1e-12
    )
    assert engine.pre_trade(1, BTC_MAR, 0.0).initial_margin == pytest.approx(
        expected.initial_margin, rel=1e-12
    )


@pytest.mark.parametrize("zero", [0.0, -0.0, 0])
def test_a_zero_offset_is_the_one_leg_check_exactly(zero: float) -> None:
    """pre_trade and apply_trade with an offset of 0 give results identical to the plain calls,
    and leave identical stored state and margins (pm and span)."""
    for model in ("pm", "span"):
        engine, twin = _engine(model), _engine(model)
        for account, instrument, size, _ in ORDERS:
            assert engine.pre_trade(
                account, instrument, size, entry_offset_coin=zero
            ) == twin.pre_trade(account, instrument, size)
            assert engine.apply_trade(
                account, instrument, size, entry_offset_coin=zero
            ) == twin.apply_trade(account, instrument, size)
        assert np.array_equal(engine._pool.vectors, twin._pool.vectors)
        assert np.array_equal(engine._pool.nets, twin._pool.nets)
        result, expected = engine.margin_all(), twin.margin_all()
        assert np.array_equal(result.initial_margin, expected.initial_margin)
        assert np.array_equal(result.equity, expected.equity)


@pytest.mark.parametrize(
    ("model", "offset"),
    [
        ("pm", float("nan")),
        ("pm", float("inf")),
        ("pm", "0.01"),
        ("pm", True),
        ("span", 0.01),
        ("span", float("nan")),
    ],
)
def test_bad_offsets_are_refused_naming_them_and_change_nothing(model: str, offset: object) -> None:
    engine = _engine(model)
    before = engine.pre_trade(0, BTC_PERPETUAL, 1_000.0)
    margins = engine.margin_all().initial_margin.copy()
    collateral = engine.collateral_usd.copy()
    for call in (engine.pre_trade, engine.apply_trade):
        with pytest.raises(InputError) as raised:
            call(0, BTC_PERPETUAL, 1_000.0, entry_offset_coin=offset)  # type: ignore[arg-type]
        assert raised.value.field == "entry_offset_coin"
    assert engine.pre_trade(0, BTC_PERPETUAL, 1_000.0) == before
    assert np.array_equal(engine.margin_all().initial_margin, margins)
    assert np.array_equal(engine.collateral_usd, collateral)
    assert engine.positions(0)[1].tolist() == [s for _, s in sorted(zip(*_rows(0), strict=True))]
