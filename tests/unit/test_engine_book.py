"""Book engine (issue 6): the public interface on small hand-made books.

Market unless said otherwise: 2024-03-11 15:17 UTC, BTC 72,000, ETH 4,000, flat vols 60 % / 70 %,
r = 0 (every forward equals the index), default ``pm`` parameters (±16 % grid, MM = 0.8 × IM).
"""

from __future__ import annotations

import sys
from decimal import Decimal

import numpy as np
import pytest

from crossmargin.collateral import HaircutSchedule
from crossmargin.core.errors import InputError
from crossmargin.engine import BookEngine, BookMarginResult, MissingDependencyError
from crossmargin.margin import MarginResult
from crossmargin.margin.pm.model import PortfolioMargin
from crossmargin.margin.pm.parameters import PortfolioMarginParameters, load_pm_parameters
from crossmargin.margin.span.model import SpanMargin
from crossmargin.market import MarketSnapshot, VolSurface
from crossmargin.portfolio import Portfolio, Position
from support.engine_books import ENGINE_NAMES, general_path_margins
from support.markets import MARKET, NOW

NAMES = ENGINE_NAMES
ACCOUNTS = np.array([0, 0, 0, 1, 1, 2, 2, 2, 3, 3])
INSTRUMENTS = np.array([0, 4, 5, 2, 3, 6, 7, 8, 9, 10])
SIZES = np.array([10_000.0, -2.0, 1.0, 50_000.0, -50_000.0, -3.0, -3.0, 20_000.0, 15.0, 2.0])
COLLATERAL = np.array([100_000.0, 50_000.0, 80_000.0, 0.0, 5_000.0])
#: The engine takes collateral as a USD amount; the single-account model gets it as USD cash
#: under a schedule without haircuts, so both value equity the same way.
NO_HAIRCUTS = HaircutSchedule(
    version="none",
    source="tests: no haircuts",
    haircuts={"USD": 0.0, "USDC": 0.0, "BTC": 0.0, "ETH": 0.0},
)


def _engine(model: str = "pm") -> BookEngine:
    engine = BookEngine(NAMES, MARKET, model)
    engine.load_positions(ACCOUNTS, INSTRUMENTS, SIZES, COLLATERAL)
    return engine


def _model_result(engine: BookEngine, account: int) -> MarginResult:
    """The single-account model on ``account``'s positions, its entry prices and its collateral
    as USD cash (no haircuts at all)."""
    cols, sizes = engine.positions(account)
    entries = engine.entry_prices_usd
    positions = tuple(
        Position(
            engine.instruments[i], float(s), None if np.isnan(entries[i]) else float(entries[i])
        )
        for i, s in zip(cols, sizes, strict=True)
    )
    collateral = {"USD": Decimal(repr(float(engine.collateral_usd[account])))}
    model = (
        PortfolioMargin(haircuts=NO_HAIRCUTS)
        if engine.model == "pm"
        else SpanMargin(haircuts=NO_HAIRCUTS)
    )
    return model.margin(Portfolio(positions, collateral), engine.market)


def _model_margin(engine: BookEngine, account: int) -> tuple[float, float, float]:
    result = _model_result(engine, account)
    return (
        float(result.initial_margin),
        float(result.maintenance_margin),
        float(result.equity),
    )


