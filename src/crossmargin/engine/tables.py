"""The dense tables the kernels read: one scenario P&L row per instrument, factors, parameters.

Per underlying u a :class:`UnderlyingBlock` holds the model's scenarios and the USD P&L of +1
native unit of each of its instruments in each of them, built by the model's spec
(:mod:`crossmargin.engine.specs`) with the same functions the single-account model calls. A block
is rebuilt only when its inputs (the instrument arrays of u and the reference vols the model's
shocks scale from, if any) change. The model's own parameter columns come from its spec as
:class:`ModelColumns`; everything else here is the same for every model.

**Linear factors.** With ``m_k`` the price move and ``Δr_k`` the rate shift of scenario k, the P&L
of +1 unit of a delta-one contract is exactly

* spot: ``S·m_k``; linear future or perpetual: ``F·P·m_k + F·P·(1 + m_k)(e^{Δr_k T} − 1)``;
* inverse future or perpetual (per USD of face, entry E): ``(S/E)·m_k + (S/F)(1 − e^{−Δr_k T})``

(perpetuals have T = 0). So every such position is a weight on the shape ``m`` of its underlying
plus, for a future, a weight on one rate-shock shape of its expiry. The engine checks each
instrument's reconstruction against its computed P&L row and keeps the row for any instrument
where they differ by more than 1e-11 of the row's size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from crossmargin.engine.columns import (
    F_BUCKET_COIN,
    F_COEF1,
    F_COEF2,
    F_DELTA,
    F_NEGATIVE_COEF,
    F_ROLL_RATE,
    F_VALUE,
    I_BUCKET,
    I_FACTOR1,
    I_FACTOR2,
    I_IS_BALANCE,
    I_IS_CALL,
    I_IS_OPTION,
    I_MONTH,
    I_UNDERLYING,
    I_VECTOR,
    INSTRUMENT_FLOAT_COLUMNS,
    INSTRUMENT_INT_COLUMNS,
    MODEL_FLOAT_COLUMNS,
    U_INDEX,
    UNDERLYING_FLOAT_COLUMNS,
    VECTOR_FLOAT_COLUMNS,
)
from crossmargin.engine.layout import DISCOUNT_SHAPE, PRICE_SHAPE, InstrumentLayout
from crossmargin.engine.packed import PackedTables, pack_tables
from crossmargin.instruments import KindCode
from crossmargin.market import MarketSnapshot
from crossmargin.pricing import InstrumentArrays, delta_one_coin_per_unit, instrument_arrays

__all__ = [
    "KernelTables",
    "ModelColumns",
    "ScenarioCounting",
    "UnderlyingBlock",
    "assemble_tables",
    "same_inputs",
    "underlying_inputs",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_FACTOR_TOLERANCE = 1e-11
_LANES = 8  # scenario axes are padded with zeros to a multiple of 8 (one AVX-512 register)
_ARRAY_FIELDS = (
    "kind",
    "is_inverse",
    "is_call",
    "index_usd",
    "forward_usd",
    "t_years",
    "vol_annual",
    "entry_usd",
    "settlement_usd",
)


@dataclass(frozen=True, eq=False)
class UnderlyingBlock:
    """Scenarios and unit P&L of the instruments of one underlying at one market.

    Attributes
    ----------
    underlying:
        The asset.
    arrays:
        Instrument arrays of its instruments (in ``layout.columns[u]`` order).
    reference_vols:
        At-the-money vols the ``pm`` vol shocks scale from (zeros for ``span``).
    pnl_usd:
        (n_s, n_u) USD P&L of +1 native unit per scenario, weights and dampeners not applied.
    price_moves, rate_shifts, weights, dampeners_usd:
        (n_s,) each scenario's relative price move, rate shift, and how its total is counted
        (``counted = sign(w·P)·max(|w·P| − d, 0)``).
    labels:
        Scenario names.
    unit_values_usd, unit_delta_coin:
        (n_u,) mark value (USD) and delta (coin) of +1 native unit.
    month_tiers:
        Tier of each contract month of the underlying, for a model that charges calendar
        spreads by tier (SPAN); empty otherwise.
    coin_price_factors:
        (n_s,) 1 + the move at whose price a coin-settled risk vector is expressed (pm); ``None``
        for models without risk vectors.
    """

    underlying: str
    arrays: InstrumentArrays
    reference_vols: FloatArray
    pnl_usd: FloatArray
    price_moves: FloatArray
    rate_shifts: FloatArray
    weights: FloatArray
    dampeners_usd: FloatArray
    labels: tuple[str, ...]
    unit_values_usd: FloatArray
    unit_delta_coin: FloatArray
    month_tiers: IntArray
    coin_price_factors: FloatArray | None = None

    @property
    def scenario_count(self) -> int:
        """Number of scenarios n_s."""
        return int(self.price_moves.shape[0])


@dataclass(frozen=True, eq=False)
class ScenarioCounting:
    """How one underlying's scenario totals are counted: (n_s,) weights and USD dampeners, the
    :class:`~crossmargin.scenarios.revaluation.CountingRule` of
    :func:`~crossmargin.scenarios.counted_pnl`."""

    weights: FloatArray
    dampeners_usd: FloatArray


@dataclass(frozen=True, eq=False)
class ModelColumns:
    """The parameter tables a model's kernel reads besides the scenario rows.

    Attributes
    ----------
    underlying_float:
        (n_u, :data:`~crossmargin.engine.columns.UNDERLYING_FLOAT_COLUMNS`) the model's columns
        filled (``U_INDEX`` is filled by :func:`assemble_tables`).
    model_float:
        (:data:`~crossmargin.engine.columns.MODEL_FLOAT_COLUMNS`,) the model's scalars.
    intra_spreads, intra_count:
        (n_u, rows, 3) calendar spreads per underlying as (tier a, tier b, rate) and their count.
    inter_rate, inter_legs, inter_leg_count:
        Inter-commodity spreads: (n,) credit rate, (n, legs, 3) legs as (underlying id or -1,
        delta ratio, side ±1) and their count. Models without spreads leave them empty.
    vector_underlying, vector_float, vector_conversion, vector_dampeners:
        Risk vectors (pm): (n_v,) pair of each, (n_v, VECTOR_FLOAT_COLUMNS) currency price,
        pnl_offset and offset cap in coin, (n_v, width) 1 / the currency's USD price in each
        scenario and the USD dampener of each scenario. Empty for models without vectors.
    roll_rate, balance_coef:
        (n_cols,) roll shock per coin of each column's bucket net; (n_u, 2) factor weight per coin
        of a positive and a negative balance of each underlying's coin (pm; zeros otherwise).
    """

    underlying_float: FloatArray
    model_float: FloatArray
    intra_spreads: FloatArray
    intra_count: IntArray
    inter_rate: FloatArray
    inter_legs: FloatArray
    inter_leg_count: IntArray
    vector_underlying: IntArray
    vector_float: FloatArray
    vector_conversion: FloatArray
    vector_dampeners: FloatArray
    roll_rate: FloatArray
    balance_coef: FloatArray

    @classmethod
    def empty(cls, units: int, columns: int = 0, vectors: int = 0, width: int = 8) -> ModelColumns:
        """Zero columns for ``units`` underlyings, ``columns`` table columns and ``vectors`` risk
        vectors of ``width`` scenarios, no spreads."""
        return cls(
            underlying_float=np.zeros((units, UNDERLYING_FLOAT_COLUMNS)),
            model_float=np.zeros(MODEL_FLOAT_COLUMNS),
            intra_spreads=np.zeros((units, 1, 3)),
            intra_count=np.zeros(units, dtype=np.int64),
            inter_rate=np.zeros(0),
            inter_legs=np.zeros((0, 1, 3)),
            inter_leg_count=np.zeros(0, dtype=np.int64),
            vector_underlying=np.zeros(vectors, dtype=np.int64),
            vector_float=np.zeros((vectors, VECTOR_FLOAT_COLUMNS)),
            vector_conversion=np.zeros((vectors, width)),
            vector_dampeners=np.zeros((vectors, width)),
            roll_rate=np.zeros(columns),
            balance_coef=np.zeros((units, 2)),
        )


@dataclass(frozen=True, eq=False)
class KernelTables:
    """Everything the kernels read, as plain arrays (picklable, shared read-only by threads).

    Instruments are in the engine's order (:func:`crossmargin.engine.layout.engine_order`);
    column meanings are in :mod:`crossmargin.engine.columns`. Scenario axes are padded with zeros
    to a multiple of 8 at least the largest scenario count; ``scenario_offset[u] + k`` is
    scenario k of underlying u on the engine's global scenario axis. ``model`` names the
    registered spec (:func:`crossmargin.engine.specs.model_spec`) whose kernel reads them.
    """

    model: str
    instrument_int: IntArray
    instrument_float: FloatArray
    pnl: FloatArray
    factor_rows: FloatArray
    factor_underlying: IntArray
    factor_start: IntArray
    scenario_count: IntArray
    scenario_offset: IntArray
    weights: FloatArray
    dampeners: FloatArray
    underlying_float: FloatArray
    model_float: FloatArray
    bucket_underlying: IntArray
    month_tier: IntArray
    intra_spreads: FloatArray
    intra_count: IntArray
    inter_rate: FloatArray
    inter_legs: FloatArray
    inter_leg_count: IntArray
    vector_underlying: IntArray
    vector_float: FloatArray
    vector_conversion: FloatArray
    vector_dampeners: FloatArray

    @property
    def underlying_count(self) -> int:
        """Number of underlyings n_u."""
        return int(self.scenario_count.shape[0])

    @property
    def vector_count(self) -> int:
        """Number of risk vectors n_v (pm; 0 for other models)."""
        return int(self.vector_underlying.shape[0])

    @cached_property
    def packed(self) -> PackedTables:
        """The portfolio-margin kernels' packed view of these tables (rows with delta and value
        lanes, one record per instrument, per-vector tables), built on first use."""
        return pack_tables(
            self.instrument_int, self.instrument_float, self.pnl, self.factor_rows,
            self.scenario_count, self.scenario_offset, self.weights, self.underlying_float,
            self.model_float, self.vector_underlying, self.vector_float, self.vector_conversion,
            self.vector_dampeners,
        )  # fmt: skip

    def counting(self, u: int) -> ScenarioCounting:
        """Weights and dampeners of underlying ``u``'s scenarios (padding dropped)."""
        count = int(self.scenario_count[u])
        return ScenarioCounting(self.weights[u, :count], self.dampeners[u, :count])


