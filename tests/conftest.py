"""Suite-wide guard: under CI (``CI=true``) the shared market data must be present, so no golden
test can pass by skipping (see ``support/shared_data.py``)."""

from __future__ import annotations

import pytest

from crossmargin.shared_data import SharedDataNotFoundError, shared_data_dir
from support.shared_data import in_ci


def pytest_sessionstart(session: pytest.Session) -> None:
    """Fail fast under CI when ``../shared/data`` cannot be found."""
    if not in_ci():
        return
    try:
        shared_data_dir()
    except SharedDataNotFoundError as error:
        raise pytest.UsageError(f"CI run without the shared data set: {error}") from error
