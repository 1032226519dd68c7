"""Finding the shared, read-only data set (``shared/data`` beside the repository).

This is the one module that looks for files nobody named. The entry points (:mod:`crossmargin.cli`,
:mod:`crossmargin.service`), the tests and the benchmarks call it once, at start-up, and hand what
it finds (a directory, or the history loaded from it) to the library, whose loaders all take an
explicit path. An import-linter contract (``pyproject.toml``) keeps the library from importing it.

Resolution order: the ``CROSSMARGIN_SHARED_DATA`` environment variable; then, walking up from the
current working directory and from this file, the first ancestor ``A`` with a directory
``A/shared/data`` (the repository at ``/work/main`` finds ``/work/shared/data``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from crossmargin.core.errors import CrossmarginError
from crossmargin.market.history import MarketHistory, load_market_history

__all__ = [
    "SHARED_DATA_ENV",
    "SharedDataNotFoundError",
    "find_shared_data_dir",
    "shared_data_dir",
    "shared_market_history",
]

#: Environment variable that overrides the search.
SHARED_DATA_ENV = "CROSSMARGIN_SHARED_DATA"


class SharedDataNotFoundError(CrossmarginError, FileNotFoundError):
    """The shared data directory could not be located."""


def _configured(variables: Mapping[str, str]) -> Path | None:
    configured = variables.get(SHARED_DATA_ENV)
    if not configured:
        return None
    directory = Path(configured).expanduser().resolve()
    if not directory.is_dir():
        raise SharedDataNotFoundError(f"{SHARED_DATA_ENV}={configured!r} is not a directory")
    return directory


def _origins(start: Path | None) -> list[Path]:
    return [(start or Path.cwd()).resolve(), Path(__file__).resolve().parent]


def find_shared_data_dir(
    environ: Mapping[str, str] | None = None, start: Path | None = None
) -> Path | None:
    """Locate the shared data directory, or report that there is none.

    Parameters
    ----------
    environ:
        Environment to read ``CROSSMARGIN_SHARED_DATA`` from (default: ``os.environ``).
    start:
        Directory to start the upward walk from (default: the current working directory); the walk
        from this module's own location always follows.

    Returns
    -------
    pathlib.Path or None
        Absolute path of an existing directory; None when the walk finds none. A
        ``CROSSMARGIN_SHARED_DATA`` that is set but not a directory is a mistake, not an absence:
        it raises :class:`SharedDataNotFoundError`.
    """
    configured = _configured(os.environ if environ is None else environ)
    if configured is not None:
        return configured
    for origin in _origins(start):
        for ancestor in (origin, *origin.parents):
            candidate = ancestor / "shared" / "data"
            if candidate.is_dir():
                return candidate
    return None


def shared_data_dir(environ: Mapping[str, str] | None = None, start: Path | None = None) -> Path:
    """Locate the shared data directory (see :func:`find_shared_data_dir` for the parameters).

    Returns
    -------
    pathlib.Path
        Absolute path of an existing directory. Raises :class:`SharedDataNotFoundError` saying
        where it looked when there is none.
    """
    found = find_shared_data_dir(environ, start)
    if found is None:
        searched = " and ".join(str(origin) for origin in _origins(start))
        raise SharedDataNotFoundError(
            f"no shared/data directory above {searched}; set {SHARED_DATA_ENV} to its path"
        )
    return found


def shared_market_history(
    environ: Mapping[str, str] | None = None, start: Path | None = None
) -> MarketHistory:
    """The daily market history (Binance closes, Deribit DVOL) of the shared data set.

    Returns
    -------
    MarketHistory
        :func:`~crossmargin.market.history.load_market_history` of :func:`shared_data_dir`.
        Raises :class:`SharedDataNotFoundError` when the data set is not found (the message says
        which model needs it and how to point to it), and
        :class:`~crossmargin.core.errors.FileInputError` naming the file when the data set is
        found but a history file is missing or malformed.
    """
    try:
        directory = shared_data_dir(environ, start)
    except SharedDataNotFoundError as error:
        raise SharedDataNotFoundError(
            "the daily market history (Binance daily closes, Deribit DVOL) the var model needs "
            f"was not found: {error}"
        ) from None
    return load_market_history(directory)
