"""The book engine's spec of Deribit's cross-collateral portfolio margin (``pm``).

Blocks come from :func:`~crossmargin.margin.pm.vectors.deribit_scenario_set` and
:func:`~crossmargin.scenarios.scenario_pnl_matrix`, as the single-account model builds them (USD
P&L rows); the vol shocks scale from each option's own vol, so those are the block's reference
vols. The model's columns are the risk vectors (pair, currency) with their currency's price,
gain offset and cap, the per-scenario conversion into the currency and its dampeners, each
column's roll-shock rate, the balance weights per coin and the delta-shock parameters per pair.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from crossmargin.engine.columns import (
    M_MM_FACTOR,
    U_INCREMENT,
    U_MAX_SHOCK,
    U_THRESHOLD,
    V_CAP_COIN,
    V_OFFSET,
    V_PRICE,
)
from crossmargin.engine.kernels_pm import pm_kernel
from crossmargin.engine.layout import InstrumentLayout, netting_order_key
from crossmargin.engine.margin_arrays import MarginArrays
from crossmargin.engine.model_spec import ModelSpec, Rows, State
from crossmargin.engine.reference import pm_reference
from crossmargin.engine.tables import KernelTables, ModelColumns, UnderlyingBlock
from crossmargin.margin.pm.charges import roll_shock_rate
from crossmargin.margin.pm.parameters import PortfolioMarginParameters, load_pm_parameters
from crossmargin.margin.pm.vectors import deribit_scenario_set, strike_vols
from crossmargin.market import MarketSnapshot
from crossmargin.pricing import InstrumentArrays, unit_greeks_usd, unit_values_usd
from crossmargin.scenarios import scenario_pnl_matrix

__all__ = ["PM_SPEC", "pm_block", "pm_columns", "run_pm_kernel"]

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
    """:func:`~crossmargin.engine.kernels_pm.pm_kernel` on ``tables`` (see
    :class:`~crossmargin.engine.model_spec.KernelRun`)."""
    t = tables
    row_start, row_len, cols, sizes = rows
    slots, vectors, epochs, epoch = state
    pm_kernel(
        accounts, instruments, trade_sizes, slots, vectors, epochs, epoch, row_start, row_len,
        cols, sizes, collateral, t.instrument_int, t.instrument_float, t.pnl, t.factor_rows,
        t.scenario_count, t.scenario_offset, t.weights, t.underlying_float, t.model_float,
        t.vector_underlying, t.vector_float, t.vector_conversion, t.vector_dampeners,
        out.initial_margin, out.maintenance_margin, out.equity, out.worst_scenario_index,
    )  # fmt: skip


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
)
