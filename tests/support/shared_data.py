"""Locating the shared market data (``../shared/data``) for the tests that reproduce it.

Tests that need it call :func:`require_shared_data`: locally it skips with a reason that says how to
provide the data; under CI (``CI=true``) it fails, and ``tests/conftest.py`` fails the whole run at
start, so no golden test passes by skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crossmargin.market.paths import SharedDataNotFoundError, shared_data_dir

MISSING_SHARED_DATA = (
    "real market data not found: clone beside a 'shared/' folder holding data/, or set "
    "CROSSMARGIN_SHARED_DATA to that data folder"
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
        pytest.skip(MISSING_SHARED_DATA)
    path = root.joinpath(*relative)
    if not path.exists():
        pytest.fail(f"shared data set at {root} has no {'/'.join(relative)}")
    return path
