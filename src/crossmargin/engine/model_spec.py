"""A scenario margin model as the book engine runs it: one :class:`ModelSpec` per model.

A spec gathers everything the engine needs to know about a model, so the engine never branches on
the model's name: which parameters it takes, how instruments are ordered and factored, how an
underlying's block of scenario P&L rows is built, which parameter columns its kernel reads, the
numba kernel itself and its numpy twin. Adding a model means writing its spec and registering it
in :mod:`crossmargin.engine.specs`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

from crossmargin.core.errors import InputError
from crossmargin.engine.check_pool import CheckPool
from crossmargin.engine.layout import InstrumentLayout
from crossmargin.engine.margin_arrays import MarginArrays
from crossmargin.engine.positions import PackedRows
from crossmargin.engine.tables import (
    KernelTables,
    ModelColumns,
    UnderlyingBlock,
    assemble_tables,
    underlying_inputs,
)
from crossmargin.instruments import Instrument
from crossmargin.market import MarketSnapshot
from crossmargin.pricing import InstrumentArrays

__all__ = ["CheckArrays", "FastCheck", "KernelRun", "ModelSpec", "Rows", "State", "Twin"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
#: Position rows as the kernels read them: row start, row length, instrument ids, sizes.
Rows = tuple[IntArray, IntArray, NDArray[np.int32], FloatArray]
#: Stored scenario vectors: slot per request, the vectors, their epochs, the current epoch.
State = tuple[IntArray, FloatArray, IntArray, int]

#: A pre-trade check's arrays: request (int64, CHECK_REQUEST_COLUMNS, or TWO_LEG_REQUEST_COLUMNS
#: with a second leg's column — :mod:`crossmargin.engine.check_pool`), trade size (1,) or (2,),
#: the position rows, collateral, the pool of stored state, float output
#: (2, CHECK_OUTPUT_COLUMNS) and worst-scenario output (2,) — see
#: :mod:`crossmargin.engine.columns`.
CheckArrays = tuple[IntArray, FloatArray, Rows, FloatArray, CheckPool, FloatArray, IntArray]

P = TypeVar("P", bound=BaseModel)


class KernelRun(Protocol):
    """Call a model's numba kernel on ``tables``: request t is account ``accounts[t]`` with
    ``trade_sizes[t]`` more of instrument ``instruments[t]`` (empty arrays: no trades); results
    go to ``out[t]``; ``state`` holds the stored scenario vectors (an empty slot array: none)."""

    def __call__(
        self,
        tables: KernelTables,
        accounts: IntArray,
        instruments: IntArray,
        trade_sizes: FloatArray,
        rows: Rows,
        collateral: FloatArray,
        out: MarginArrays,
        state: State,
    ) -> None: ...


class Twin(Protocol):
    """A kernel's numpy twin: the margin of every account of ``rows`` from the same tables."""

    def __call__(
        self,
        tables: KernelTables,
        underlyings: Sequence[str],
        rows: PackedRows,
        collateral_usd: FloatArray,
    ) -> MarginArrays: ...


@dataclass(frozen=True, eq=False)
class FastCheck:
    """A model's own pre-trade path: a kernel that evaluates one account before and after one
    trade from the account's stored state in a :class:`~crossmargin.engine.check_pool.CheckPool`
    (and commits the trade into it on request).

    Attributes
    ----------
    pool_shape:
        ``tables → (rows, width, buckets)`` of each slot of the pool.
    bind:
        ``(tables, arrays) →`` a callable that runs one check on the current contents of
        ``arrays`` (:data:`CheckArrays`), bound once per load, market move or grown row buffer.
    """

    pool_shape: Callable[[KernelTables], tuple[int, int, int]]
    bind: Callable[[KernelTables, CheckArrays], Callable[[], None]]


@dataclass(frozen=True, eq=False)
class ModelSpec(Generic[P]):
    """What the book engine needs of one scenario margin model.

    Attributes
    ----------
    name:
        The model's name (``"pm"``), as :class:`~crossmargin.engine.BookEngine` takes it.
    parameters_type, default_parameters:
        The model's parameter class and a loader of the shipped parameters.
    instrument_key:
        Sort key of the kernels' instrument order (:func:`~crossmargin.engine.layout.engine_order`).
    rate_factors:
        Whether futures get rate-shock factor shapes (the model has rate scenarios).
    reference_vols:
        ``(arrays, market, underlying) → (n_i,)`` vols the model's shocks scale from; a block is
        rebuilt when they or the instrument arrays change.
    block:
        ``(layout, u, market, arrays, reference_vols, parameters) →`` the
        :class:`~crossmargin.engine.tables.UnderlyingBlock` of underlying u.
    columns:
        ``(layout, parameters, index_usd, blocks, width) →`` the
        :class:`~crossmargin.engine.tables.ModelColumns` the kernel reads.
    kernel:
        Calls the model's numba kernel (:class:`KernelRun`).
    twin:
        The kernel's numpy twin (:class:`Twin`).
    balance_columns:
        Whether collateral balances are positions in the scenarios (one balance column per
        underlying coin after the instruments; :meth:`BookEngine.load_positions` takes
        ``balance_coin``).
    fast_check:
        The model's own pre-trade path (:class:`FastCheck`); None: checks run through
        ``kernel`` with the stored vectors as its ``state``.
    """

    name: str
    parameters_type: type[P]
    default_parameters: Callable[[], P]
    instrument_key: Callable[[Instrument], tuple[object, ...]]
    rate_factors: bool
    reference_vols: Callable[[InstrumentArrays, MarketSnapshot, str], FloatArray]
    block: Callable[
        [InstrumentLayout, int, MarketSnapshot, InstrumentArrays, FloatArray, P], UnderlyingBlock
    ]
    columns: Callable[
        [InstrumentLayout, P, FloatArray, Sequence[UnderlyingBlock], int], ModelColumns
    ]
    kernel: KernelRun
    twin: Twin
    balance_columns: bool = False
    fast_check: FastCheck | None = None

    def checked_parameters(self, parameters: object) -> P:
        """``parameters``, or the shipped ones when None; :class:`InputError` when they are not
        this model's."""
        if parameters is None:
            return self.default_parameters()
        if not isinstance(parameters, self.parameters_type):
            raise InputError(
                "parameters",
                type(parameters).__name__,
                f"must be {self.parameters_type.__name__} for {self.name!r}",
            )
        return parameters

    def inputs(
        self,
        layout: InstrumentLayout,
        u: int,
        market: MarketSnapshot,
        entry_prices_usd: FloatArray,
    ) -> tuple[InstrumentArrays, FloatArray]:
        """Instrument arrays and reference vols of underlying ``u`` at ``market``."""
        return underlying_inputs(layout, u, market, entry_prices_usd, self.reference_vols)

    def tables(
        self, layout: InstrumentLayout, blocks: Sequence[UnderlyingBlock], parameters: P
    ) -> KernelTables:
        """The kernel tables of ``blocks`` with this model's parameter columns."""
        return assemble_tables(
            self.name,
            layout,
            blocks,
            lambda index_usd, built, width: self.columns(
                layout, parameters, index_usd, built, width
            ),
        )
