"""Margin of every account of a cascade, round after round: the margin models behind one protocol.

A cascade keeps each account's positions as they were loaded and a **scale** ``s ∈ [0, 1]`` per
account (the share left after partial liquidations): closing a fraction ``f`` of every position
of an account multiplies ``s`` by ``1 − f``. Sources:

* :class:`EngineMargin` — the book engine's scenario models (``"pm"``: Deribit-style portfolio
  margin; ``"span"``), one incremental ``update_market`` + ``margin_all`` per round. Both are
  positively homogeneous in the positions (every charge is a max, a sum or an absolute value of
  losses linear in size), so the margin of ``s × positions`` is ``s ×`` the engine's numbers; a
  unit test holds that on a synthetic book.
* :class:`StandardMargin` — Deribit standard margin per position
  (:func:`~crossmargin.margin.standard.standard_requirements_usd`, size-tiered rates: *not*
  homogeneous, so it is recomputed on the scaled sizes). Summed per account it is the standard
  **cross** margin; on a book where every position is its own account
  (:func:`isolated_positions`) it is **isolated** margin.

Every source answers, per account, ``(initial, maintenance, value)`` in USD: the requirements
(≥ 0) and the positions' mark value (P&L since entry for delta-one, premium for options; + is an
asset) at the market moved by ``moves``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.errors import InputError
from crossmargin.engine import BookEngine
from crossmargin.instruments import Instrument, InstrumentKind
from crossmargin.margin.standard import load_standard_parameters
from crossmargin.margin.standard.parameters import StandardMarginParameters
from crossmargin.margin.standard.rates import rate_arrays, standard_requirements_usd
from crossmargin.market import MarketSnapshot
from crossmargin.pricing import instrument_arrays, unit_greeks_usd

__all__ = [
    "AccountMargins",
    "EngineMargin",
    "MarginSource",
    "PositionTable",
    "StandardMargin",
    "isolated_positions",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class AccountMargins:
    """Per account, USD: ``initial`` ≥ ``maintenance`` ≥ 0 and the positions' mark ``value``."""

    initial: FloatArray
    maintenance: FloatArray
    value: FloatArray


@dataclass(frozen=True, eq=False)
class PositionTable:
    """Positions of ``account_count`` accounts sorted by account, with row pointers.

    ``instruments`` and ``market`` are the book's (the market is the cascade's starting point;
    entry prices of delta-one contracts are its forwards). Sizes are native units.
    """

    instruments: tuple[Instrument, ...]
    market: MarketSnapshot
    account_index: IntArray
    instrument_index: IntArray
    size: FloatArray
    account_count: int

    @classmethod
    def build(
        cls,
        instruments: tuple[Instrument, ...],
        market: MarketSnapshot,
        account_index: NDArray[np.integer],
        instrument_index: NDArray[np.integer],
        size: NDArray[np.floating],
        account_count: int,
    ) -> PositionTable:
        """The table of the given positions, sorted by account (stable), as float64/int64."""
        accounts = np.asarray(account_index, dtype=np.int64)
        if accounts.size and (accounts.min() < 0 or accounts.max() >= account_count):
            raise InputError("account_index", int(accounts.max()), f"must be < {account_count}")
        order = np.argsort(accounts, kind="stable")
        return cls(
            instruments,
            market,
            accounts[order],
            np.asarray(instrument_index, dtype=np.int64)[order],
            np.asarray(size, dtype=np.float64)[order],
            int(account_count),
        )

    @property
    def underlyings(self) -> tuple[str, ...]:
        """The instruments' underlyings, sorted."""
        return tuple(sorted({item.underlying for item in self.instruments}))

    def pointers(self) -> IntArray:
        """(account_count + 1,) row pointers: account ``a`` holds rows ``ptr[a]:ptr[a+1]``."""
        counts = np.bincount(self.account_index, minlength=self.account_count)
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def underlying_code(self) -> IntArray:
        """(n_instruments,) index of each instrument's underlying in :attr:`underlyings`."""
        names = self.underlyings
        return np.array([names.index(item.underlying) for item in self.instruments], np.int64)

    def unit_notional_usd(self, moves: Mapping[str, float]) -> FloatArray:
        """(n_instruments,) USD notional of +1 native unit at the moved market: 1 for an inverse
        future or perpetual (sized in USD of face), the moved index otherwise."""
        index = np.array(
            [self.market.index(item.underlying) * (1.0 + moves.get(item.underlying, 0.0))
             for item in self.instruments]
        )  # fmt: skip
        inverse_face = np.array(
            [
                item.is_inverse and item.kind is not InstrumentKind.OPTION
                for item in self.instruments
            ]
        )
        return np.asarray(np.where(inverse_face, 1.0, index), dtype=np.float64)

    def unit_delta_usd(self, moves: Mapping[str, float]) -> FloatArray:
        """(n_instruments,) USD delta of +1 native unit at the moved market (coin delta × index:
        the USD change per 1.00 relative move of the underlying; + long)."""
        market = self.market.shocked(dict(moves)) if moves else self.market
        arrays = instrument_arrays(self.instruments, market)
        return np.asarray(unit_greeks_usd(arrays)["delta"] * arrays.index_usd, dtype=np.float64)


