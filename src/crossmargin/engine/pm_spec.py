"""The book engine's spec of Deribit-style portfolio margin (``pm``).

Blocks come from :func:`~crossmargin.margin.pm.model.deribit_scenario_set` and
:func:`~crossmargin.scenarios.scenario_pnl_matrix`, as the single-account model builds them; the
vol shocks scale from each expiry's at-the-money vol, so those are the block's reference vols. The
kernel reads the contingency parameters per underlying and the MM factor and correlation offset.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from crossmargin.engine.columns import (
    M_MM_FACTOR,
    M_OFFSET,
    U_BASIS_RATE,
    U_INCREMENT,
    U_MAX_SHOCK,
    U_SHORT_PER_COIN,
    U_THRESHOLD,
)
from crossmargin.engine.kernels_pm import pm_kernel
from crossmargin.engine.layout import InstrumentLayout, netting_order_key
from crossmargin.engine.margin_arrays import MarginArrays
from crossmargin.engine.model_spec import ModelSpec, Rows, State
from crossmargin.engine.reference import pm_reference
from crossmargin.engine.tables import KernelTables, ModelColumns, UnderlyingBlock
from crossmargin.margin.pm.model import deribit_scenario_set
from crossmargin.margin.pm.parameters import PortfolioMarginParameters, load_pm_parameters
from crossmargin.market import MarketSnapshot
from crossmargin.pricing import InstrumentArrays, unit_greeks_usd, unit_values_usd
from crossmargin.scenarios import expiry_reference_vols, scenario_pnl_matrix

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
    """The block of underlying ``u``: the Deribit grid, extended table and rate shocks, and the
    USD P&L of +1 native unit of each instrument in each scenario."""
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
    )


def pm_columns(
    layout: InstrumentLayout, parameters: PortfolioMarginParameters, index_usd: FloatArray
) -> ModelColumns:
    """Contingency parameters per underlying, MM factor and correlation offset."""
    columns = ModelColumns.empty(len(layout.underlyings))
    underlying_float = columns.underlying_float
    for u, name in enumerate(layout.underlyings):
        p = parameters.for_underlying(name)
        underlying_float[u, U_THRESHOLD] = p.delta_shock_threshold_usd
        underlying_float[u, U_MAX_SHOCK] = p.max_delta_shock
        underlying_float[u, U_INCREMENT] = p.delta_shock_increment_per_coin
        underlying_float[u, U_SHORT_PER_COIN] = p.short_option_charge_per_coin
        underlying_float[u, U_BASIS_RATE] = p.basis_charge_rate
    columns.model_float[M_MM_FACTOR] = parameters.mm_factor
    columns.model_float[M_OFFSET] = parameters.cross_underlying_offset
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
        t.factor_start, t.scenario_count, t.scenario_offset, t.weights, t.dampeners,
        t.underlying_float, t.model_float, out.initial_margin, out.maintenance_margin,
        out.equity, out.worst_scenario_index,
    )  # fmt: skip


PM_SPEC: ModelSpec[PortfolioMarginParameters] = ModelSpec(
    name="pm",
    parameters_type=PortfolioMarginParameters,
    default_parameters=load_pm_parameters,
    instrument_key=netting_order_key,
    rate_factors=True,
    reference_vols=expiry_reference_vols,
    block=pm_block,
    columns=pm_columns,
    kernel=run_pm_kernel,
    twin=pm_reference,
)
