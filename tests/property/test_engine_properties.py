"""Properties of the book engine on random books (issue 6, "What must hold").

Random markets (flat vols, a rate, no explicit forwards) and random books over a fixed universe of
BTC and ETH options (inverse and linear), futures, perpetuals and spot; sizes realistic per
instrument. Every account of the engine must equal the single-account model run on its positions
(``PortfolioMargin`` / ``SpanMargin``) to a relative 1e-9 — plus 1e-6 USD per component, which the
model rounds up — the kernel must equal its numpy twin, a pre-trade check must equal the margin
after the trade, and relabelling accounts must change nothing.

Besides the shipped parameters, ``pm-stressed`` runs portfolio margin with a low delta-shock
threshold, and the books mix in accounts of long options only and of delta-one contracts only,
and BTC and ETH balances that are positions in the scenarios (``pm``; the single-account model
gets them as collateral, the engine as ``balance_coin`` plus their USD value in
``collateral_usd``), so that every charge (worst case, correlation contingency, roll shock, delta
shock, a balance inside the scenarios) is exercised: :func:`test_every_pm_charge_is_exercised`
checks that the strategy reaches each of them. Haircuts are zero on both sides, so equity is the
same definition in both.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from crossmargin.collateral import HaircutSchedule
from crossmargin.engine import BookEngine
from crossmargin.engine.positions import PositionBook
from crossmargin.instruments import parse_instrument
from crossmargin.margin import MarginResult
from crossmargin.margin.common import view_account
from crossmargin.margin.pm.model import PortfolioMargin
from crossmargin.margin.pm.parameters import PortfolioMarginParameters, load_pm_parameters
from crossmargin.margin.span.model import SpanMargin
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio, Position
from support.engine_books import general_path_margins
from support.strategies import flat_markets

BTC_OPTIONS = tuple(
    f"BTC{quote}-{expiry}-{strike}-{kind}"
    for quote in ("", "_USDC")
    for expiry in ("15MAR24", "29MAR24", "28JUN24")
    for strike in (60000, 72000, 85000)
    for kind in ("C", "P")
)
ETH_OPTIONS = tuple(
    f"ETH-{expiry}-{strike}-{kind}"
    for expiry in ("29MAR24", "28JUN24")
    for strike in (3500, 4000, 4500)
    for kind in ("C", "P")
)
DELTA_ONE = (
    "BTC-PERPETUAL",
    "BTC-29MAR24",
    "BTC-28JUN24",
    "BTC_USDC-PERPETUAL",
    "BTC_USDC-28JUN24",
    "BTC_USDC",
    "ETH-PERPETUAL",
    "ETH-28JUN24",
    "ETH_USDC-PERPETUAL",
)
NAMES = BTC_OPTIONS + ETH_OPTIONS + DELTA_ONE
OPTION_NAMES = BTC_OPTIONS + ETH_OPTIONS
ENTRY_NAMES = ("BTC-29MAR24", "BTC-PERPETUAL", "ETH-PERPETUAL")


NO_HAIRCUTS = HaircutSchedule(
    version="none",
    source="tests: no haircuts",
    haircuts={"USD": 0.0, "USDC": 0.0, "BTC": 0.0, "ETH": 0.0},
)


def _stressed_pm() -> PortfolioMarginParameters:
    """Shipped ``pm`` parameters with a delta shock from 100,000 USD of net delta, steep enough
    to reach max_delta_shock."""
    data = load_pm_parameters().model_dump()
    for name, increment in (("BTC", 0.005), ("ETH", 0.0005)):
        data["pairs"][name]["delta_shock_threshold_usd"] = 100_000.0
        data["pairs"][name]["delta_shock_increment_per_coin"] = increment
    return PortfolioMarginParameters.model_validate(data)


#: variant → (engine model, its parameters (None: shipped), the single-account model)
VARIANTS = {
    "pm": ("pm", None, PortfolioMargin(haircuts=NO_HAIRCUTS)),
    "span": ("span", None, SpanMargin(haircuts=NO_HAIRCUTS)),
    "pm-stressed": ("pm", _stressed_pm(), PortfolioMargin(_stressed_pm(), NO_HAIRCUTS)),
}
COMPONENTS = {"pm": 8, "span": 4, "pm-stressed": 8}  # rounded components, two underlyings
ALL_VARIANTS = st.sampled_from(sorted(VARIANTS))
COINS = ("BTC", "ETH")
Book = tuple[
    MarketSnapshot, list[list[tuple[int, float]]], list[float], list[float | None],
    list[dict[str, float]],
]  # fmt: skip


markets = flat_markets


def _size(draw: st.DrawFn, name: str) -> float:
    inverse_delta_one = name in DELTA_ONE and "_" not in name
    if inverse_delta_one:
        low, high = (1000.0, 2_000_000.0) if name.startswith("BTC") else (100.0, 100_000.0)
    elif name.startswith("BTC"):
        low, high = 0.1, 40.0
    else:
        low, high = 1.0, 400.0
    magnitude = draw(st.floats(low, high))
    return magnitude if draw(st.booleans()) else -magnitude


@st.composite
def books(draw: st.DrawFn) -> Book:
    market = draw(markets())
    accounts = draw(st.integers(1, 5))
    rows = []
    for _ in range(accounts):
        shape = draw(st.sampled_from(["any", "any", "long options", "delta one"]))
        pool = {"any": NAMES, "long options": OPTION_NAMES, "delta one": DELTA_ONE}[shape]
        picked = draw(st.lists(st.sampled_from(pool), max_size=8, unique=True))
        sized = [(NAMES.index(name), _size(draw, name)) for name in picked]
        rows.append([(i, abs(s) if shape == "long options" else s) for i, s in sized])
    coins = [
        {
            "BTC": draw(st.sampled_from([0.0, 0.0, -1.5, 2.0, 12.5])),
            "ETH": draw(st.sampled_from([0.0, 0.0, -20.0, 35.0, 400.0])),
        }
        for _ in range(accounts)
    ]
    collateral = []
    for balances in coins:
        coin_usd = sum(amount * market.index(coin) for coin, amount in balances.items())
        cash = draw(st.floats(0.0, 2_000_000.0))
        collateral.append(max(cash, -coin_usd) + coin_usd)  # the balances' value included
    entries: list[float | None] = [None] * len(NAMES)
    for name in ENTRY_NAMES:
        index = market.index(name[:3])
        entries[NAMES.index(name)] = index * draw(st.floats(0.9, 1.1))
    return market, rows, collateral, entries, coins


def _engine(variant: str, book: Book, check_slots: int | None = None) -> BookEngine:
    market, rows, collateral, entries, coins = book
    model, parameters, _ = VARIANTS[variant]
    engine = BookEngine(
        NAMES, market, model, parameters,
        entry_prices_usd=[np.nan if e is None else e for e in entries], check_slots=check_slots,
    )  # fmt: skip
    accounts = [a for a, row in enumerate(rows) for _ in row]
    instruments = [i for row in rows for i, _ in row]
    sizes = [s for row in rows for _, s in row]
    balances = (
        {coin: np.array([c[coin] for c in coins]) for coin in COINS} if model == "pm" else None
    )
    engine.load_positions(
        np.array(accounts, dtype=np.int64), np.array(instruments, dtype=np.int64),
        np.array(sizes), np.array(collateral), balance_coin=balances,
    )  # fmt: skip
    engine.book_coins = coins  # type: ignore[attr-defined]
    return engine


def _model(engine: BookEngine, account: int, variant: str) -> MarginResult:
    cols, sizes = engine.positions(account)
    entries = engine.entry_prices_usd
    positions = tuple(
        Position(
            engine.instruments[i], float(s), None if np.isnan(entries[i]) else float(entries[i])
        )
        for i, s in zip(cols, sizes, strict=True)
    )
    coins = engine.book_coins[account] if VARIANTS[variant][0] == "pm" else {}  # type: ignore[attr-defined]
    coin_usd = sum(amount * engine.market.index(coin) for coin, amount in coins.items())
    cash = float(engine.collateral_usd[account]) - coin_usd
    collateral = {"USD": Decimal(repr(cash))} | {c: Decimal(repr(a)) for c, a in coins.items()}
    return VARIANTS[variant][2].margin(Portfolio(positions, collateral), engine.market)


def _close(value: float, expected: float, model: str) -> bool:
    return abs(value - expected) <= 1e-9 * abs(expected) + 1e-6 * COMPONENTS[model] + 1e-9


def _worst_ties(label: str | None, expected: MarginResult) -> bool:
    if expected.worst_scenario is None:
        return label is None
    pnl = {scenario.label: scenario.pnl_usd for scenario in expected.scenarios}
    worst = expected.worst_scenario.pnl_usd
    return label in pnl and abs(pnl[label] - worst) <= 1e-9 * abs(worst) + 1e-6


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=books(), model=ALL_VARIANTS)
def test_every_account_equals_the_single_account_model(
    book: Book,
    model: str,
) -> None:
    engine = _engine(model, book)
    result = engine.margin_all()
    for account in range(engine.account_count):
        expected = _model(engine, account, model)
        assert _close(result.initial_margin[account], float(expected.initial_margin), model)
        assert _close(result.maintenance_margin[account], float(expected.maintenance_margin), model)
        # each collateral line and position value is rounded to 1e-6 USD in the model
        assert abs(result.equity[account] - float(expected.equity)) <= 1e-6 * (
            4 + len(engine.positions(account)[0])
        ) + 1e-12 * abs(float(expected.equity))
        assert _worst_ties(result.worst_scenario_label(account), expected)
        assert result.maintenance_margin[account] <= result.initial_margin[account]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=books(), model=ALL_VARIANTS)
def test_the_numba_kernel_equals_the_numpy_twin(
    book: Book,
    model: str,
) -> None:
    """Same arrays up to summation order (the twin adds every row in turn, linear contracts
    included; the kernel adds rows in pairs and linear contracts through factors)."""
    engine = _engine(model, book)
    fused = engine.margin_all()
    twin = engine.margin_all_reference()
    scale = 1e-11 * np.maximum(np.abs(twin.initial_margin), 1.0)
    assert np.all(np.abs(fused.initial_margin - twin.initial_margin) <= scale)
    assert np.all(np.abs(fused.maintenance_margin - twin.maintenance_margin) <= scale)
    assert np.all(np.abs(fused.equity - twin.equity) <= 1e-11 * np.maximum(np.abs(twin.equity), 1))
    differ = np.flatnonzero(fused.worst_scenario_index != twin.worst_scenario_index)
    for account in differ.tolist():
        expected = _model(engine, account, model)
        assert _worst_ties(fused.worst_scenario_label(account), expected)
        assert _worst_ties(twin.worst_scenario_label(account), expected)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    book=books(),
    model=ALL_VARIANTS,
    trade=st.tuples(st.integers(0, len(NAMES) - 1), st.floats(-5.0, 5.0)),
    data=st.data(),
)
def test_pre_trade_equals_the_margin_after_the_trade(
    book: Book,
    model: str,
    trade: tuple[int, float],
    data: st.DataObject,
) -> None:
    """The check's IM equals margin_all after apply_trade and the model on the new positions;
    a second check on the same account reuses the stored scenario vector."""
    engine = _engine(model, book)
    account = data.draw(st.integers(0, engine.account_count - 1))
    instrument, size = trade
    if NAMES[instrument] in DELTA_ONE and "_" not in NAMES[instrument]:
        size *= 10_000.0
    first = engine.pre_trade(account, instrument, size)
    again = engine.pre_trade(account, instrument, size)
    assert abs(again.initial_margin - first.initial_margin) <= 1e-12 * max(
        first.initial_margin, 1.0
    )
    before = engine.margin_all()
    assert abs(first.initial_margin_before - before.initial_margin[account]) <= 1e-11 * max(
        before.initial_margin[account], 1.0
    )
    engine.apply_trade(account, instrument, size)
    after = engine.margin_all()
    assert abs(after.initial_margin[account] - first.initial_margin) <= 1e-9 * max(
        first.initial_margin, 1.0
    )
    assert abs(after.equity[account] - before.equity[account]) <= 1e-9 * max(
        abs(before.equity[account]), 1.0
    )
    expected = _model(engine, account, model)
    assert _close(first.initial_margin, float(expected.initial_margin), model)
    check = engine.pre_trade(account, instrument, 0.0)
    assert abs(check.initial_margin - after.initial_margin[account]) <= 1e-9 * max(
        after.initial_margin[account], 1.0
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    book=books(),
    model=ALL_VARIANTS,
    trades=st.lists(
        st.tuples(st.integers(0, len(NAMES) - 1), st.floats(-3.0, 3.0), st.booleans()),
        min_size=1,
        max_size=6,
    ),
    data=st.data(),
)
def test_stored_check_state_follows_committed_trades(
    book: Book,
    model: str,
    trades: list[tuple[int, float, bool]],
    data: st.DataObject,
) -> None:
    """Trades committed one after another (some closing a position exactly) move an account's
    stored pre-trade state (pm: vectors with delta and value lanes, held counts, bucket nets) as
    a rebuild from the positions would: a warm check then equals margin_all, also through a
    pre-trade pool of one slot that the other accounts keep taking."""
    engine = _engine(model, book)
    account = data.draw(st.integers(0, engine.account_count - 1))
    for instrument, size, close in trades:
        held = dict(zip(*engine.positions(account), strict=True))
        if close and instrument in held:
            size = -float(held[instrument])
        elif NAMES[instrument] in DELTA_ONE and "_" not in NAMES[instrument]:
            size *= 10_000.0
        engine.apply_trade(account, instrument, size)
    warm = engine.pre_trade(account, 0, 0.0)
    result = engine.margin_all()
    scale = max(abs(result.initial_margin[account]), 1.0)
    assert abs(warm.initial_margin - result.initial_margin[account]) <= 1e-11 * scale
    assert abs(warm.equity - result.equity[account]) <= 1e-11 * max(
        abs(result.equity[account]), 1.0
    )
    assert _close(warm.initial_margin, float(_model(engine, account, model).initial_margin), model)
    small = _engine(model, book, check_slots=1)
    for other in range(small.account_count):
        small.pre_trade(other, 0, 0.0)
    expected = small.margin_all()
    for other in range(small.account_count):
        check = small.pre_trade(other, 0, 0.0)
        scale = max(abs(expected.initial_margin[other]), 1.0)
        assert abs(check.initial_margin - expected.initial_margin[other]) <= 1e-11 * scale


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=books(), model=ALL_VARIANTS, seed=st.integers(0, 2**32 - 1))
def test_relabelling_accounts_changes_nothing(
    book: Book,
    model: str,
    seed: int,
) -> None:
    """Accounts permuted and rows shuffled give the same numbers, bit for bit, per account."""
    engine = _engine(model, book)
    market, rows, collateral, entries, coins = book
    permutation = np.random.default_rng(seed).permutation(len(rows))
    moved = (
        market, [rows[p] for p in permutation], [collateral[p] for p in permutation], entries,
        [coins[p] for p in permutation],
    )  # fmt: skip
    relabelled = _engine(model, moved)
    original = engine.margin_all()
    shuffled = relabelled.margin_all()
    assert np.array_equal(shuffled.initial_margin, original.initial_margin[permutation])
    assert np.array_equal(shuffled.equity, original.equity[permutation])
    assert np.array_equal(shuffled.worst_scenario_index, original.worst_scenario_index[permutation])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=books(), move=st.floats(-0.3, 0.3), model=ALL_VARIANTS)
def test_an_incremental_market_move_equals_a_full_recompute(
    book: Book,
    move: float,
    model: str,
) -> None:
    engine = _engine(model, book)
    engine.margin_all()
    moved = engine.update_market(engine.market.shocked({"ETH": move}))
    assert moved in ((), ("ETH",))
    incremental = engine.margin_all()
    full = engine.margin_all(incremental=False)
    assert np.array_equal(incremental.initial_margin, full.initial_margin)
    assert np.array_equal(incremental.equity, full.equity)
    assert np.array_equal(incremental.worst_scenario_index, full.worst_scenario_index)
    for account in range(engine.account_count):
        expected = _model(engine, account, model)
        assert _close(full.initial_margin[account], float(expected.initial_margin), model)


def _exercises(charge: str, book: Book) -> bool:
    """Whether the single-account model under ``pm-stressed`` charges ``charge`` to an account
    of ``book`` (``balance``: a coin balance is inside the scenarios)."""
    market, rows, _, entries, coins = book
    model = VARIANTS["pm-stressed"][2]
    assert isinstance(model, PortfolioMargin)
    for row, balances in zip(rows, coins, strict=True):
        positions = tuple(Position(parse_instrument(NAMES[i]), s, entries[i]) for i, s in row)
        portfolio = Portfolio(positions, {c: Decimal(repr(a)) for c, a in balances.items()})
        risk = model.risk(view_account(portfolio, market, model.haircuts))
        amounts = {
            "worst_case": float(risk.aggregate.worst_case_usd[0]),
            "correlation_contingency": float(risk.aggregate.correlation_usd[0]),
            "roll_shock": sum(risk.roll_usd),
            "delta_shock": sum(risk.delta_usd),
            "balance": sum(abs(v.balance_coin) for v in risk.vectors),
        }
        if amounts[charge] > 0.0:
            return True
    return False


@pytest.mark.parametrize(
    "charge", ["worst_case", "correlation_contingency", "roll_shock", "delta_shock", "balance"]
)
def test_every_pm_charge_is_exercised(charge: str) -> None:
    """The books strategy reaches every portfolio margin charge under ``pm-stressed``, so the
    properties above compare kernel, twin and model on each of them."""
    find(
        books(),
        lambda book: _exercises(charge, book),
        settings=settings(max_examples=400, deadline=None, database=None),
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 6),
            st.integers(0, 9),
            st.sampled_from([0.0, 1.0, -1.0, 0.5, 2.25, -3.0, 1e6]),
        ),
        max_size=60,
    )
)
def test_position_rows_net_in_input_order_and_drop_zeros(
    rows: list[tuple[int, int, float]],
) -> None:
    """Unsorted rows with repeats and zeros load as the sums per (account, instrument), added in
    input order, zero totals dropped, each row sorted by instrument."""
    expected: dict[tuple[int, int], float] = {}
    for account, instrument, size in rows:
        expected[(account, instrument)] = expected.get((account, instrument), 0.0) + size
    book = PositionBook.from_arrays(
        np.array([r[0] for r in rows], dtype=np.int64),
        np.array([r[1] for r in rows], dtype=np.int64),
        np.array([r[2] for r in rows], dtype=np.float64),
        7,
        10,
    )
    for account in range(7):
        cols, sizes = book.row(account)
        wanted = sorted((i, s) for (a, i), s in expected.items() if a == account and s != 0.0)
        assert cols.tolist() == [i for i, _ in wanted]
        assert sizes.tolist() == [s for _, s in wanted]


#: Delta-one contracts by risk vector (pair, currency): an account of one group only takes the
#: kernel's delta-one shortcut (:func:`crossmargin.engine.kernels_pm._linear_account`).
LINEAR_GROUPS = (
    ("BTC-PERPETUAL", "BTC-29MAR24", "BTC-28JUN24"),
    ("BTC_USDC-PERPETUAL", "BTC_USDC-28JUN24", "BTC_USDC"),
    ("ETH-PERPETUAL", "ETH-28JUN24"),
    ("ETH_USDC-PERPETUAL",),
)
#: Net USD notionals to aim at: the stressed delta-shock threshold (100,000 USD) and the starts
#: of the extended scenarios' dampeners (dampener / (weight × move) for BTC, 0.16 each).
LINEAR_NOTIONALS = (1e5, 106_250 / 0.16, 212_500 / 0.16, 312_500 / 0.16, 525_000 / 0.16)


@st.composite
def linear_books(draw: st.DrawFn) -> Book:
    """Accounts holding only delta-one contracts of one risk vector, whose net notional is near
    the delta-shock threshold or the start of an extended scenario's dampener (or anywhere)."""
    market = draw(markets())
    accounts = draw(st.integers(1, 5))
    rows = []
    for _ in range(accounts):
        group = draw(st.sampled_from(LINEAR_GROUPS))
        picked = draw(st.lists(st.sampled_from(group), min_size=1, max_size=3, unique=True))
        near = draw(st.sampled_from(LINEAR_NOTIONALS)) * draw(st.floats(0.97, 1.03))
        notional = draw(st.one_of(st.just(near), st.floats(1.0, 5e6)))
        notional = notional if draw(st.booleans()) else -notional
        shares = [draw(st.floats(-1.0, 2.0)) for _ in picked[1:]]
        parts = [notional - sum(shares) * notional / 2, *(s * notional / 2 for s in shares)]
        row = []
        for name, part in zip(picked, parts, strict=True):
            size = part if "_" not in name else part / market.index(name[:3])
            if size != 0.0:
                row.append((NAMES.index(name), size))
        rows.append(row)
    collateral = [draw(st.floats(0.0, 2_000_000.0)) for _ in range(accounts)]
    coins = [{"BTC": 0.0, "ETH": 0.0} for _ in range(accounts)]
    return market, rows, collateral, [None] * len(NAMES), coins


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=linear_books(), model=st.sampled_from(["pm", "pm-stressed"]))
def test_the_delta_one_shortcut_equals_the_model_the_twin_and_the_general_path(
    book: Book, model: str
) -> None:
    """Delta-one accounts of one risk vector near the delta-shock threshold and the extended
    scenarios' dampeners: the single-account model to 1e-9, the numpy twin to 1e-12, and the
    kernel's general path (the shortcut switched off) bit for bit."""
    engine = _engine(model, book)
    fused = engine.margin_all()
    twin = engine.margin_all_reference()
    scale = 1e-12 * np.maximum(np.abs(twin.initial_margin), 1.0)
    assert np.all(np.abs(fused.initial_margin - twin.initial_margin) <= scale)
    n = engine.account_count
    general = general_path_margins(engine)
    assert np.array_equal(fused.initial_margin, general[0])
    assert np.array_equal(fused.equity, general[2])
    assert np.array_equal(fused.worst_scenario_index, general[4])
    for account in range(n):
        expected = _model(engine, account, model)
        assert _close(fused.initial_margin[account], float(expected.initial_margin), model)
        assert _worst_ties(fused.worst_scenario_label(account), expected)


