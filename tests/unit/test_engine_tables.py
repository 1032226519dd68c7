"""Book engine internals: fast instrument arrays, linear factors, instrument order, position rows.

The chain market is the real Deribit BTC chain of 2024-03-11 (smiles per expiry, explicit
forwards) with ETH added by :func:`crossmargin.simulation.synthetic_market`.
"""

from __future__ import annotations

import numpy as np
import pytest

from crossmargin.engine import BookEngine
from crossmargin.engine.layout import coerce_instruments, engine_order
from crossmargin.engine.positions import PositionBook
from crossmargin.engine.specs import MODEL_SPECS
from crossmargin.margin.pm.model import deribit_scenario_set
from crossmargin.margin.pm.netting import roll_bucket_key, vector_key
from crossmargin.pricing import instrument_arrays, unit_values_usd
from crossmargin.scenarios import scenario_pnl_matrix
from crossmargin.simulation import synthetic_instruments, synthetic_market
from support.shared_data import require_shared_data

DATA = require_shared_data()
MARKET = synthetic_market(DATA)
INSTRUMENTS = synthetic_instruments(MARKET, 160, DATA)
FIELDS = (
    "kind",
    "is_inverse",
    "is_call",
    "index_usd",
    "forward_usd",
    "strike_usd",
    "t_years",
    "vol_annual",
    "entry_usd",
    "settlement_usd",
)


def test_instrument_arrays_equal_the_portfolio_ones_field_for_field() -> None:
    """Same bytes as :func:`instrument_arrays` (one surface lookup per option there, one per
    underlying here), on the real chain's smiles and forwards."""
    fast = instrument_arrays(INSTRUMENTS, MARKET)
    slow = instrument_arrays(INSTRUMENTS, MARKET)
    for name in FIELDS:
        assert np.array_equal(getattr(fast, name), getattr(slow, name), equal_nan=True), name
    assert list(fast.underlying) == list(slow.underlying)
    assert fast.rate_annual == slow.rate_annual


def test_given_entry_prices_replace_the_forward_of_delta_one_contracts_only() -> None:
    entries = np.full(len(INSTRUMENTS), 50_000.0)
    fast = instrument_arrays(INSTRUMENTS, MARKET, entries)
    slow = instrument_arrays(INSTRUMENTS, MARKET, [50_000.0] * len(INSTRUMENTS))
    assert np.array_equal(fast.entry_usd, slow.entry_usd, equal_nan=True)


def test_every_delta_one_contract_goes_through_linear_factors_exactly() -> None:
    """Each spot, perpetual and future row is rebuilt from its factor weights to 1e-11 of the
    row's size (the engine checks this and would keep the whole row otherwise); the two balance
    columns (BTC, ETH) after the instruments and the two entry-offset columns after them are
    factor rows too."""
    engine = BookEngine(INSTRUMENTS, MARKET, "pm")
    tables = engine.tables
    linear = tables.instrument_int[:, 1] >= 0
    assert tables.instrument_int.shape[0] == len(INSTRUMENTS) + 4
    assert int(linear.sum()) == 24 + 4 == engine.linear_factor_instruments + 4
    width = tables.pnl.shape[1]
    for i in np.flatnonzero(linear):
        rebuilt = np.zeros(width)
        for slot, coefficient in ((1, 2), (2, 3)):
            factor = tables.instrument_int[i, slot]
            if factor >= 0:
                rebuilt += tables.instrument_float[i, coefficient] * tables.factor_rows[factor]
        row = tables.pnl[i]
        assert np.max(np.abs(rebuilt - row)) <= 1e-11 * np.max(np.abs(row))


def test_the_pnl_rows_are_the_scenario_models_rows() -> None:
    """Row i of the tables is column i of :func:`scenario_pnl_matrix` on the model's scenario
    set (27 standard and 8 extended scenarios), zero-padded to a multiple of 8 scenarios."""
    engine = BookEngine(INSTRUMENTS, MARKET, "pm")
    block = engine._blocks[0]
    arrays = instrument_arrays(block.arrays.instruments, MARKET)
    scenario_set = deribit_scenario_set("BTC", arrays, MARKET, engine.parameters)  # type: ignore[arg-type]
    expected = scenario_pnl_matrix(arrays, scenario_set)
    columns = engine._layout.columns[0]
    assert engine.tables.pnl.shape[1] == 40
    np.testing.assert_array_equal(engine.tables.pnl[columns, :35], expected.T)
    assert not engine.tables.pnl[:, 35:].any()


def test_the_engine_order_makes_vectors_buckets_and_months_contiguous() -> None:
    """pm: risk vectors (pair, currency) and, within them, roll buckets (futures by expiry) are
    contiguous runs; SPAN: contract months."""
    for model in ("pm", "span"):
        order = engine_order(INSTRUMENTS, MODEL_SPECS[model].instrument_key)
        assert sorted(order.tolist()) == list(range(len(INSTRUMENTS)))
        ordered = [INSTRUMENTS[i] for i in order]
        if model == "pm":
            vectors = [vector_key(x) for x in ordered]
            runs = [key for n, key in enumerate(vectors) if n == 0 or key != vectors[n - 1]]
            assert len(runs) == len(set(vectors))
            keys = [key for key in map(roll_bucket_key, ordered) if key is not None]
        else:
            keys = [(x.underlying, x.expiry) for x in ordered]
        runs = [key for n, key in enumerate(keys) if n == 0 or key != keys[n - 1]]
        assert len(runs) == len(set(keys))


def test_instrument_names_are_accepted_and_checked() -> None:
    assert coerce_instruments(["BTC-PERPETUAL"])[0].name == "BTC-PERPETUAL"


def test_position_rows_take_trades_in_place_then_move_when_full() -> None:
    """Rows keep two free slots; the third new instrument moves the row to the end with twice
    the room; removing a position closes the gap; rows stay sorted."""
    book = PositionBook.from_arrays(
        np.array([1, 0, 0]), np.array([5, 7, 3]), np.array([1.0, 2.0, 3.0]), 3, 10
    )
    assert book.row(0)[0].tolist() == [3, 7]
    assert book.row(2)[0].tolist() == []
    book.set_size(0, 5, 4.0)
    book.set_size(0, 1, 5.0)
    assert book.row_capacity[0] == 4
    book.set_size(0, 9, 6.0)
    assert book.row_capacity[0] == 8
    assert book.row(0)[0].tolist() == [1, 3, 5, 7, 9]
    assert book.row(0)[1].tolist() == [5.0, 3.0, 4.0, 2.0, 6.0]
    book.set_size(0, 3, 0.0)
    book.set_size(0, 7, -1.0)
    assert book.row(0)[0].tolist() == [1, 5, 7, 9]
    assert book.size_of(0, 7) == -1.0
    assert book.size_of(0, 3) == 0.0
    assert book.row(1)[0].tolist() == [5]
    packed = book.packed()
    assert packed.indptr.tolist() == [0, 4, 5, 5]
    assert packed.cols.tolist() == [1, 5, 7, 9, 5]
    assert book.position_count == 5
    tail = book.packed(1, 3)
    assert tail.indptr.tolist() == [0, 1, 1]


def test_the_mark_value_used_for_equity_is_unit_values_usd() -> None:
    engine = BookEngine(INSTRUMENTS, MARKET, "pm")
    arrays = instrument_arrays(INSTRUMENTS, MARKET)
    engine.load_positions(np.arange(5), np.arange(20, 25), np.ones(5), np.zeros(5))
    expected = unit_values_usd(arrays)[20:25]
    assert engine.margin_all().equity == pytest.approx(expected, rel=1e-15)
