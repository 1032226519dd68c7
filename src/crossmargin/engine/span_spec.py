"""The book engine's spec of CME SPAN (``span``).

Blocks hold the 16 risk-array scenarios of
:func:`~crossmargin.margin.span.risk_arrays.risk_arrays_usd` as P&L rows (losses negated, the
extreme scenarios' cover fraction applied as a weight), and each contract month's tier; SPAN's
shocks do not depend on reference vols. The kernel reads the short option minimum per underlying,
the calendar spread table, the inter-commodity spreads and the IM / MM ratio.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.errors import InputError
from crossmargin.engine.columns import M_IM_TO_MM, U_SHORT_MINIMUM
from crossmargin.engine.kernels_span import span_kernel
from crossmargin.engine.layout import InstrumentLayout, calendar_order_key
from crossmargin.engine.margin_arrays import MarginArrays
from crossmargin.engine.model_spec import ModelSpec, Rows, State
from crossmargin.engine.reference import span_reference
from crossmargin.engine.tables import KernelTables, ModelColumns, UnderlyingBlock
from crossmargin.margin.health import margin_ratio
from crossmargin.margin.span.arithmetic import price_fractions, scenario_label, scenario_weights
from crossmargin.margin.span.parameters import (
    CommodityParameters,
    SpanParameters,
    load_span_parameters,
)
from crossmargin.margin.span.risk_arrays import risk_arrays_usd
from crossmargin.market import MarketSnapshot
from crossmargin.pricing import InstrumentArrays, unit_greeks_usd, unit_values_usd

__all__ = ["SPAN_SPEC", "run_span_kernel", "span_block", "span_columns"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def _commodity(parameters: SpanParameters, underlying: str) -> CommodityParameters:
    try:
        return parameters.commodities[underlying]
    except KeyError:
        raise InputError(
            "underlying",
            underlying,
            f"has no SPAN parameters in version {parameters.version!r}; add a "
            f"[commodities.{underlying}] table",
        ) from None


def _no_reference_vols(
    arrays: InstrumentArrays, market: MarketSnapshot, underlying: str
) -> FloatArray:
    """SPAN's vol scan range is a fixed move: no vols to scale from (zeros)."""
    return np.zeros(arrays.kind.shape[0])


def span_block(
    layout: InstrumentLayout,
    u: int,
    market: MarketSnapshot,
    arrays: InstrumentArrays,
    reference: FloatArray,
    parameters: SpanParameters,
) -> UnderlyingBlock:
    """The block of underlying ``u``: its 16 SPAN scenarios as USD P&L of +1 native unit
    (scenarios 15–16 counted at the cover fraction through their weight) and the tier of each
    contract month."""
    underlying = layout.underlyings[u]
    commodity = _commodity(parameters, underlying)
    multiple = parameters.extreme_move_multiple
    losses = risk_arrays_usd(
        arrays,
        commodity.price_scan_range,
        commodity.vol_scan_range,
        multiple,
        1.0,
        parameters.look_ahead_days,
    )
    count = losses.shape[1]
    tiers = np.ones(int(layout.month_count[u]), dtype=np.int64)
    for position, i in enumerate(layout.columns[u]):
        tiers[layout.month_id[i]] = commodity.tier_of(float(arrays.t_years[position]) * 365.0)
    cover = parameters.extreme_cover_fraction
    return UnderlyingBlock(
        underlying=underlying,
        arrays=arrays,
        reference_vols=reference,
        pnl_usd=np.ascontiguousarray(-losses.T),
        price_moves=price_fractions(multiple) * commodity.price_scan_range,
        rate_shifts=np.zeros(count),
        weights=scenario_weights(cover),
        dampeners_usd=np.zeros(count),
        labels=tuple(
            f"{underlying} scenario {n}: {scenario_label(n, multiple, cover)}"
            for n in range(1, count + 1)
        ),
        unit_values_usd=unit_values_usd(arrays),
        unit_delta_coin=unit_greeks_usd(arrays)["delta"],
        month_tiers=tiers,
    )