@st.composite
def linear_pair_books(draw: st.DrawFn) -> Book:
    """Accounts holding delta-one contracts of two risk vectors (the same pair in two currencies,
    or two pairs), each leg's net notional near the delta-shock threshold or an extended
    scenario's dampener start (or anywhere), long or short, often hedging the other; now and
    then a third vector (the general path)."""
    market = draw(markets())
    accounts = draw(st.integers(1, 5))
    rows = []
    for _ in range(accounts):
        legs = draw(st.integers(2, 2) | st.just(3))
        groups = draw(st.lists(st.sampled_from(LINEAR_GROUPS), min_size=legs, max_size=legs,
                               unique=True))  # fmt: skip
        row = []
        for group in groups:
            picked = draw(st.lists(st.sampled_from(group), min_size=1, max_size=2, unique=True))
            near = draw(st.sampled_from(LINEAR_NOTIONALS)) * draw(st.floats(0.97, 1.03))
            notional = draw(st.one_of(st.just(near), st.floats(1.0, 5e6), st.just(0.0)))
            notional = notional if draw(st.booleans()) else -notional
            share = draw(st.floats(-1.0, 2.0))
            parts = [notional * (1.0 - share / 2), notional * share / 2][: len(picked)]
            if len(picked) == 1:
                parts = [notional]
            for name, part in zip(picked, parts, strict=True):
                size = part if "_" not in name else part / market.index(name[:3])
                if size != 0.0:
                    row.append((NAMES.index(name), size))
        rows.append(sorted(row))
    collateral = [draw(st.floats(0.0, 2_000_000.0)) for _ in range(accounts)]
    coins = [{"BTC": 0.0, "ETH": 0.0} for _ in range(accounts)]
    return market, rows, collateral, [None] * len(NAMES), coins


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=linear_pair_books(), model=st.sampled_from(["pm", "pm-stressed"]))
def test_the_two_vector_shortcut_equals_the_model_the_twin_and_the_general_path(
    book: Book, model: str
) -> None:
    """Delta-one accounts of two risk vectors (hedged or not, near the delta-shock threshold
    and the extended scenarios' dampeners): the single-account model to 1e-9, the numpy twin
    to 1e-12, and the kernel's general path (the shortcut switched off) bit for bit — IM, MM,
    equity, ratio and the worst scenario."""
    engine = _engine(model, book)
    fused = engine.margin_all()
    twin = engine.margin_all_reference()
    scale = 1e-12 * np.maximum(np.abs(twin.initial_margin), 1.0)
    assert np.all(np.abs(fused.initial_margin - twin.initial_margin) <= scale)
    n = engine.account_count
    general = general_path_margins(engine)
    for got, want in zip(
        (fused.initial_margin, fused.maintenance_margin, fused.equity, fused.margin_ratio),
        general[:4],
        strict=True,
    ):
        assert np.array_equal(got, want)
    assert np.array_equal(fused.worst_scenario_index, general[4])
    for account in range(n):
        expected = _model(engine, account, model)
        assert _close(fused.initial_margin[account], float(expected.initial_margin), model)
        assert _worst_ties(fused.worst_scenario_label(account), expected)
