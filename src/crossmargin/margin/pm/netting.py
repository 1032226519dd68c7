"""What portfolio margin nets before it charges: strike groups and futures buckets.

The short option charge nets options per (underlying, expiry, strike) — calls and puts, inverse
and linear alike; the basis charge nets futures and perpetuals per (underlying, expiry), the
perpetual being the bucket of no expiry. The single-account model and the book engine's layout
both number the groups with :func:`netting_ids`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from crossmargin.instruments import Instrument, InstrumentKind

__all__ = ["basis_bucket_key", "netting_ids", "strike_group_key"]

NettingKey = Callable[[Instrument], tuple[object, ...] | None]


def strike_group_key(instrument: Instrument) -> tuple[object, ...] | None:
    """(underlying, expiry, strike) of an option, the group its short option charge nets in;
    ``None`` for other instruments."""
    if instrument.kind is not InstrumentKind.OPTION:
        return None
    return (instrument.underlying, instrument.expiry, instrument.strike)


def basis_bucket_key(instrument: Instrument) -> tuple[object, ...] | None:
    """(underlying, expiry) of a future or perpetual (expiry ``None``), the bucket its basis
    charge nets in; ``None`` for options and spot."""
    if instrument.kind not in (InstrumentKind.FUTURE, InstrumentKind.PERPETUAL):
        return None
    return (instrument.underlying, instrument.expiry)


def netting_ids(
    instruments: Sequence[Instrument], key: NettingKey
) -> tuple[NDArray[np.int64], list[tuple[object, ...]]]:
    """Dense id per instrument of its ``key`` (0, 1, ... in order of first appearance; -1 where
    the key is ``None``) and the distinct keys in id order."""
    ids = np.full(len(instruments), -1, dtype=np.int64)
    order: dict[tuple[object, ...], int] = {}
    for i, instrument in enumerate(instruments):
        value = key(instrument)
        if value is not None:
            ids[i] = order.setdefault(value, len(order))
    return ids, list(order)
