"""Locating the shared data set: crossmargin.shared_data, the one module that looks for it."""

from __future__ import annotations

from pathlib import Path

import pytest

import crossmargin.shared_data as shared_data_module
from crossmargin.core.errors import FileInputError
from crossmargin.shared_data import (
    SHARED_DATA_ENV,
    SharedDataNotFoundError,
    find_shared_data_dir,
    shared_data_dir,
    shared_market_history,
)


def test_environment_variable_wins(tmp_path: Path) -> None:
    assert shared_data_dir({SHARED_DATA_ENV: str(tmp_path)}) == tmp_path.resolve()


def test_environment_variable_must_be_a_directory(tmp_path: Path) -> None:
    with pytest.raises(SharedDataNotFoundError, match=SHARED_DATA_ENV):
        shared_data_dir({SHARED_DATA_ENV: str(tmp_path / "missing")})
    with pytest.raises(SharedDataNotFoundError, match=SHARED_DATA_ENV):
        find_shared_data_dir({SHARED_DATA_ENV: str(tmp_path / "missing")})


def test_walks_up_from_start_to_a_shared_data_sibling(tmp_path: Path) -> None:
    """tmp/shared/data exists; starting in tmp/main/src/pkg finds it via the ancestor tmp."""
    (tmp_path / "shared" / "data").mkdir(parents=True)
    start = tmp_path / "main" / "src" / "pkg"
    start.mkdir(parents=True)
    assert shared_data_dir({}, start=start) == (tmp_path / "shared" / "data").resolve()


def test_falls_back_to_the_package_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From a directory with no shared/data above it, the walk from the package's own file still
    finds the repository's sibling: a package installed at layout/main/src/crossmargin beside
    layout/shared/data is found from an unrelated working directory."""
    layout = tmp_path / "layout"
    (layout / "shared" / "data").mkdir(parents=True)
    package = layout / "main" / "src" / "crossmargin"
    package.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert find_shared_data_dir({}, start=elsewhere) != (layout / "shared" / "data").resolve()
    monkeypatch.setattr(shared_data_module, "__file__", str(package / "shared_data.py"))
    assert shared_data_dir({}, start=elsewhere) == (layout / "shared" / "data").resolve()


def test_the_history_error_names_the_model_and_the_variable(tmp_path: Path) -> None:
    """Not found: the message says the var model needs it and how to point to it; found but
    empty: the message names the missing file."""
    with pytest.raises(SharedDataNotFoundError, match="var model needs") as raised:
        shared_market_history({SHARED_DATA_ENV: str(tmp_path / "missing")})
    assert SHARED_DATA_ENV in str(raised.value)
    with pytest.raises(FileInputError, match=r"Binance_BTCUSDT_d\.csv"):
        shared_market_history({SHARED_DATA_ENV: str(tmp_path)})