def _assert_same_worst(label: str | None, expected: MarginResult) -> None:
    """The engine's worst scenario is the model's, or ties with it: the model's P&L in the
    engine's scenario equals its worst P&L (scenarios that are equal in exact arithmetic differ
    by rounding in a full revaluation, e.g. a calendar spread's rate shocks at every price)."""
    if expected.worst_scenario is None:
        assert label is None
        return
    assert label is not None
    pnl = {scenario.label: scenario.pnl_usd for scenario in expected.scenarios}
    worst = expected.worst_scenario.pnl_usd
    assert pnl[label] == pytest.approx(worst, rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("model", ["pm", "span"])
def test_every_account_matches_the_single_account_model(model: str) -> None:
    """IM, MM, equity and the worst scenario of each account equal the model run on that
    account's positions (components are rounded up to 1e-6 there, floats here)."""
    engine = _engine(model)
    result = engine.margin_all()
    for account in range(engine.account_count):
        initial, maintenance, equity = _model_margin(engine, account)
        assert result.initial_margin[account] == pytest.approx(initial, rel=1e-9, abs=1e-5)
        assert result.maintenance_margin[account] == pytest.approx(maintenance, rel=1e-9, abs=1e-5)
        assert result.equity[account] == pytest.approx(equity, rel=1e-12, abs=1e-5)
        _assert_same_worst(result.worst_scenario_label(account), _model_result(engine, account))


def test_a_long_linear_perpetual_costs_its_loss_at_minus_16_percent() -> None:
    """1 BTC long of BTC_USDC-PERPETUAL at 72,000, a USDC vector (price 1 in every scenario):
    the worst scenario is −16 % (first of the three vol regimes, which tie), worst case
    0.16 × 72,000 = 11,520; roll shock = USDC's min_annualised_move 0.01 × 1 BTC × 72,000 = 720
    (a perpetual, T = 0); no delta shock (far below $20M), so IM = 12,240 and MM = 0.8 × 12,240
    = 9,792. Entered at the mark, so equity is the collateral, 1,000."""
    engine = BookEngine(["BTC_USDC-PERPETUAL"], MARKET)
    engine.load_positions([0], [0], [1.0], [1000.0])
    result = engine.margin_all()
    assert result.initial_margin[0] == pytest.approx(12_240.0, rel=1e-12)
    assert result.maintenance_margin[0] == pytest.approx(9_792.0, rel=1e-12)
    assert result.equity[0] == 1000.0
    assert result.margin_ratio[0] == pytest.approx(9.792)
    assert result.worst_scenario_label(0) == "BTC -16% vol up"
    assert engine.linear_factor_instruments == 1


def test_empty_accounts_owe_nothing_and_have_no_worst_scenario() -> None:
    """Account 4 holds nothing: IM = MM = 0, equity = collateral, ratio 0, worst index -1."""
    result = _engine().margin_all()
    assert result.initial_margin[4] == 0.0
    assert result.maintenance_margin[4] == 0.0
    assert result.equity[4] == 5000.0
    assert result.margin_ratio[4] == 0.0
    assert result.worst_scenario_index[4] == -1
    assert result.worst_scenario_label(4) is None


def test_margin_ratio_is_infinite_when_margin_is_due_without_equity() -> None:
    """Account 3 has no collateral and an option position worth money, so positive equity; an
    account with zero collateral and only a perpetual (mark value 0) has ratio inf."""
    engine = BookEngine(["BTC-PERPETUAL"], MARKET)
    engine.load_positions([0], [0], [10_000.0], [0.0])
    assert engine.margin_all().margin_ratio[0] == np.inf


def test_result_arrays_are_read_only_and_convert_to_a_dict() -> None:
    result = _engine().margin_all()
    assert isinstance(result, BookMarginResult)
    with pytest.raises(ValueError, match="read-only"):
        result.initial_margin[0] = 1.0
    columns = result.to_dict()
    assert list(columns) == [
        "account",
        "initial_margin",
        "maintenance_margin",
        "equity",
        "margin_ratio",
        "worst_scenario_index",
    ]
    assert columns["account"].tolist() == [0, 1, 2, 3, 4]


def test_to_table_names_the_missing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without pandas (simulated), ``to_table`` says what to install; with it, a DataFrame."""
    result = _engine().margin_all()
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingDependencyError, match=r"crossmargin\[tables\]"):
        result.to_table()
    monkeypatch.undo()
    import pandas  # a test dependency: missing pandas must fail, not skip

    table = result.to_table()
    assert isinstance(table, pandas.DataFrame)
    assert table.loc[2, "initial_margin"] == result.initial_margin[2]


def test_duplicates_are_netted_and_zero_positions_dropped() -> None:
    """Two rows of the same (account, instrument) add up; a zero size leaves no position."""
    engine = BookEngine(NAMES, MARKET)
    engine.load_positions([0, 0, 0, 1], [4, 4, 2, 0], [1.0, 0.5, 0.0, 10.0], [1.0, 1.0])
    cols, sizes = engine.positions(0)
    assert cols.tolist() == [4]
    assert sizes.tolist() == [1.5]
    assert engine.position_count == 2


@pytest.mark.parametrize(
    ("arguments", "field", "value"),
    [
        (([0, 1], [0, 99], [1.0, 1.0], [1.0, 1.0]), "instrument_index[1]", 99),
        (([0, 1], [0, 1], [1.0, float("nan")], [1.0, 1.0]), "size[1]", None),
        (([0, 1], [0, 1], [1.0, 1.0], [1.0, -np.inf]), "collateral_usd[1]", -np.inf),
        (([0, 1], [0, 1, 2], [1.0, 1.0], [1.0, 1.0]), "instrument_index", 3),
        (([0, 1], [0, 1], [1.0], [1.0, 1.0]), "size", 1),
        (([0, 2], [0, 1], [1.0, 1.0], [1.0, 1.0]), "account_index[1]", 2),
        (([0, 1.5], [0, 1], [1.0, 1.0], [1.0, 1.0]), "account_index[1]", 1.5),
        (([0, 1], [0, 1], [1.0, np.inf], [1.0, 1.0]), "size[1]", np.inf),
    ],
)
def test_bad_positions_are_rejected_and_change_nothing(
    arguments: tuple[list[float], ...], field: str, value: float | None
) -> None:
    engine = _engine()
    before = engine.margin_all()
    with pytest.raises(InputError) as raised:
        engine.load_positions(*arguments)
    assert raised.value.field == field
    if value is not None:
        assert raised.value.value == value
    after = engine.margin_all()
    assert np.array_equal(before.initial_margin, after.initial_margin)
    assert np.array_equal(before.equity, after.equity)
    assert engine.account_count == 5


def test_bad_trades_are_rejected_and_change_nothing() -> None:
    engine = _engine()
    before = engine.margin_all()
    positions = engine.positions(0)
    cases = [((7, 0, 1.0), "account"), ((0, 11, 1.0), "instrument_index"),
             ((0, 0, float("nan")), "size"), ((True, 0, 1.0), "account")]  # fmt: skip
    for arguments, field in cases:
        for call in (engine.pre_trade, engine.apply_trade):
            with pytest.raises(InputError) as raised:
                call(*arguments)
            assert raised.value.field == field
    assert np.array_equal(engine.positions(0)[1], positions[1])
    assert np.array_equal(engine.margin_all().initial_margin, before.initial_margin)


def test_bad_engine_arguments_are_named() -> None:
    with pytest.raises(InputError, match="model"):
        BookEngine(NAMES, MARKET, "var")
    with pytest.raises(InputError, match="parameters"):
        BookEngine(NAMES, MARKET, "span", PortfolioMargin().parameters)
    with pytest.raises(InputError, match=r"instruments\[1\]"):
        BookEngine(["BTC-PERPETUAL", "BTC-PERPETUAL"], MARKET)
    with pytest.raises(InputError, match=r"instruments\[0\]"):
        BookEngine(["NOT-A-NAME-X"], MARKET)
    no_sol_vols = MarketSnapshot(NOW, {"SOL": 150.0}, 0.0, {"BTC": VolSurface.flat(0.6)})
    with pytest.raises(InputError, match=r"vol_surfaces\.SOL"):
        BookEngine(["SOL-28JUN24-150-C"], no_sol_vols)
    with pytest.raises(InputError, match="threads"):
        BookEngine(NAMES, MARKET, threads=0)


def test_pre_trade_equals_the_margin_after_the_trade() -> None:
    """The check's IM after a trade is what margin_all gives once the trade is applied, and what
    the single-account model gives on the new positions; a trade at the mark leaves equity."""
    for model in ("pm", "span"):
        engine = _engine(model)
        before = engine.margin_all()
        check = engine.pre_trade(0, 6, 2.5)
        assert check.initial_margin_before == pytest.approx(before.initial_margin[0], rel=1e-12)
        assert check.equity == pytest.approx(before.equity[0], rel=1e-12)
        applied = engine.apply_trade(0, 6, 2.5)
        assert applied == check
        after = engine.margin_all()
        assert after.initial_margin[0] == pytest.approx(check.initial_margin, rel=1e-12)
        assert after.equity[0] == pytest.approx(before.equity[0], rel=1e-12)
        assert after.worst_scenario_index[0] == check.worst_scenario_index
        initial, _, equity = _model_margin(engine, 0)
        assert check.initial_margin == pytest.approx(initial, rel=1e-9, abs=1e-5)
        assert check.equity == pytest.approx(equity, rel=1e-12, abs=1e-5)
        assert engine.positions(0)[0].tolist() == [0, 4, 5, 6]


def test_apply_trade_pays_the_mark_value_from_collateral() -> None:
    """Buying 1 BTC_USDC spot (mark 72,000) moves 72,000 from collateral into the position. Spot
    is a holding of the coin, so it sits in the BTC vector at the scenario price: its loss at
    −16 % is 0.16/0.84 BTC, i.e. 72,000 × 0.16/0.84 = 13,714.285714 USD (no roll, no delta
    shock)."""
    engine = _engine()
    engine.apply_trade(4, 10, 1.0)
    assert engine.collateral_usd[4] == pytest.approx(5000.0 - 72_000.0)
    result = engine.margin_all()
    assert result.equity[4] == pytest.approx(5000.0)
    assert result.initial_margin[4] == pytest.approx(72_000.0 * 0.16 / 0.84, rel=1e-12)


def test_closing_a_position_removes_it() -> None:
    engine = _engine()
    engine.apply_trade(1, 2, -50_000.0)
    assert engine.positions(1)[0].tolist() == [3]
    assert engine.margin_all().initial_margin[1] == pytest.approx(_model_margin(engine, 1)[0])


def test_update_market_moves_only_what_changed() -> None:
    """A BTC move rebuilds BTC's rows only; the same market again moves nothing; the incremental
    margin equals a full recompute and the single-account model at the new market."""
    engine = _engine()
    engine.margin_all()
    assert engine.update_market(MARKET) == ()
    moved = MARKET.shocked({"BTC": -0.05})
    assert engine.update_market(moved) == ("BTC",)
    incremental = engine.margin_all()
    full = engine.margin_all(incremental=False)
    assert np.array_equal(incremental.initial_margin, full.initial_margin)
    assert np.array_equal(incremental.equity, full.equity)
    for account in range(4):
        initial, _, equity = _model_margin(engine, account)
        assert full.initial_margin[account] == pytest.approx(initial, rel=1e-9, abs=1e-5)
        assert full.equity[account] == pytest.approx(equity, rel=1e-12, abs=1e-5)
    rated = MarketSnapshot(NOW, {"BTC": 68400.0, "ETH": 4000.0}, 0.05,
                           {"BTC": VolSurface.flat(0.6), "ETH": VolSurface.flat(0.7)})  # fmt: skip
    assert engine.update_market(rated) == ("BTC", "ETH")


def test_update_market_rejects_a_market_that_cannot_price_and_keeps_the_old_one() -> None:
    engine = _engine()
    before = engine.margin_all()
    without_eth = MarketSnapshot(NOW, {"BTC": 70000.0}, 0.0, {"BTC": VolSurface.flat(0.6)})
    with pytest.raises(InputError, match="ETH"):
        engine.update_market(without_eth)
    assert engine.market is MARKET
    assert np.array_equal(engine.margin_all().initial_margin, before.initial_margin)


def test_pre_trade_after_a_market_move_uses_the_new_rows() -> None:
    """The stored scenario vector of an account is rebuilt after a move, not reused."""
    engine = _engine()
    engine.pre_trade(2, 6, 1.0)
    engine.update_market(MARKET.shocked({"BTC": 0.03}))
    check = engine.pre_trade(2, 6, 0.0)
    assert check.initial_margin == pytest.approx(engine.margin_all().initial_margin[2], rel=1e-12)


def test_the_kernel_equals_its_numpy_twin() -> None:
    for model in ("pm", "span"):
        engine = _engine(model)
        fused = engine.margin_all()
        twin = engine.margin_all_reference()
        np.testing.assert_allclose(fused.initial_margin, twin.initial_margin, rtol=1e-12)
        np.testing.assert_allclose(fused.maintenance_margin, twin.maintenance_margin, rtol=1e-12)
        np.testing.assert_allclose(fused.equity, twin.equity, rtol=1e-12)
        for account in range(engine.account_count):
            expected = _model_result(engine, account)
            _assert_same_worst(fused.worst_scenario_label(account), expected)
            _assert_same_worst(twin.worst_scenario_label(account), expected)


def _stressed_pm() -> PortfolioMarginParameters:
    """Shipped ``pm`` parameters with a delta shock from 100,000 USD of net delta (0.005 extra
    move per BTC beyond it)."""
    data = load_pm_parameters().model_dump()
    for name in ("BTC", "ETH"):
        data["pairs"][name]["delta_shock_threshold_usd"] = 100_000.0
    data["pairs"]["BTC"]["delta_shock_increment_per_coin"] = 0.005
    return PortfolioMarginParameters.model_validate(data)


#: One book (positions, coin balances) per charge, keyed by the component or note that shows it.
STRESSED_BOOKS: dict[str, tuple[list[tuple[str, float]], dict[str, float]]] = {
    "delta_shock:USDC": ([("BTC_USDC-PERPETUAL", 10.0)], {}),
    "roll_shock:BTC": ([("BTC-29MAR24", 50_000.0), ("BTC-28JUN24", -30_000.0)], {}),
    "worst_case": ([("BTC-28JUN24-80000-C", -2.0), ("BTC-28JUN24-80000-P", 1.0)], {}),
    "correlation_contingency": ([("BTC_USDC-PERPETUAL", 2.0), ("ETH-PERPETUAL", -8_000.0)], {}),
    "inside the BTC scenarios": ([("BTC-28JUN24-80000-C", -3.0)], {"BTC": 2.5}),
}


def test_every_pm_charge_agrees_in_kernel_twin_and_model() -> None:
    """One account per charge under stressed parameters (delta shock, roll shock, the worst case
    of short options, the correlation contingency of two currencies, a BTC balance inside the
    scenarios of a covered call): the model shows the charge, and the kernel, its numpy twin and
    the model give the same IM, MM and worst scenario."""
    parameters = _stressed_pm()
    model = PortfolioMargin(parameters, haircuts=NO_HAIRCUTS)
    names = sorted({name for book, _ in STRESSED_BOOKS.values() for name, _ in book})
    engine = BookEngine(names, MARKET, "pm", parameters)
    rows = [
        (a, names.index(n), s)
        for a, (book, _) in enumerate(STRESSED_BOOKS.values())
        for n, s in book
    ]
    balances = {
        "BTC": np.array([coins.get("BTC", 0.0) for _, coins in STRESSED_BOOKS.values()]),
    }
    engine.load_positions(
        np.array([r[0] for r in rows]), np.array([r[1] for r in rows]),
        np.array([r[2] for r in rows]), np.zeros(len(STRESSED_BOOKS)), balance_coin=balances,
    )  # fmt: skip
    fused = engine.margin_all()
    twin = engine.margin_all_reference()
    for account, (charge, (book, coins)) in enumerate(STRESSED_BOOKS.items()):
        expected = model.margin(Portfolio.of(book, {"USD": 0, **coins}), MARKET)
        shown = expected.components.get(charge, 0) > 0
        assert shown or any(charge in note for note in expected.notes)
        for result in (fused, twin):
            assert result.initial_margin[account] == pytest.approx(
                float(expected.initial_margin), rel=1e-9, abs=1e-5
            )
            assert result.maintenance_margin[account] == pytest.approx(
                float(expected.maintenance_margin), rel=1e-9, abs=1e-5
            )
            _assert_same_worst(result.worst_scenario_label(account), expected)
    np.testing.assert_allclose(fused.initial_margin, twin.initial_margin, rtol=1e-12)


def test_balances_are_rejected_by_a_model_without_them_and_named_when_bad() -> None:
    """SPAN takes no balances; a balance in a coin the engine does not trade is named; a
    stablecoin balance moves in no scenario and is accepted (and ignored)."""
    span = BookEngine(NAMES, MARKET, "span")
    with pytest.raises(InputError, match="balance_coin"):
        span.load_positions([0], [0], [1.0], [0.0], balance_coin={"BTC": [1.0]})
    engine = BookEngine(NAMES, MARKET, "pm")
    with pytest.raises(InputError, match="SOL"):
        engine.load_positions([0], [0], [1.0], [0.0], balance_coin={"SOL": [1.0]})
    engine.load_positions([0], [0], [1.0], [0.0], balance_coin={"USDC": [5.0]})
    assert engine.positions(0)[0].tolist() == [0]


def test_margin_all_dask_on_threads_is_identical() -> None:
    engine = _engine()
    expected = engine.margin_all()
    result = engine.margin_all_dask(partitions=3)
    assert np.array_equal(result.initial_margin, expected.initial_margin)
    assert np.array_equal(result.worst_scenario_index, expected.worst_scenario_index)
    assert np.array_equal(result.equity, expected.equity)


def test_instrument_order_is_the_callers_whatever_the_engine_does_inside() -> None:
    """The engine reorders instruments internally; positions, entries and checks speak the
    caller's indices."""
    engine = _engine()
    assert engine.instruments[4].name == "BTC-28JUN24-80000-C"
    assert engine.positions(0)[0].tolist() == [0, 4, 5]
    assert np.isnan(engine.entry_prices_usd[4])
    assert engine.entry_prices_usd[0] == 72000.0
    assert engine.pre_trade(0, 4, 1.0).instrument_index == 4


def _kernel_without_shortcut(engine: BookEngine) -> tuple[list[np.ndarray], int]:
    """The pm book kernel on every account of ``engine`` with the delta-one shortcut off (no
    loss scenarios for any vector: every account takes the general path), and the number of
    accounts the shortcut takes with the engine's own tables."""
    from crossmargin.engine.kernels_pm import _linear_shortcut

    book = engine._book
    p = engine.tables.packed
    n = engine.account_count
    out = general_path_margins(engine)
    taken = 0
    for a in range(n):
        start = int(book.row_start[a])
        taken += bool(
            _linear_shortcut(
                start, start + int(book.row_len[a]), book.cols, book.sizes, p.record_int,
                p.record_float, p.factor_rows, p.vector_int, p.vector_table, p.vector_float,
                p.bucket_int, p.loss_scenarios, p.pair_scenarios,
            )[0]
        )  # fmt: skip
    return out, taken


def test_the_delta_one_shortcut_gives_the_general_path_bit_for_bit() -> None:
    """Accounts holding only delta-one contracts of one or two risk vectors (long and short, with
    roll buckets, near and inside the extended scenarios' dampeners, beyond the delta-shock
    threshold, hedged across vectors) skip the general path: the same IM, MM, equity, ratio
    and worst scenario as the general path bit for bit, and the single-account model's to
    1e-9."""
    names = ["BTC-PERPETUAL", "BTC-29MAR24", "BTC-28JUN24", "BTC_USDC-PERPETUAL", "ETH-PERPETUAL"]
    names += ["BTC-28JUN24-80000-C"]
    book = [
        [("BTC-PERPETUAL", 10_000.0)],
        [("BTC-PERPETUAL", -2_000_000.0)],
        [("BTC-29MAR24", 50_000.0), ("BTC-28JUN24", -30_000.0)],
        [("BTC-PERPETUAL", 1.0)],  # inside every extended dampener, below the threshold
        [("BTC-PERPETUAL", 20_000.0), ("BTC-29MAR24", -20_000.0)],  # net 0: general path
        [("BTC_USDC-PERPETUAL", 3.0)],
        [("BTC_USDC-PERPETUAL", -25.0)],
        [("ETH-PERPETUAL", 400_000.0)],
        [("BTC-PERPETUAL", 10_000.0), ("BTC_USDC-PERPETUAL", 1.0)],  # two vectors
        [("BTC-PERPETUAL", 200_000.0), ("BTC_USDC-PERPETUAL", -2.9)],  # a hedged basis
        [("BTC-29MAR24", -90_000.0), ("ETH-PERPETUAL", 300_000.0)],  # two pairs
        [("BTC-PERPETUAL", -10.0), ("ETH-PERPETUAL", 10.0)],  # inside the dampeners
        [("BTC-PERPETUAL", 5.0), ("BTC-29MAR24", -5.0), ("ETH-PERPETUAL", 2.0)],  # w = 0 in one
        [("BTC_USDC-PERPETUAL", 40.0), ("ETH-PERPETUAL", -3_000_000.0)],
        [("BTC-PERPETUAL", 1.0), ("BTC_USDC-PERPETUAL", 1.0), ("ETH-PERPETUAL", 1.0)],  # three
        [("BTC-PERPETUAL", 10_000.0), ("BTC-28JUN24-80000-C", 1.0)],  # an option: general
    ]
    parameters = _stressed_pm()
    engine = BookEngine(names, MARKET, "pm", parameters)
    rows = [(a, names.index(n), s) for a, positions in enumerate(book) for n, s in positions]
    engine.load_positions(
        np.array([r[0] for r in rows]), np.array([r[1] for r in rows]),
        np.array([r[2] for r in rows]), np.full(len(book), 50_000.0),
    )  # fmt: skip
    fused = engine.margin_all()
    general, taken = _kernel_without_shortcut(engine)
    assert taken == 13  # the delta-one accounts of one vector (but the one of net weight 0) or two
    for got, want in zip(
        (fused.initial_margin, fused.maintenance_margin, fused.equity, fused.margin_ratio),
        general[:4],
        strict=True,
    ):
        assert np.array_equal(got, want)
    assert np.array_equal(fused.worst_scenario_index, general[4])
    twin = engine.margin_all_reference()
    np.testing.assert_allclose(fused.initial_margin, twin.initial_margin, rtol=1e-12)
    model = PortfolioMargin(parameters, haircuts=NO_HAIRCUTS)
    for account, positions in enumerate(book):
        expected = model.margin(Portfolio.of(positions, {"USD": 50_000}), MARKET)
        assert fused.initial_margin[account] == pytest.approx(
            float(expected.initial_margin), rel=1e-9, abs=1e-5
        )
        _assert_same_worst(fused.worst_scenario_label(account), expected)


def test_pair_scenarios_keep_every_possible_worst_scenario() -> None:
    """For every pair of vectors, factors and signs, the first worst offset aggregate of two
    delta-one positions over random sizes (full scenario loop, in numpy) is among the kept
    pair scenarios whenever it is a loss."""
    engine = _engine()
    p = engine.tables.packed
    rng = np.random.default_rng(7)
    factors, vectors = p.factor_rows.shape[0], p.vector_int.shape[0]
    checked = 0
    for fa, va, sa, fb, vb, sb in np.ndindex(factors, vectors, 2, factors, vectors, 2):
        n_kept = p.pair_scenarios[fa, va, sa, fb, vb, sb, 0]
        if vb <= va:
            assert n_kept == -1
            continue
        assert n_kept > 0
        kept = set(p.pair_scenarios[fa, va, sa, fb, vb, sb, 1 : 1 + n_kept].tolist())
        count = int(p.vector_int[va, 1])
        for _ in range(200):
            total = np.zeros(count)
            for v, f, side in ((va, fa, sa), (vb, fb, sb)):
                w = (1.0 if side == 0 else -1.0) * 10.0 ** rng.uniform(-2, 9)
                table = p.vector_table[v]
                weighted = table[0, :count] * (w * p.factor_rows[f, :count])
                shrunk = np.maximum(np.abs(weighted) - table[1, :count], 0.0)
                x = (np.copysign(shrunk, weighted) + 0.0) * table[2, :count]
                price, offset, cap = p.vector_float[v, [0, 1, 2]]
                total += price * (np.minimum(x, 0.0) + np.minimum(offset * np.maximum(x, 0.0), cap))
            if total.min() < 0.0:
                assert int(np.argmin(total)) in kept
                checked += 1
    assert checked > 1000


def test_loss_scenarios_keep_every_possible_worst_scenario() -> None:
    """For every vector and sign, the worst scenario of a delta-one position over a sweep of
    sizes (full scenario loop) is among the kept loss scenarios whenever it is a loss."""
    engine = _engine()
    p = engine.tables.packed
    for f in range(p.factor_rows.shape[0]):
        for v in range(p.vector_int.shape[0]):
            count = int(p.vector_int[v, 1])
            table = p.vector_table[v]
            for side, sign in enumerate((1.0, -1.0)):
                kept = set(p.loss_scenarios[f, v, side, 1 : 1 + p.loss_scenarios[f, v, side, 0]])
                assert p.loss_scenarios[f, v, side, 0] > 0
                for w in sign * np.geomspace(1e-2, 1e9, 400):
                    weighted = table[0, :count] * (w * p.factor_rows[f, :count])
                    shrunk = np.maximum(np.abs(weighted) - table[1, :count], 0.0)
                    x = (np.copysign(shrunk, weighted) + 0.0) * table[2, :count]
                    if x.min() < 0.0:
                        assert int(np.argmin(x)) in kept