def underlying_inputs(
    layout: InstrumentLayout,
    u: int,
    market: MarketSnapshot,
    entry_prices_usd: FloatArray,
    reference_vols: Callable[[InstrumentArrays, MarketSnapshot, str], FloatArray],
) -> tuple[InstrumentArrays, FloatArray]:
    """Instrument arrays and reference vols (the model's ``reference_vols`` of them) of
    underlying ``u`` at ``market``: all a block depends on besides the (fixed) parameters."""
    columns = layout.columns[u]
    arrays = instrument_arrays(
        [layout.instruments[i] for i in columns], market, entry_prices_usd[columns]
    )
    return arrays, reference_vols(arrays, market, layout.underlyings[u])


def same_inputs(block: UnderlyingBlock, arrays: InstrumentArrays, reference: FloatArray) -> bool:
    """True when ``arrays`` and ``reference`` equal the inputs ``block`` was built from."""
    if arrays.rate_annual != block.arrays.rate_annual:
        return False
    if not np.array_equal(reference, block.reference_vols):
        return False
    return all(
        np.array_equal(getattr(arrays, name), getattr(block.arrays, name), equal_nan=True)
        for name in _ARRAY_FIELDS
    )


def _factor_rows(
    layout: InstrumentLayout, blocks: Sequence[UnderlyingBlock], width: int
) -> FloatArray:
    """(n_f, width) shape of each linear factor over its underlying's scenarios."""
    rows = np.zeros((max(1, layout.factor_underlying.shape[0]), width))
    for f, u in enumerate(layout.factor_underlying):
        block = blocks[u]
        count = block.scenario_count
        kind = int(layout.factor_kind[f])
        if kind == PRICE_SHAPE:
            rows[f, :count] = block.price_moves
            continue
        expiry = layout.factor_expiry[f]
        first = [p for p, item in enumerate(block.arrays.instruments) if item.expiry == expiry]
        t_years = float(block.arrays.t_years[first[0]])
        shift = block.rate_shifts
        if kind == DISCOUNT_SHAPE:
            rows[f, :count] = 1.0 - np.exp(-shift * t_years)
        else:
            rows[f, :count] = (1.0 + block.price_moves) * (np.exp(shift * t_years) - 1.0)
    return rows


