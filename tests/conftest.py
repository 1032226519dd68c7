"""Suite-wide guard: in CI the shared market data must be present, so no golden test can pass by
skipping. Locally, tests that need it skip with a reason when it is absent."""

from __future__ import annotations

import os

import pytest

from crossmargin.market.paths import shared_data_dir


def pytest_sessionstart(session: pytest.Session) -> None:
    """Fail fast under CI (``CI=true``) when ``../shared/data`` cannot be found."""
    if os.environ.get("CI", "").lower() not in ("1", "true", "yes"):
        return
    try:
        shared_data_dir()
    except Exception as error:  # any failure to locate the data is fatal in CI
        raise pytest.UsageError(f"CI run without the shared data set: {error}") from error
