"""Golden tests reproduce outside numbers from the shared data set: a data-driven test whose data
yields no case skips only when the whole set is absent on a developer's machine, else fails."""

from __future__ import annotations

import pytest

from support.shared_data import settle_missing_shared_data


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Settle :class:`~support.shared_data.MissingSharedData` parameters before the test runs."""
    settle_missing_shared_data(item)