def _linear_coefficients(
    layout: InstrumentLayout, block: UnderlyingBlock, u: int, factor_rows: FloatArray
) -> tuple[IntArray, FloatArray]:
    """(n_u, 2) factor ids and (n_u, 2) weights per native unit of the instruments of ``u``;
    -1 where a position keeps its whole P&L row."""
    arrays = block.arrays
    columns = layout.columns[u]
    factors = np.full((columns.shape[0], 2), -1, dtype=np.int64)
    weights = np.zeros((columns.shape[0], 2))
    count = block.scenario_count
    for position, i in enumerate(columns):
        kind = int(arrays.kind[position])
        if kind == KindCode.OPTION:
            continue
        index = float(arrays.index_usd[position])
        forward = float(arrays.forward_usd[position])
        if kind == KindCode.SPOT:
            pair = [(int(layout.price_factor[u]), index)]
        elif arrays.is_inverse[position]:
            pair = [(int(layout.price_factor[u]), index / float(arrays.entry_usd[position]))]
            if layout.discount_factor[i] >= 0:
                pair.append((int(layout.discount_factor[i]), index / forward))
        else:
            notional = forward * float(arrays.settlement_usd[position])
            pair = [(int(layout.price_factor[u]), notional)]
            if layout.forward_factor[i] >= 0:
                pair.append((int(layout.forward_factor[i]), notional))
        rebuilt = np.zeros(count)
        for factor, weight in pair:
            rebuilt += weight * factor_rows[factor, :count]
        column = block.pnl_usd[:, position]
        scale = max(float(np.max(np.abs(column))), 1e-300)
        if np.max(np.abs(rebuilt - column)) <= _FACTOR_TOLERANCE * scale:
            for slot, (factor, weight) in enumerate(pair):
                factors[position, slot] = factor
                weights[position, slot] = weight
    return factors, weights


