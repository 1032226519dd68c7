"""The book engine's spec of Deribit's cross-collateral portfolio margin (``pm``).

Blocks come from :func:`~crossmargin.margin.pm.vectors.deribit_scenario_set` and
:func:`~crossmargin.scenarios.scenario_pnl_matrix`, as the single-account model builds them (USD
P&L rows); the vol shocks scale from each option's own vol, so those are the block's reference
vols. The model's columns are the risk vectors (pair, currency) with their currency's price,
gain offset and cap, the per-scenario conversion into the currency and its dampeners, each
column's roll-shock rate, the balance weights per coin and the delta-shock parameters per pair.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from crossmargin.engine.check_pool import CheckPool
from crossmargin.engine.columns import (
    M_MM_FACTOR,
    O_EQUITY,
    O_INITIAL,
    O_MAINTENANCE,
    O_RATIO,
    U_INCREMENT,
    U_MAX_SHOCK,
    U_THRESHOLD,
    V_CAP_COIN,
    V_OFFSET,
    V_PRICE,
)
from crossmargin.engine.compiled import compiled_call
from crossmargin.engine.kernels_pm import kernel_scratch, pm_book_kernel, pm_check_kernel
from crossmargin.engine.layout import InstrumentLayout, netting_order_key
from crossmargin.engine.margin_arrays import MarginArrays
from crossmargin.engine.model_spec import CheckArrays, FastCheck, ModelSpec, Rows, State
from crossmargin.engine.packed import PackedTables
from crossmargin.engine.reference import pm_reference
from crossmargin.engine.tables import KernelTables, ModelColumns, UnderlyingBlock
from crossmargin.margin.pm.charges import roll_shock_rate
from crossmargin.margin.pm.parameters import PortfolioMarginParameters, load_pm_parameters
from crossmargin.margin.pm.vectors import deribit_scenario_set, strike_vols
from crossmargin.market import MarketSnapshot
from crossmargin.pricing import InstrumentArrays, unit_greeks_usd, unit_values_usd
from crossmargin.scenarios import scenario_pnl_matrix

__all__ = [
    "PM_FAST_CHECK",
    "PM_SPEC",
    "bind_pm_check",
    "check_pm",
    "pm_block",
    "pm_columns",
    "run_pm_kernel",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def pm_block(
    layout: InstrumentLayout,
    u: int,
    market: MarketSnapshot,
    arrays: InstrumentArrays,
    reference: FloatArray,
    parameters: PortfolioMarginParameters,
) -> UnderlyingBlock:
    """The block of underlying ``u``: Deribit's standard grid and extended table, the USD P&L
    of +1 native unit of each instrument in each scenario, and the coin price factors."""
    scenario_set = deribit_scenario_set(layout.underlyings[u], arrays, market, parameters)
    return UnderlyingBlock(
        underlying=layout.underlyings[u],
        arrays=arrays,
        reference_vols=reference,
        pnl_usd=scenario_pnl_matrix(arrays, scenario_set),
        price_moves=np.asarray(scenario_set.price_moves),
        rate_shifts=np.asarray(scenario_set.rate_shifts),
        weights=np.asarray(scenario_set.weights),
        dampeners_usd=np.asarray(scenario_set.dampeners_usd),
        labels=scenario_set.labels,
        unit_values_usd=unit_values_usd(arrays),
        unit_delta_coin=unit_greeks_usd(arrays)["delta"],
        month_tiers=np.zeros(0, dtype=np.int64),
        coin_price_factors=scenario_set.coin_price_factors,
    )


def _currency_price(
    layout: InstrumentLayout,
    blocks: Sequence[UnderlyingBlock],
    currency: str,
    index_usd: FloatArray,
) -> float:
    """Current USD price of ``currency``: an underlying's index, else the settlement price the
    instrument arrays carry (1 for USDC)."""
    if currency in layout.underlyings:
        return float(index_usd[layout.underlyings.index(currency)])
    for block in blocks:
        for position, item in enumerate(block.arrays.instruments):
            if item.settlement_currency == currency:
                return float(block.arrays.settlement_usd[position])
    return 1.0


def pm_columns(
    layout: InstrumentLayout,
    parameters: PortfolioMarginParameters,
    index_usd: FloatArray,
    blocks: Sequence[UnderlyingBlock],
    width: int,
) -> ModelColumns:
    """Risk vectors, roll rates, balance weights, delta-shock parameters and the MM factor."""
    columns = ModelColumns.empty(
        len(layout.underlyings), layout.column_count, len(layout.vector_keys), width
    )
    for u, name in enumerate(layout.underlyings):
        p = parameters.for_pair(name)
        columns.underlying_float[u, U_THRESHOLD] = p.delta_shock_threshold_usd
        columns.underlying_float[u, U_MAX_SHOCK] = p.max_delta_shock
        columns.underlying_float[u, U_INCREMENT] = p.delta_shock_increment_per_coin
        columns.balance_coef[u, 0] = index_usd[u] * parameters.balance_weight(name, 1.0)
        columns.balance_coef[u, 1] = index_usd[u] * parameters.balance_weight(name, -1.0)
    for v, (pair, currency) in enumerate(layout.vector_keys):
        u = layout.underlyings.index(pair)
        block = blocks[u]
        n_s = block.scenario_count
        c = parameters.for_currency(currency)
        price = _currency_price(layout, blocks, currency, index_usd)
        factors = block.coin_price_factors
        scenario_price = price * factors if currency == pair and factors is not None else price
        columns.vector_underlying[v] = u
        columns.vector_float[v, V_PRICE] = price
        columns.vector_float[v, V_OFFSET] = c.pnl_offset
        columns.vector_float[v, V_CAP_COIN] = c.max_offsetable_pnl_usd / price
        columns.vector_conversion[v, :n_s] = 1.0 / np.broadcast_to(scenario_price, (n_s,))
        columns.vector_dampeners[v, :n_s] = block.dampeners_usd * c.extended_dampener_usd
    for u, block in enumerate(blocks):
        for position, i in enumerate(layout.columns[u]):
            c = parameters.for_currency(layout.vector_keys[int(layout.vector_id[i])][1])
            columns.roll_rate[i] = roll_shock_rate(
                block.arrays.t_years[position], c.annualised_move_risk, c.min_annualised_move
            )
    columns.model_float[M_MM_FACTOR] = parameters.mm_factor
    return columns


def run_pm_kernel(
    tables: KernelTables,
    accounts: IntArray,
    instruments: IntArray,
    trade_sizes: FloatArray,
    rows: Rows,
    collateral: FloatArray,
    out: MarginArrays,
    state: State,
) -> None:
    """The pm kernels on ``tables`` (see :class:`~crossmargin.engine.model_spec.KernelRun`):
    :func:`~crossmargin.engine.kernels_pm.pm_book_kernel` without trades; with trades, each
    request through :func:`~crossmargin.engine.kernels_pm.pm_check_kernel` on a scratch slot
    rebuilt from the account's positions (the engine's own checks keep per-account state in
    a :class:`~crossmargin.engine.check_pool.CheckPool` and call :func:`check_pm` instead, so
    ``state`` is not read here)."""
    p = tables.packed
    row_start, row_len, cols, sizes = rows
    if instruments.shape[0] == 0:
        pm_book_kernel(
            accounts, row_start, row_len, cols, sizes, collateral, p.lanes, p.factor_rows,
            p.record_int, p.record_float, p.vector_int, p.vector_table, p.vector_float,
            p.bucket_int, p.delta_lane, p.value_lane, out.initial_margin,
            out.maintenance_margin, out.equity, out.margin_ratio, out.worst_scenario_index,
            p.loss_scenarios, p.pair_scenarios,
            *kernel_scratch(p.vector_int, p.width, p.bucket_count, accounts.shape[0]),
        )  # fmt: skip
        return
    pool = CheckPool(1, 1, tables.vector_count, p.width, p.bucket_count)
    request = np.zeros(5, dtype=np.int64)
    size = np.zeros(1)
    out_float = np.zeros((2, 4))
    out_int = np.zeros(2, dtype=np.int64)
    for t in range(accounts.shape[0]):
        request[:4] = (accounts[t], instruments[t], 0, 0)
        size[0] = trade_sizes[t]
        pool.epochs[0] = -1
        check_pm(p, request, size, rows, collateral, pool, out_float, out_int)
        out.initial_margin[t] = out_float[1, O_INITIAL]
        out.maintenance_margin[t] = out_float[1, O_MAINTENANCE]
        out.equity[t] = out_float[1, O_EQUITY]
        out.margin_ratio[t] = out_float[1, O_RATIO]
        out.worst_scenario_index[t] = out_int[1]


def check_pm(
    packed: PackedTables,
    request: IntArray,
    trade_size: FloatArray,
    rows: Rows,
    collateral: FloatArray,
    pool: CheckPool,
    out_float: FloatArray,
    out_int: IntArray,
) -> None:
    """One pre-trade check by :func:`~crossmargin.engine.kernels_pm.pm_check_kernel`: the
    account ``request[0]`` now (row 0 of ``out_float``/``out_int``) and after
    ``trade_size[0]`` more of instrument ``request[1]`` (engine order; row 1), from (and, with
    ``request[4]`` = 1, into) slot ``request[2]`` of ``pool`` at epoch ``request[3]``.
    ``out_float`` columns: IM, MM, equity (USD), margin ratio."""
    p = packed
    row_start, row_len, cols, sizes = rows
    pm_check_kernel(
        request, trade_size, row_start, row_len, cols, sizes, collateral, pool.vectors,
        pool.epochs, pool.holds, pool.nets, p.lanes, p.factor_rows, p.record_int,
        p.record_float, p.vector_int, p.vector_table, p.vector_float, p.bucket_int, out_float,
        out_int, *kernel_scratch(p.vector_int, p.width, p.bucket_count, 0),
    )  # fmt: skip


def _pm_pool_shape(tables: KernelTables) -> tuple[int, int, int]:
    """Per slot: one stored vector per risk vector (with the lanes), one net per roll bucket."""
    packed = tables.packed
    return tables.vector_count, packed.width, packed.bucket_count


def bind_pm_check(tables: KernelTables, arrays: CheckArrays) -> Callable[[], None]:
    """:func:`~crossmargin.engine.kernels_pm.pm_check_kernel`'s compiled entry point bound to
    ``arrays`` and the packed ``tables`` (see :class:`~crossmargin.engine.model_spec.FastCheck`):
    a check then pays neither numba's type dispatch nor any argument packing."""
    request, trade_size, rows, collateral, pool, out_float, out_int = arrays
    p = tables.packed
    row_start, row_len, cols, sizes = rows
    return compiled_call(
        pm_check_kernel,
        (
            request, trade_size, row_start, row_len, cols, sizes, collateral, pool.vectors,
            pool.epochs, pool.holds, pool.nets, p.lanes, p.factor_rows, p.record_int,
            p.record_float, p.vector_int, p.vector_table, p.vector_float, p.bucket_int,
            out_float, out_int, *kernel_scratch(p.vector_int, p.width, p.bucket_count, 0),
        ),
    )  # fmt: skip


PM_FAST_CHECK = FastCheck(pool_shape=_pm_pool_shape, bind=bind_pm_check)

PM_SPEC: ModelSpec[PortfolioMarginParameters] = ModelSpec(
    name="pm",
    parameters_type=PortfolioMarginParameters,
    default_parameters=load_pm_parameters,
    instrument_key=netting_order_key,
    rate_factors=False,
    reference_vols=strike_vols,
    block=pm_block,
    columns=pm_columns,
    kernel=run_pm_kernel,
    twin=pm_reference,
    balance_columns=True,
    fast_check=PM_FAST_CHECK,
)
