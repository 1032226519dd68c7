"""What portfolio margin nets before it charges: risk vectors and roll buckets.

A **risk vector** gathers what one (pair, settlement currency) holds: positions on the pair that
settle in that currency (an inverse contract in the pair's coin, a linear one in its stablecoin),
and a spot holding or a balance of the coin in the coin's own vector (Deribit's spot is a
balance). A **roll bucket** nets the futures and perpetuals of one vector per expiry, the
perpetual being the bucket of no expiry. The single-account model and the book engine's layout
both number them with :func:`netting_ids`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from crossmargin.instruments import Instrument, InstrumentKind

__all__ = ["netting_ids", "roll_bucket_key", "vector_currency", "vector_key"]

NettingKey = Callable[[Instrument], tuple[object, ...] | None]


def vector_currency(instrument: Instrument) -> str:
    """The currency of the risk vector ``instrument`` belongs to: its settlement currency, the
    underlying coin for spot (a spot holding is a balance of the coin)."""
    if instrument.kind is InstrumentKind.SPOT:
        return instrument.underlying
    return instrument.settlement_currency


def vector_key(instrument: Instrument) -> tuple[object, ...]:
    """(pair, currency) of the risk vector ``instrument`` belongs to."""
    return (instrument.underlying, vector_currency(instrument))


def roll_bucket_key(instrument: Instrument) -> tuple[object, ...] | None:
    """(pair, currency, expiry) of a future or perpetual (expiry ``None``), the bucket its roll
    shock nets in; ``None`` for options and spot."""
    if instrument.kind not in (InstrumentKind.FUTURE, InstrumentKind.PERPETUAL):
        return None
    return (*vector_key(instrument), instrument.expiry)


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