def assemble_tables(
    model: str,
    layout: InstrumentLayout,
    blocks: Sequence[UnderlyingBlock],
    columns_of: Callable[[FloatArray, Sequence[UnderlyingBlock], int], ModelColumns],
) -> KernelTables:
    """Pack ``blocks`` (one per underlying, in layout order) into :class:`KernelTables` for the
    kernel of ``model``; ``columns_of(index_usd, blocks, width)`` gives the model's parameter
    columns from the (n_u,) index prices, the blocks and the padded scenario width. Balance
    columns (``layout.balance_columns``) go after the instruments: a factor weight on their
    underlying's price move, the weight per coin from the model's ``balance_coef``; then the
    entry-offset columns (:attr:`InstrumentLayout.entry_offset_start`): the index per coin on
    the price move, delta 1 per coin, in the coin's own vector."""
    count = layout.column_count
    real = layout.instrument_count
    units = len(layout.underlyings)
    width = -(-max([block.scenario_count for block in blocks] + [1]) // _LANES) * _LANES
    instrument_int = np.full((count, INSTRUMENT_INT_COLUMNS), -1, dtype=np.int64)
    instrument_float = np.zeros((count, INSTRUMENT_FLOAT_COLUMNS))
    pnl = np.zeros((count, width))
    weights = np.zeros((units, width))
    dampeners = np.zeros((units, width))
    index_usd = np.zeros(units)
    factor_rows = _factor_rows(layout, blocks, width)
    instrument_int[:real, I_UNDERLYING] = layout.underlying_id
    instrument_int[:real, I_VECTOR] = layout.vector_id
    instrument_int[:real, I_BUCKET] = layout.bucket_id
    instrument_int[:real, I_MONTH] = layout.month_id
    instrument_int[:, I_IS_BALANCE] = 0
    months = max([int(n) for n in layout.month_count] + [1])
    month_tier = np.ones((units, months), dtype=np.int64)
    for u, block in enumerate(blocks):
        columns = layout.columns[u]
        arrays = block.arrays
        n_s = block.scenario_count
        pnl[columns, :n_s] = block.pnl_usd.T
        weights[u, :n_s] = block.weights
        dampeners[u, :n_s] = block.dampeners_usd
        factors, factor_weights = _linear_coefficients(layout, block, u, factor_rows)
        instrument_int[columns, I_FACTOR1] = factors[:, 0]
        instrument_int[columns, I_FACTOR2] = factors[:, 1]
        instrument_int[columns, I_IS_OPTION] = arrays.kind == KindCode.OPTION
        instrument_int[columns, I_IS_CALL] = arrays.is_call
        instrument_float[columns, F_COEF1] = factor_weights[:, 0]
        instrument_float[columns, F_COEF2] = factor_weights[:, 1]
        instrument_float[columns, F_DELTA] = block.unit_delta_coin
        instrument_float[columns, F_VALUE] = block.unit_values_usd
        instrument_float[columns, F_BUCKET_COIN] = delta_one_coin_per_unit(arrays)
        index_usd[u] = float(arrays.index_usd[0])
        month_tier[u, : block.month_tiers.shape[0]] = block.month_tiers
    own = columns_of(index_usd, blocks, width)
    underlying_float = own.underlying_float.copy()
    underlying_float[:, U_INDEX] = index_usd
    if layout.balance_columns:
        vector_of = {key: v for v, key in enumerate(layout.vector_keys)}
        for u, name in enumerate(layout.underlyings):
            moves = blocks[u].price_moves
            # the coin's balance (weighted by sign, no delta), then its entry offset (delta 1)
            for column, weight, delta in (
                (real + u, own.balance_coef[u], 0.0),
                (layout.entry_offset_start + u, (index_usd[u], index_usd[u]), 1.0),
            ):
                instrument_int[column, I_UNDERLYING] = u
                instrument_int[column, I_VECTOR] = vector_of[(name, name)]
                instrument_int[column, I_FACTOR1] = layout.price_factor[u]
                instrument_int[column, I_IS_OPTION] = 0
                instrument_int[column, I_IS_CALL] = 0
                instrument_int[column, I_MONTH] = 0
                instrument_int[column, I_IS_BALANCE] = int(delta == 0.0)
                instrument_float[column, F_COEF1] = weight[0]
                instrument_float[column, F_NEGATIVE_COEF] = weight[1]
                instrument_float[column, F_DELTA] = delta
                pnl[column, : moves.shape[0]] = weight[0] * moves
    if own.roll_rate.shape[0]:
        instrument_float[:, F_ROLL_RATE] = own.roll_rate
    return KernelTables(
        model=model,
        instrument_int=instrument_int,
        instrument_float=instrument_float,
        pnl=pnl,
        factor_rows=factor_rows,
        factor_underlying=layout.factor_underlying.copy(),
        factor_start=layout.factor_start.copy(),
        scenario_count=np.array([b.scenario_count for b in blocks], dtype=np.int64),
        scenario_offset=np.cumsum([0] + [b.scenario_count for b in blocks])[:-1].astype(np.int64),
        weights=weights,
        dampeners=dampeners,
        underlying_float=underlying_float,
        model_float=own.model_float,
        bucket_underlying=layout.bucket_underlying,
        month_tier=month_tier,
        intra_spreads=own.intra_spreads,
        intra_count=own.intra_count,
        inter_rate=own.inter_rate,
        inter_legs=own.inter_legs,
        inter_leg_count=own.inter_leg_count,
        vector_underlying=own.vector_underlying,
        vector_float=own.vector_float,
        vector_conversion=own.vector_conversion,
        vector_dampeners=own.vector_dampeners,
    )
