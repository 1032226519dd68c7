"""Where the shared, read-only data set lives (``../shared/data`` next to the repository).

Resolution order: the ``CROSSMARGIN_SHARED_DATA`` environment variable; then, walking up from the
current working directory and from this file, the first ancestor ``A`` with a directory
``A/shared/data`` (the repository at ``/work/main`` finds ``/work/shared/data``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from crossmargin.core.errors import CrossmarginError

__all__ = [
    "DERIBIT_CHAIN_2024_03_11",
    "DERIBIT_CHAIN_2026_03_01",
    "SHARED_DATA_ENV",
    "SharedDataNotFoundError",
    "shared_data_dir",
]

#: Environment variable that overrides the search.
SHARED_DATA_ENV = "CROSSMARGIN_SHARED_DATA"

#: The two Deribit BTC option chains, relative to :func:`shared_data_dir`.
DERIBIT_CHAIN_2024_03_11 = Path("options/deribit_btc_chain_2024-03-11/deribit_options.csv")
DERIBIT_CHAIN_2026_03_01 = Path("options/deribit_btc_chain_2026-03-01/deribit_options.csv")


class SharedDataNotFoundError(CrossmarginError, FileNotFoundError):
    """The shared data directory could not be located."""


def shared_data_dir(environ: Mapping[str, str] | None = None, start: Path | None = None) -> Path:
    """Locate the shared data directory.

    Parameters
    ----------
    environ:
        Environment to read ``CROSSMARGIN_SHARED_DATA`` from (default: ``os.environ``).
    start:
        Directory to start the upward walk from (default: the current working directory); the walk
        from this module's own location always follows.

    Returns
    -------
    pathlib.Path
        Absolute path of an existing directory. Raises :class:`SharedDataNotFoundError` saying
        where it looked when there is none.
    """
    variables = os.environ if environ is None else environ
    configured = variables.get(SHARED_DATA_ENV)
    if configured:
        directory = Path(configured).expanduser().resolve()
        if not directory.is_dir():
            raise SharedDataNotFoundError(f"{SHARED_DATA_ENV}={configured!r} is not a directory")
        return directory
    origins = [(start or Path.cwd()).resolve(), Path(__file__).resolve().parent]
    for origin in origins:
        for ancestor in (origin, *origin.parents):
            candidate = ancestor / "shared" / "data"
            if candidate.is_dir():
                return candidate
    searched = " and ".join(str(origin) for origin in origins)
    raise SharedDataNotFoundError(
        f"no shared/data directory above {searched}; set {SHARED_DATA_ENV} to its path"
    )
