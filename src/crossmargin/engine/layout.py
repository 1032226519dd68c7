"""What the book engine knows of its instruments before any market: ids, groups and factors.

Everything here depends on the instruments and the model only, so it is built once per engine:

* underlyings, sorted (results and tie-breaks follow that order, as the single-account models do);
* the risk vectors (pair, currency) and the roll buckets of portfolio margin, and one
  collateral-balance column per underlying coin after the instruments (a balance is a position
  in its coin's own vector), the contract months of the calendar spread charge (SPAN);
* the kernels' instrument order, from the sort key a model's spec picks
  (:func:`netting_order_key` or :func:`calendar_order_key`);
* the **linear factors**: a spot, future or perpetual position's scenario P&L is a fixed multiple
  of one of a few shapes per underlying (the price move ``m``, and under a rate shock one shape per
  futures expiry), so the engine sums such positions into a handful of factor weights per account
  instead of adding whole scenario rows (see :mod:`crossmargin.engine.tables`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.errors import InputError
from crossmargin.instruments import Instrument, InstrumentKind, parse_instrument
from crossmargin.margin.pm.netting import netting_ids, roll_bucket_key, vector_currency, vector_key

__all__ = [
    "DISCOUNT_SHAPE",
    "FORWARD_SHAPE",
    "PRICE_SHAPE",
    "InstrumentLayout",
    "build_layout",
    "calendar_order_key",
    "coerce_instruments",
    "engine_order",
    "netting_order_key",
]

IntArray = NDArray[np.int64]

#: Factor shapes: the price move m_k; (1 + m_k)(e^{Δr_k T} − 1) of a linear future;
#: 1 − e^{−Δr_k T} of an inverse future.
PRICE_SHAPE, FORWARD_SHAPE, DISCOUNT_SHAPE = 0, 1, 2

_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, eq=False)
class InstrumentLayout:
    """Market-independent ids of the engine's instruments (n_i of them, n_u underlyings).

    Attributes
    ----------
    instruments:
        The instruments, in the caller's order (``instrument_index`` refers to it).
    underlyings:
        Distinct underlyings, sorted.
    underlying_id:
        (n_i,) position of each instrument's underlying in ``underlyings``.
    columns:
        Per underlying, the instrument indices of its instruments (ascending).
    vector_id, vector_keys:
        Risk vector of each instrument and the (pair, currency) of each vector; every
        underlying's own coin has a vector (its balance column's), whether traded or not.
    bucket_id, bucket_underlying:
        Roll buckets: futures and perpetuals sharing (pair, currency, expiry) share an id; -1 for
        options and spot.
    balance_columns:
        Whether the kernel tables carry one collateral-balance column per underlying after the
        instruments (column ``instrument_count + u`` holds the balance of coin u), then one
        entry-offset column per underlying (column ``instrument_count + n_u + u``, see
        :attr:`entry_offset_start`).
    month_id, month_count:
        SPAN contract month of each instrument: 0 for spot and perpetuals, then 1, 2, ... by
        expiry within its underlying; ``month_count`` (n_u,) months per underlying.
    factor_underlying:
        (n_f,) underlying id of each linear factor. Factor ``price_factor[u]`` is the price move
        of underlying u; ``forward_factor[i]`` / ``discount_factor[i]`` are the rate-shock shapes
        of instrument i's futures expiry (linear / inverse futures; -1 when none).
    factor_kind, factor_expiry:
        Shape of each factor (:data:`PRICE_SHAPE`, :data:`FORWARD_SHAPE`, :data:`DISCOUNT_SHAPE`)
        and its futures expiry (``None`` for the price move).
    factor_start:
        (n_u + 1,) the factors of underlying u are ``factor_start[u] .. factor_start[u + 1] - 1``.
    price_factor, forward_factor, discount_factor:
        See ``factor_underlying``.
    """

    instruments: tuple[Instrument, ...]
    underlyings: tuple[str, ...]
    underlying_id: IntArray
    columns: tuple[NDArray[np.intp], ...]
    vector_id: IntArray
    vector_keys: tuple[tuple[str, str], ...]
    bucket_id: IntArray
    bucket_underlying: IntArray
    month_id: IntArray
    month_count: IntArray
    factor_underlying: IntArray
    factor_kind: IntArray
    factor_expiry: tuple[datetime | None, ...]
    factor_start: IntArray
    price_factor: IntArray
    forward_factor: IntArray
    discount_factor: IntArray
    balance_columns: bool = False

    @property
    def instrument_count(self) -> int:
        """Number of instruments n_i."""
        return len(self.instruments)

    @property
    def column_count(self) -> int:
        """Columns of the kernel tables: the instruments, then, when ``balance_columns``, a
        balance column and an entry-offset column per underlying."""
        return self.instrument_count + (2 * len(self.underlyings) if self.balance_columns else 0)

    @property
    def entry_offset_start(self) -> int:
        """First entry-offset column (with ``balance_columns``): column
        ``entry_offset_start + u`` carries, in coin of underlying u, how far an account's
        coin-settled futures on u were entered from the engine's one entry price per
        instrument — Σ size × (1/E_own − 1/E_engine) per USD of face. Its P&L is that many coins'
        price move and its delta that many coins (no roll bucket, no value): the difference
        between the futures' scenario P&L and delta at their own entries and at the engine's."""
        return self.instrument_count + len(self.underlyings)


def coerce_instruments(instruments: Sequence[Instrument | str]) -> tuple[Instrument, ...]:
    """Instruments from :class:`Instrument` values or Deribit names; :class:`InputError` naming
    ``instruments[j]`` for a bad entry or one that repeats an earlier instrument."""
    if isinstance(instruments, str | bytes):
        raise InputError("instruments", instruments, "must be a sequence of instruments")
    parsed: list[Instrument] = []
    seen: dict[str, int] = {}
    for position, item in enumerate(instruments):
        if isinstance(item, str):
            try:
                instrument = parse_instrument(item)
            except InputError as error:
                raise InputError(f"instruments[{position}]", item, error.reason) from None
        elif isinstance(item, Instrument):
            instrument = item
        else:
            raise InputError(f"instruments[{position}]", item, "must be an Instrument or a name")
        name = instrument.name
        if name in seen:
            raise InputError(f"instruments[{position}]", name, f"repeats instruments[{seen[name]}]")
        seen[name] = position
        parsed.append(instrument)
    return tuple(parsed)


def _kind_rank(item: Instrument) -> int:
    return 0 if item.kind is InstrumentKind.SPOT else 2 if item.strike is not None else 1


def _tail(item: Instrument) -> tuple[object, ...]:
    return (item.strike or 0.0, item.is_call, item.is_inverse, item.name)


def netting_order_key(item: Instrument) -> tuple[object, ...]:
    """Sort key by risk vector (underlying, currency), then spot, futures and perpetuals by expiry
    (roll buckets), then options by (expiry, strike): what portfolio margin nets."""
    return (
        item.underlying, vector_currency(item), _kind_rank(item), item.expiry or _EARLIEST,
        *_tail(item),
    )  # fmt: skip


def calendar_order_key(item: Instrument) -> tuple[object, ...]:
    """Sort key by underlying, then contract month (expiry; spot and perpetuals first), then
    kind: what SPAN's calendar spreads net."""
    return (item.underlying, item.expiry or _EARLIEST, _kind_rank(item), *_tail(item))


