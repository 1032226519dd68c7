"""The parameter path over real history, and the procyclicality of each APC tool on it.

:func:`parameter_path` runs the driver (DVOL or EWMA vol), the APC tool and the parameter mapping
over a :class:`~crossmargin.market.history.MarketHistory` (the caller loads it; nothing here looks
for files). The margin of a fixed portfolio — a constant USD notional of delta-one exposure, whose
scenario margin is ``price_range × notional`` — measures how procyclical each tool is; a constant
notional keeps the price level out of the comparison, so only the parameter moves.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from numpy.typing import NDArray

from crossmargin.collateral.dynamic import DynamicHaircutParams
from crossmargin.core.checks import check_positive
from crossmargin.core.errors import InputError
from crossmargin.market.history import MarketHistory
from crossmargin.riskparams.parameters import (
    DynamicParameterConfig,
    ParameterArrays,
    RiskParameterSet,
    VolSource,
    parameters_from_vol,
)
from crossmargin.riskparams.procyclicality import (
    APCParams,
    APCTool,
    ProcyclicalityMeasures,
    apply_apc,
    measure_procyclicality,
)
from crossmargin.riskparams.volatility import (
    dvol_to_vol_annual,
    ewma_vol_annual,
    lookback_vol_annual,
)

__all__ = [
    "DEFAULT_NOTIONAL_USD",
    "ParameterPath",
    "ProcyclicalityRow",
    "comparison_tools",
    "parameter_path",
    "procyclicality_table",
]

FloatArray = NDArray[np.float64]

#: The fixed portfolio: USD 1,000,000 of delta-one exposure, re-sized to a constant notional.
DEFAULT_NOTIONAL_USD = 1_000_000.0


@dataclass(frozen=True)
class ParameterPath:
    """Parameters per day for one asset and one APC tool.

    Attributes
    ----------
    asset, apc, version:
        What was computed, with which tool and parameter file version.
    dates:
        ``datetime64[D]`` data days; the parameters of day ``D`` are valid from ``D + 1`` 00:00 UTC.
    close_usd:
        The asset's daily close (USD), NaN where missing.
    raw_vol_annual:
        The driver before the tool; ``long_vol_annual`` the ten-year-lookback realised vol.
    parameters:
        Driver after the tool and the scenario parameters (and haircut) from it.
    margin_usd:
        Margin of the fixed portfolio: ``price_range × notional_usd``.
    """

    asset: str
    apc: APCParams
    version: str
    dates: NDArray[np.datetime64]
    close_usd: FloatArray
    raw_vol_annual: FloatArray
    long_vol_annual: FloatArray
    parameters: ParameterArrays
    margin_usd: FloatArray

    def parameter_set(self, day: date) -> RiskParameterSet:
        """The set computed from ``day``'s data, valid from the next 00:00 UTC."""
        index = int((np.datetime64(day, "D") - self.dates[0]).astype(np.int64))
        if not 0 <= index < self.dates.shape[0]:
            raise InputError("day", day.isoformat(), "outside the parameter path")
        p = self.parameters
        valid = datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)
        return RiskParameterSet(
            asset=self.asset,
            valid_from=valid,
            price_range=float(p.price_range[index]),
            vol_range_up=float(p.vol_range_up[index]),
            vol_range_down=float(p.vol_range_down[index]),
            haircut=None if p.haircut is None else float(p.haircut[index]),
            vol_annual=float(p.vol_annual[index]),
            version=f"{self.version}/{self.apc.label}",
        )


def _driver(history: MarketHistory, asset: str, config: DynamicParameterConfig) -> FloatArray:
    if config.driver.source is VolSource.DVOL:
        if asset not in history.dvol_pct:
            raise InputError("asset", asset, f"no DVOL history (have {sorted(history.dvol_pct)})")
        return dvol_to_vol_annual(history.dvol_pct[asset])
    return ewma_vol_annual(history.closes_usd[asset], config.driver.ewma_decay)