def span_columns(
    layout: InstrumentLayout,
    parameters: SpanParameters,
    index_usd: FloatArray,
    blocks: Sequence[UnderlyingBlock] = (),
    width: int = 8,
) -> ModelColumns:
    """(``blocks`` and ``width`` are not read: SPAN has no risk vectors.) Short option minimum
    per underlying (USD per coin of short options), calendar spreads,
    inter-commodity spreads and the IM / MM ratio."""
    units = len(layout.underlyings)
    columns = ModelColumns.empty(units)
    columns.model_float[M_IM_TO_MM] = parameters.initial_to_maintenance_ratio
    commodities = [_commodity(parameters, name) for name in layout.underlyings]
    rows = max([len(c.intra_spreads) for c in commodities] + [1])
    intra = np.zeros((units, rows, 3))
    for u, commodity in enumerate(commodities):
        columns.underlying_float[u, U_SHORT_MINIMUM] = (
            commodity.short_option_minimum_rate * index_usd[u]
        )
        columns.intra_count[u] = len(commodity.intra_spreads)
        for r, row in enumerate(commodity.intra_spreads):
            intra[u, r] = (row.tier_a, row.tier_b, row.rate)
    inter_rate, inter_legs, inter_leg_count = _inter_spreads(layout, parameters)
    return dataclasses.replace(
        columns,
        intra_spreads=intra,
        inter_rate=inter_rate,
        inter_legs=inter_legs,
        inter_leg_count=inter_leg_count,
    )


def _inter_spreads(
    layout: InstrumentLayout, parameters: SpanParameters
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Inter-commodity spreads as (rate, legs (n, L, 3) = [underlying id or -1, delta ratio,
    side ±1], leg count)."""
    spreads = parameters.inter_spreads
    legs = max([len(s.legs) for s in spreads] + [1])
    rate = np.array([s.credit_rate for s in spreads], dtype=np.float64)
    table = np.zeros((len(spreads), legs, 3))
    leg_count = np.array([len(s.legs) for s in spreads], dtype=np.int64)
    position = {name: u for u, name in enumerate(layout.underlyings)}
    for s, spread in enumerate(spreads):
        names = [leg.underlying for leg in spread.legs]
        if len(set(names)) != len(names):
            raise InputError(
                f"parameters.inter_spreads[{s}].legs", names, "repeat an underlying (unsupported)"
            )
        for slot, leg in enumerate(spread.legs):
            side = 1.0 if leg.side == "A" else -1.0
            table[s, slot] = (position.get(leg.underlying, -1), leg.delta_ratio, side)
    return rate, table, leg_count


def run_span_kernel(
    tables: KernelTables,
    accounts: IntArray,
    instruments: IntArray,
    trade_sizes: FloatArray,
    rows: Rows,
    collateral: FloatArray,
    out: MarginArrays,
    state: State,
) -> None:
    """:func:`~crossmargin.engine.kernels_span.span_kernel` on ``tables`` (see
    :class:`~crossmargin.engine.model_spec.KernelRun`)."""
    t = tables
    row_start, row_len, cols, sizes = rows
    slots, vectors, epochs, epoch = state
    span_kernel(
        accounts, instruments, trade_sizes, slots, vectors, epochs, epoch, row_start, row_len,
        cols, sizes, collateral, t.instrument_int, t.instrument_float, t.pnl, t.factor_rows,
        t.factor_start, t.scenario_count, t.scenario_offset, t.weights, t.dampeners,
        t.underlying_float, t.model_float, t.month_tier, t.intra_spreads, t.intra_count,
        t.inter_rate, t.inter_legs, t.inter_leg_count, out.initial_margin,
        out.maintenance_margin, out.equity, out.worst_scenario_index,
    )  # fmt: skip
    out.margin_ratio[:] = margin_ratio(out.maintenance_margin, out.equity)


SPAN_SPEC: ModelSpec[SpanParameters] = ModelSpec(
    name="span",
    parameters_type=SpanParameters,
    default_parameters=load_span_parameters,
    instrument_key=calendar_order_key,
    rate_factors=False,
    reference_vols=_no_reference_vols,
    block=span_block,
    columns=span_columns,
    kernel=run_span_kernel,
    twin=span_reference,
)