def _rows_of(pointers: IntArray, accounts: IntArray) -> tuple[IntArray, IntArray]:
    """(rows, owner): every position row of ``accounts`` and its position in ``accounts``."""
    lengths = pointers[accounts + 1] - pointers[accounts]
    total = int(lengths.sum())
    starts = np.repeat(pointers[accounts], lengths)
    offsets = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return (starts + offsets).astype(np.int64), np.repeat(np.arange(accounts.size), lengths)


class MarginSource(Protocol):
    """What a cascade needs from a margin model (tests pass small fakes)."""

    @property
    def name(self) -> str:
        """Model name for reports (``"pm"``, ``"cross"``, ``"isolated"``, ...)."""
        ...

    @property
    def table(self) -> PositionTable:
        """The positions margined."""
        ...

    def margin(self, moves: Mapping[str, float], scale: FloatArray) -> AccountMargins:
        """Per-account requirements and mark value, USD, of ``scale × positions`` at the market
        moved by ``moves`` (relative move per underlying, −0.2 = down 20 %)."""
        ...


class _Exposures:
    """Per-account USD delta and gross notional of liquidated accounts (shared by sources)."""

    def __init__(self, table: PositionTable) -> None:
        self.table = table
        self.pointers = table.pointers()
        self.code = table.underlying_code()

    def deltas_usd(
        self, moves: Mapping[str, float], accounts: IntArray, scale: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """((k, U) USD delta per underlying, (k,) gross USD notional) of ``accounts``' scaled
        positions at the moved market."""
        rows, owner = _rows_of(self.pointers, accounts)
        count = len(self.table.underlyings)
        instrument = self.table.instrument_index[rows]
        size = self.table.size[rows] * scale[accounts][owner]
        delta = self.table.unit_delta_usd(moves)[instrument] * size
        flat = owner * count + self.code[instrument]
        per = np.bincount(flat, weights=delta, minlength=accounts.size * count)
        notional = np.abs(size) * self.table.unit_notional_usd(moves)[instrument]
        gross = np.bincount(owner, weights=notional, minlength=accounts.size)
        return (
            np.asarray(per.reshape(accounts.size, count), dtype=np.float64),
            np.asarray(gross, dtype=np.float64),
        )


def account_exposures(
    table: PositionTable, moves: Mapping[str, float], accounts: IntArray, scale: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """((k, U) USD delta per underlying of :attr:`PositionTable.underlyings`, (k,) gross notional
    USD ≥ 0) of ``accounts``' positions times their ``scale``, at the market moved by ``moves``."""
    return _Exposures(table).deltas_usd(moves, np.asarray(accounts, dtype=np.int64), scale)


class EngineMargin:
    """:class:`MarginSource` over a :class:`~crossmargin.engine.BookEngine` (``pm`` or ``span``).

    The engine is loaded once with zero collateral (so its equity is the positions' mark value);
    each call moves its market (only the moved underlyings' rows are rebuilt) and margins
    incrementally, then scales by the account scales (homogeneity, see the module docstring).
    """

    def __init__(self, table: PositionTable, model: str = "pm", threads: int | None = None):
        self._table = table
        self._name = model
        self.engine = BookEngine(table.instruments, table.market, model=model, threads=threads)
        self.engine.load_positions(
            table.account_index, table.instrument_index, table.size, np.zeros(table.account_count)
        )

    @property
    def name(self) -> str:
        """The engine's model name."""
        return self._name

    @property
    def table(self) -> PositionTable:
        """The positions margined."""
        return self._table

    def margin(self, moves: Mapping[str, float], scale: FloatArray) -> AccountMargins:
        """Scaled engine margin at the moved market, USD (see :class:`MarginSource`)."""
        shocked = {k: v for k, v in moves.items() if v != 0.0}
        market = self._table.market.shocked(shocked) if shocked else self._table.market
        self.engine.update_market(market)
        result = self.engine.margin_all()
        return AccountMargins(
            np.asarray(result.initial_margin) * scale,
            np.asarray(result.maintenance_margin) * scale,
            np.asarray(result.equity) * scale,
        )


class StandardMargin:
    """:class:`MarginSource`: Deribit standard margin per position summed per account (cross;
    isolated on an :func:`isolated_positions` table). ``rate_multiplier`` scales the rates."""

    def __init__(
        self,
        table: PositionTable,
        parameters: StandardMarginParameters | None = None,
        name: str = "cross",
    ) -> None:
        self._table = table
        self._name = name
        params = load_standard_parameters() if parameters is None else parameters
        per_instrument = instrument_arrays(table.instruments, table.market)
        rows = table.instrument_index
        fields = {
            f.name: getattr(per_instrument, f.name)[rows]
            for f in dataclasses.fields(per_instrument)
            if f.name not in ("instruments", "rate_annual")
        }
        self._arrays = dataclasses.replace(per_instrument, **fields)
        rates = rate_arrays(params, [item.underlying for item in table.instruments])
        self._rates = type(rates)(
            *(getattr(rates, f.name)[rows] for f in dataclasses.fields(rates))
        )
        self._position_underlying = np.array(table.underlyings)[table.underlying_code()[rows]]

    @property
    def name(self) -> str:
        """``"cross"`` or ``"isolated"``."""
        return self._name

    @property
    def table(self) -> PositionTable:
        """The positions margined."""
        return self._table

    def margin(self, moves: Mapping[str, float], scale: FloatArray) -> AccountMargins:
        """Standard margin of the scaled positions at the moved market, summed per account."""
        move = np.zeros(self._table.size.shape[0])
        for asset, value in moves.items():
            move[self._position_underlying == asset] = value
        sizes = self._table.size * scale[self._table.account_index]
        req = standard_requirements_usd(self._arrays, sizes, self._rates, move)
        count = self._table.account_count
        owner = self._table.account_index
        return AccountMargins(
            np.asarray(np.bincount(owner, weights=req.initial_usd, minlength=count), np.float64),
            np.asarray(
                np.bincount(owner, weights=req.maintenance_usd, minlength=count), np.float64
            ),
            np.asarray(np.bincount(owner, weights=req.value_usd, minlength=count), np.float64),
        )


def isolated_positions(
    table: PositionTable,
    collateral_usd: FloatArray,
    parameters: StandardMarginParameters | None = None,
) -> tuple[PositionTable, FloatArray, IntArray]:
    """Every position as its own account, with the account's collateral split over its
    positions in proportion to their standard initial margin (equally where all are zero).

    Returns
    -------
    (table, collateral_usd, owner): the one-position-per-account table, each new account's
    collateral (USD ≥ 0, adding up to the original per account) and its original account.
    """
    rows = table.size.shape[0]
    single = PositionTable(
        table.instruments, table.market, np.arange(rows, dtype=np.int64),
        table.instrument_index, table.size, rows,
    )  # fmt: skip
    initial = StandardMargin(single, parameters).margin({}, np.ones(rows)).initial
    owner = table.account_index
    total = np.bincount(owner, weights=initial, minlength=table.account_count)
    counts = np.bincount(owner, minlength=table.account_count).astype(np.float64)
    share = np.where(total[owner] > 0, initial / np.where(total[owner] > 0, total[owner], 1.0),
                     1.0 / np.maximum(counts[owner], 1.0))  # fmt: skip
    return single, np.asarray(collateral_usd, dtype=np.float64)[owner] * share, owner.copy()
