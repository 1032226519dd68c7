"""Unit tests of the Deribit chain loader on small hand-written files (malformed rows, IV rules)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from crossmargin.core.errors import InputError
from crossmargin.instruments import parse_expiry
from crossmargin.market import load_deribit_chain

HEADER = "instrument_name,type,strike,spot_ref,underlying_price,mark_iv\n"
VALUATION = datetime(2026, 3, 1, 19, 54, tzinfo=UTC)


def _write(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "chain.csv"
    path.write_text(HEADER + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


def test_missing_and_zero_iv_rows_are_skipped_and_other_leg_used(tmp_path: Path) -> None:
    """F = 66,000. K = 60,000 < F: the OTM put has IV 0 (skipped), so the call's 70 % is used.
    K = 70,000 > F: the OTM call has no IV, so the put's 55 % is used. K = 80,000 has no IV at
    all and gives no node, so beyond 70,000 the smile is flat at 55 %."""
    path = _write(
        tmp_path,
        [
            "BTC-13MAR26-60000-C,call,60000,66700,66000,70.0",
            "BTC-13MAR26-60000-P,put,60000,66700,66000,0",
            "BTC-13MAR26-70000-C,call,70000,66700,66000,",
            "BTC-13MAR26-70000-P,put,70000,66700,66000,55.0",
            "BTC-13MAR26-80000-C,call,80000,66700,66000,",
        ],
    )
    market = load_deribit_chain(path)
    expiry = parse_expiry("13MAR26")
    smile = market.vol_surfaces["BTC"].smiles[0]
    assert smile.vols_annual.tolist() == [0.7, 0.55]
    assert market.vol("BTC", expiry, 60_000.0) == 0.7
    assert market.vol("BTC", expiry, 80_000.0) == 0.55
    assert market.index("BTC") == 66_700.0


@pytest.mark.parametrize(
    ("row", "field", "value"),
    [
        ("BTC-13MAR26-60000-C,call,60000,66700,abc,70.0", "chain.csv:2.underlying_price", "abc"),
        ("BTC-13MAR26-60000-C,call,60000,66700,66000,-3", "chain.csv:2.mark_iv", "-3"),
        ("BTC-13MAR26-60000-C,call,60000,0,66000,70", "chain.csv:2.spot_ref", "0"),
        (
            "BTC-13MAR26-60000,call,60000,66700,66000,70",
            "chain.csv:2.instrument_name",
            "BTC-13MAR26",
        ),
        ("BTC-13MAR26,call,60000,66700,66000,70", "chain.csv:2.instrument_name", "BTC-13MAR26"),
    ],
)
def test_malformed_rows_name_file_line_and_column(
    tmp_path: Path, row: str, field: str, value: str
) -> None:
    path = _write(tmp_path, [row])
    with pytest.raises(InputError) as caught:
        load_deribit_chain(path)
    assert caught.value.field.endswith(field)
    assert str(path) in str(caught.value) and value in str(caught.value)


def test_duplicate_rows_and_empty_files_are_rejected(tmp_path: Path) -> None:
    row = "BTC-13MAR26-60000-C,call,60000,66700,66000,70.0"
    with pytest.raises(InputError, match=r"chain\.csv:3\.instrument_name"):
        load_deribit_chain(_write(tmp_path, [row, row]))
    with pytest.raises(InputError, match="no option rows"):
        load_deribit_chain(_write(tmp_path, []))


def test_unknown_layout_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("date,close\n2024-01-01,42000\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a Deribit chain"):
        load_deribit_chain(path, VALUATION)