def parameter_path(
    history: MarketHistory,
    asset: str,
    start: date,
    config: DynamicParameterConfig,
    apc: APCParams | None = None,
    notional_usd: float = DEFAULT_NOTIONAL_USD,
    haircut: DynamicHaircutParams | None = None,
) -> ParameterPath:
    """Parameters of ``asset`` for every day from ``start`` to the driver's last day.

    The tool runs over the whole history before ``start`` too (its state — buffer, running stress,
    long vol — builds from the first data), and the path is then cut at ``start``.

    Parameters
    ----------
    history:
        Daily closes and DVOL (:func:`~crossmargin.market.history.load_market_history`).
    asset:
        Underlying with a close history (and DVOL when the driver is DVOL).
    start:
        First data day of the path.
    config:
        Ranges, driver and (unless ``apc`` is given) the APC tool.
    apc:
        Tool to use instead of ``config.apc``.
    notional_usd:
        Notional of the fixed portfolio, USD (> 0).
    haircut:
        The asset's dynamic haircut rule, to include the haircut path.
    """
    if asset not in history.closes_usd:
        raise InputError("asset", asset, f"no price history (have {sorted(history.closes_usd)})")
    check_positive(notional_usd, "notional_usd")
    tool = config.apc if apc is None else apc
    closes = history.closes_usd[asset]
    raw = _driver(history, asset, config)
    long_vol = lookback_vol_annual(closes, tool.lookback_days)
    shaped = apply_apc(raw, tool, long_vol)
    first = history.day_index(start)
    finite = np.flatnonzero(np.isfinite(raw))
    if finite.size == 0 or finite[-1] < first:
        raise InputError("start", start.isoformat(), f"no {config.driver.source} data from then on")
    first = max(first, int(finite[0]))
    last = int(finite[-1]) + 1
    window = slice(first, last)
    parameters = parameters_from_vol(shaped[window], config.ranges, haircut)
    return ParameterPath(
        asset=asset,
        apc=tool,
        version=config.version,
        dates=history.dates[window],
        close_usd=closes[window],
        raw_vol_annual=raw[window],
        long_vol_annual=long_vol[window],
        parameters=parameters,
        margin_usd=parameters.price_range * notional_usd,
    )


def comparison_tools(base: APCParams, max_daily_rise: float = 0.10) -> tuple[APCParams, ...]:
    """The tools the procyclicality table compares, with ``base``'s settings: none, each Art. 28
    option, a daily cap alone, and the buffer with the cap."""

    def tool(kind: APCTool, cap: float | None = None) -> APCParams:
        return APCParams(
            kind, base.buffer, base.rebuild_days, base.stressed_weight, base.lookback_days, cap
        )

    return (
        tool(APCTool.NONE),
        tool(APCTool.BUFFER),
        tool(APCTool.STRESSED_WEIGHT),
        tool(APCTool.TEN_YEAR_FLOOR),
        tool(APCTool.NONE, max_daily_rise),
        tool(APCTool.BUFFER, max_daily_rise),
    )


@dataclass(frozen=True, slots=True)
class ProcyclicalityRow:
    """One tool's line of the procyclicality table."""

    label: str
    slug: str
    measures: ProcyclicalityMeasures
    path: ParameterPath


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", label.lower().replace("%", "pct")).strip("_")


def procyclicality_table(
    history: MarketHistory,
    asset: str,
    start: date,
    config: DynamicParameterConfig,
    tools: Sequence[APCParams],
    notional_usd: float = DEFAULT_NOTIONAL_USD,
    haircut: DynamicHaircutParams | None = None,
) -> tuple[ProcyclicalityRow, ...]:
    """:func:`parameter_path` and :func:`measure_procyclicality` for each tool."""
    rows = []
    for tool in tools:
        path = parameter_path(history, asset, start, config, tool, notional_usd, haircut)
        measures = measure_procyclicality(path.margin_usd)
        rows.append(ProcyclicalityRow(tool.label, _slug(tool.label), measures, path))
    return tuple(rows)
