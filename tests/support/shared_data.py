"""Locating the shared market data (``../shared/data``) for the tests that reproduce it.

Tests that need it call :func:`require_shared_data`: locally it skips with a reason that says how to
provide the data; under CI (``CI=true``) it fails, and ``tests/conftest.py`` fails the whole run at
start, so no golden test passes by skipping.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from crossmargin.margin.registry import HISTORY_MODEL_NAMES
from crossmargin.market.history import MarketHistory, load_market_history
from crossmargin.shared_data import SharedDataNotFoundError, shared_data_dir

MISSING_SHARED_DATA = (
    "this test reproduces the real market data (../shared/data), which is not on this machine: "
    "clone beside a 'shared/' folder holding data/, or set CROSSMARGIN_SHARED_DATA to that data "
    "folder; every test that needs no data still ran, and under CI (CI=true, as .ci/run sets) "
    "this is a failure, not a skip"
)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_shared_data(*relative: str) -> Path:
    """Path of ``shared/data/<relative...>``; skips (locally) or fails (CI) when it is absent.

    A data set that is present but lacks the named file is always a failure: that is a broken
    checkout, not a missing optional input.
    """
    try:
        root = shared_data_dir()
    except SharedDataNotFoundError:
        if in_ci():
            pytest.fail(f"CI run without the shared data set: {MISSING_SHARED_DATA}")
        pytest.skip(MISSING_SHARED_DATA, allow_module_level=True)
    path = root.joinpath(*relative)
    if not path.exists():
        pytest.fail(f"shared data set at {root} has no {'/'.join(relative)}")
    return path


@cache
def _market_history(root: Path) -> MarketHistory:
    return load_market_history(root)


def shared_market_history() -> MarketHistory:
    """The real daily history (Binance closes, Deribit DVOL) of the shared data set, loaded once
    per run; skips or fails as :func:`require_shared_data` when the data set is absent."""
    return _market_history(require_shared_data())


def history_for(model: str) -> MarketHistory | None:
    """What ``build_model(model, history=...)`` needs: the real history for the models that
    draw on it (``var``), None for the others (which then never touch the shared data)."""
    return shared_market_history() if model in HISTORY_MODEL_NAMES else None


@dataclass(frozen=True)
class MissingSharedData:
    """Stands in for the parameters of a data-driven test when the data yields no case.

    :func:`settle_missing_shared_data` (run before every test by ``tests/conftest.py``) turns it
    into a skip when the whole data set is absent on a developer's machine, and into a failure
    under CI or when the data set is present but the folder or file yields nothing — so an empty
    folder can never pass as "0 cases, all green"."""

    reason: str
    data_set_absent: bool


def shared_data_params(
    build: Callable[[Path], Iterable[Any]],
    *relative: str,
    ids: Callable[[Any], str] | None = None,
) -> list[Any]:
    """Test parameters built at collection time from ``shared/data/<relative...>``.

    ``build`` receives the path and returns the cases (rows, files). When the data set is absent,
    the path does not exist or ``build`` yields nothing, the list holds one
    :class:`MissingSharedData` parameter instead, which skips or fails as that class says."""
    try:
        root = shared_data_dir()
    except SharedDataNotFoundError:
        missing = MissingSharedData(MISSING_SHARED_DATA, data_set_absent=True)
        return [pytest.param(missing, id="shared-data-missing")]
    path = root.joinpath(*relative)
    if not path.exists():
        absent = MissingSharedData(f"shared data set at {root} has no {'/'.join(relative)}", False)
        return [pytest.param(absent, id="shared-data-incomplete")]
    cases = list(build(path))
    if not cases:
        empty = MissingSharedData(f"{path} holds no test case", data_set_absent=False)
        return [pytest.param(empty, id="shared-data-empty")]
    return [pytest.param(case, id=ids(case) if ids is not None else None) for case in cases]


def settle_missing_shared_data(item: pytest.Item) -> None:
    """Skip (data set absent, not CI) or fail a test whose parameters hold a
    :class:`MissingSharedData`."""
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return
    for value in callspec.params.values():
        if isinstance(value, MissingSharedData):
            if value.data_set_absent and not in_ci():
                pytest.skip(value.reason)
            pytest.fail(value.reason)
