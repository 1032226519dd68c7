"""Synthetic books (issue 6): the real 2024-03-11 Deribit chain's expiries and strikes, four kinds
of accounts, deterministic for a seed, ready for the book engine."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from crossmargin.core.errors import InputError
from crossmargin.engine import BookEngine
from crossmargin.instruments import InstrumentKind, parse_instrument
from crossmargin.market import DERIBIT_CHAIN_2024_03_11
from crossmargin.simulation import ACCOUNT_KINDS, synthetic_book, synthetic_market
from crossmargin.simulation.synthetic import ETH_INDEX_2024_03_11
from support.shared_data import require_shared_data

DATA = require_shared_data()
BOOK = synthetic_book(3000, 400, seed=7, data_dir=DATA, positions_per_account=12.0)


def _chain() -> list[tuple[object, float]]:
    path = DATA / DERIBIT_CHAIN_2024_03_11
    with path.open(newline="", encoding="utf-8") as handle:
        items = [parse_instrument(row["instrument_name"]) for row in csv.DictReader(handle)]
    return [(item.expiry, float(item.strike or 0.0)) for item in items]


def test_the_book_has_the_requested_shape_and_valid_arrays() -> None:
    assert BOOK.account_count == 3000
    assert len(BOOK.instruments) == 400
    n = BOOK.position_count
    for array in (BOOK.account_index, BOOK.instrument_index, BOOK.size):
        assert array.shape == (n,)
    assert BOOK.account_index.dtype == np.int64 and BOOK.instrument_index.dtype == np.int64
    assert np.all(np.isfinite(BOOK.size)) and np.all(BOOK.size != 0.0)
    assert np.all(BOOK.collateral_usd >= 0.0)
    keys = BOOK.account_index * 400 + BOOK.instrument_index
    assert np.all(np.diff(keys) > 0), "sorted and unique per (account, instrument)"
    assert 0.75 * 12 <= n / BOOK.account_count <= 1.25 * 12


def test_every_kind_of_account_is_there_with_its_typical_positions() -> None:
    kinds = np.bincount(BOOK.account_kind, minlength=len(ACCOUNT_KINDS))
    assert np.all(kinds > 0)
    per_account = np.bincount(BOOK.account_index, minlength=BOOK.account_count)
    directional = per_account[BOOK.account_kind == ACCOUNT_KINDS.index("directional")]
    makers = per_account[BOOK.account_kind == ACCOUNT_KINDS.index("market_maker")]
    assert directional.max() <= 3
    assert makers.mean() > 20 * directional.mean()
    instruments = BOOK.instruments
    sellers = np.flatnonzero(BOOK.account_kind == ACCOUNT_KINDS.index("covered_call"))
    rows = np.isin(BOOK.account_index, sellers)
    for i, size in zip(BOOK.instrument_index[rows], BOOK.size[rows], strict=True):
        item = instruments[i]
        assert (item.kind is InstrumentKind.SPOT and size > 0) or (item.is_call and size < 0)


def test_instruments_come_from_the_chain() -> None:
    """BTC options are chain instruments; every expiry is a chain expiry; ETH strikes are BTC's
    scaled by the index ratio and rounded to the ETH grid."""
    chain = _chain()
    expiries = {expiry for expiry, _ in chain}
    strikes = {pair for pair in chain}
    ratio = ETH_INDEX_2024_03_11 / synthetic_market(DATA).index("BTC")
    for item in BOOK.instruments:
        if item.expiry is not None:
            assert item.expiry in expiries
        if item.strike is not None and item.underlying == "BTC":
            assert (item.expiry, item.strike) in strikes
        if item.strike is not None and item.underlying == "ETH":
            nearest = min(abs(k * ratio - item.strike) for e, k in chain if e == item.expiry)
            assert nearest <= 50.0
    names = {item.name for item in BOOK.instruments}
    assert {"BTC-PERPETUAL", "ETH_USDC-PERPETUAL", "BTC_USDC", "BTC-27DEC24"} <= names


def test_the_same_seed_gives_the_same_bytes() -> None:
    again = synthetic_book(3000, 400, seed=7, data_dir=DATA, positions_per_account=12.0)
    other = synthetic_book(3000, 400, seed=8, data_dir=DATA, positions_per_account=12.0)
    assert again.size.tobytes() == BOOK.size.tobytes()
    assert again.collateral_usd.tobytes() == BOOK.collateral_usd.tobytes()
    assert other.size.tobytes() != BOOK.size.tobytes()


def test_the_book_loads_into_the_engine_and_most_accounts_are_solvent() -> None:
    engine = BookEngine(BOOK.instruments, BOOK.market)
    engine.load_positions(BOOK.account_index, BOOK.instrument_index, BOOK.size, BOOK.collateral_usd)
    result = engine.margin_all()
    assert np.all(np.isfinite(result.initial_margin))
    assert np.all(result.initial_margin > 0.0)
    assert 0.0 < np.mean(result.margin_ratio >= 1.0) < 0.15


def test_the_market_adds_eth_to_the_btc_chain() -> None:
    market = synthetic_market(DATA)
    assert market.index("ETH") == ETH_INDEX_2024_03_11
    assert market.valuation_time.isoformat() == "2024-03-11T15:17:00+00:00"
    btc = market.surface("BTC")
    eth = market.surface("ETH")
    assert len(eth.smiles) == len(btc.smiles)
    assert eth.smiles[0].vols_annual[0] == pytest.approx(btc.smiles[0].vols_annual[0] + 0.0216)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ((0, 400, 1), "n_accounts"),
        ((10, 10, 1), "n_instruments"),
        ((10, 100_000, 1), "n_instruments"),
        ((10.5, 400, 1), "n_accounts"),
    ],
)
def test_bad_arguments_are_named(arguments: tuple[float, int, int], field: str) -> None:
    with pytest.raises(InputError) as raised:
        synthetic_book(*arguments, data_dir=DATA)  # type: ignore[arg-type]
    assert raised.value.field == field