def engine_order(
    instruments: Sequence[Instrument], key: Callable[[Instrument], tuple[object, ...]]
) -> NDArray[np.intp]:
    """The kernels' instrument order (internal position → caller's index): ``instruments``
    sorted by the model's ``key``.

    A key groups instruments by underlying, then so that what the model nets is contiguous in a
    sorted account row (:func:`netting_order_key`, :func:`calendar_order_key`); the kernels then
    keep every running net in registers instead of scratch arrays.
    """
    return np.array(
        sorted(range(len(instruments)), key=lambda position: key(instruments[position])),
        dtype=np.intp,
    )


def build_layout(
    instruments: tuple[Instrument, ...], with_rate_factors: bool, balance_columns: bool = False
) -> InstrumentLayout:
    """The :class:`InstrumentLayout` of ``instruments``; ``with_rate_factors`` adds the rate-shock
    factor shapes of futures expiries (a model with rate scenarios), ``balance_columns`` a
    collateral-balance column per underlying (portfolio margin)."""
    underlyings = tuple(sorted({item.underlying for item in instruments}))
    position = {name: u for u, name in enumerate(underlyings)}
    underlying_id = np.array([position[item.underlying] for item in instruments], dtype=np.int64)
    columns = tuple(np.flatnonzero(underlying_id == u) for u in range(len(underlyings)))
    keys = sorted({(str(k[0]), str(k[1])) for k in map(vector_key, instruments)}
                  | {(name, name) for name in underlyings})  # fmt: skip
    vector_of = {key: v for v, key in enumerate(keys)}
    vector_id = np.array(
        [vector_of[(item.underlying, vector_currency(item))] for item in instruments],
        dtype=np.int64,
    ).reshape(len(instruments))
    bucket_id, buckets = netting_ids(instruments, roll_bucket_key)
    month_id = np.zeros(len(instruments), dtype=np.int64)
    month_count = np.ones(len(underlyings), dtype=np.int64)
    for u, name in enumerate(underlyings):
        expiries = sorted(
            {item.expiry for item in instruments if item.underlying == name and item.expiry}
        )
        rank = {expiry: r + 1 for r, expiry in enumerate(expiries)}
        for i in columns[u]:
            expiry = instruments[i].expiry
            month_id[i] = 0 if expiry is None else rank[expiry]
        month_count[u] = len(expiries) + 1
    factor_underlying: list[int] = []
    factor_kind: list[int] = []
    factor_expiry: list[datetime | None] = []
    factor_start = np.zeros(len(underlyings) + 1, dtype=np.int64)
    price_factor = np.zeros(len(underlyings), dtype=np.int64)
    forward_factor = np.full(len(instruments), -1, dtype=np.int64)
    discount_factor = np.full(len(instruments), -1, dtype=np.int64)
    for u in range(len(underlyings)):
        factor_start[u] = len(factor_underlying)
        price_factor[u] = len(factor_underlying)
        factor_underlying.append(u)
        factor_kind.append(PRICE_SHAPE)
        factor_expiry.append(None)
        shapes: dict[tuple[datetime, bool], int] = {}
        for i in columns[u] if with_rate_factors else ():
            item = instruments[i]
            if item.kind is InstrumentKind.FUTURE and item.expiry is not None:
                key = (item.expiry, item.is_inverse)
                if key not in shapes:
                    shapes[key] = len(factor_underlying)
                    factor_underlying.append(u)
                    factor_kind.append(DISCOUNT_SHAPE if item.is_inverse else FORWARD_SHAPE)
                    factor_expiry.append(item.expiry)
                target = discount_factor if item.is_inverse else forward_factor
                target[i] = shapes[key]
    factor_start[len(underlyings)] = len(factor_underlying)
    return InstrumentLayout(
        instruments=instruments,
        underlyings=underlyings,
        underlying_id=underlying_id,
        columns=columns,
        vector_id=vector_id,
        vector_keys=tuple(keys),
        bucket_id=bucket_id,
        bucket_underlying=np.array([position[str(key[0])] for key in buckets], dtype=np.int64),
        month_id=month_id,
        month_count=month_count,
        factor_underlying=np.array(factor_underlying, dtype=np.int64),
        factor_kind=np.array(factor_kind, dtype=np.int64),
        factor_expiry=tuple(factor_expiry),
        factor_start=factor_start,
        price_factor=price_factor,
        forward_factor=forward_factor,
        discount_factor=discount_factor,
        balance_columns=balance_columns,
    )
