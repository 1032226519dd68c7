"""Historical scenarios for the VaR model: filtered (volatility-scaled) and stress sets.

Per asset on the real daily history of :mod:`crossmargin.market.history` (Hull & White 1998;
Barone-Adesi, Giannopoulos & Vosper 1999):

1. Daily log returns r_t = ln(C_t / C_{t−1}) of the Binance closes.
2. EWMA variance forecasts (RiskMetrics): σ²_t = λ·σ²_{t−1} + (1 − λ)·r²_{t−1}, σ_t being the
   forecast for day t made with returns up to t − 1; σ_now is the forecast for the day after the
   last completed candle before the valuation time.
3. Volatility-scaled returns r*_t = (r_t / σ_t)·σ_now (filtered set) or raw r_t (stress set).
4. Horizon: overlapping h-day sums (no √h scaling), one scenario per end date t, the same dates for
   every asset so the cross-asset dependence is kept. Price move m = exp(Σ r) − 1.
5. Vol moves: each option's implied vol becomes σ' = σ·DVOL_t / DVOL_{t−h} of its underlying's
   Deribit DVOL (or a proxy's); windows before DVOL exists (2021-03-24) leave vols unchanged.

:func:`scenario_shocks` turns a scenario set into the (scenario × instrument) price-move and
vol-shift matrices that :func:`~crossmargin.portfolio.unit_values_usd` revalues.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.errors import InputError
from crossmargin.instruments import KindCode
from crossmargin.margin.var.parameters import VarParameters
from crossmargin.market.history import MarketHistory
from crossmargin.pricing import InstrumentArrays, unit_values_usd

__all__ = [
    "HistoricalScenarios",
    "HistoryWindow",
    "build_scenarios",
    "ewma_variance",
    "history_end_day",
    "horizon_sums",
    "scenario_pnl_by_position",
    "scenario_shocks",
    "seed_variance",
]

FloatArray = NDArray[np.float64]
DateArray = NDArray[np.datetime64]
_MAX_STALE_DAYS = 10


# ---------------------------------------------------------------------------- kernels


def seed_variance(returns: FloatArray, seed_days: int) -> float:
    """Mean squared return of the first ``seed_days`` finite returns (daily variance, ≥ 0)."""
    finite = returns[np.isfinite(returns)][:seed_days]
    if finite.size == 0:
        raise InputError("returns", returns.size, "no finite return to seed the EWMA variance")
    return float(np.mean(finite * finite))


def ewma_variance(returns: FloatArray, decay: float, seed: float) -> FloatArray:
    """RiskMetrics EWMA variance forecasts.

    Parameters
    ----------
    returns:
        Daily log returns r_0 … r_{n−1}; NaN (a missing day) leaves the variance unchanged.
    decay:
        λ in (0, 1).
    seed:
        Forecast variance for r_0.

    Returns
    -------
    Array of n + 1 daily variances: element k is the forecast for r_k made before seeing it
    (v_0 = seed, v_{k+1} = λ·v_k + (1 − λ)·r_k²); the last element is the forecast for the next,
    unseen day.
    """
    variance = np.empty(returns.shape[0] + 1)
    variance[0] = seed
    for k, value in enumerate(returns):
        previous = variance[k]
        variance[k + 1] = previous if np.isnan(value) else decay * previous + (1 - decay) * value**2
    return variance


def horizon_sums(daily: FloatArray, horizon_days: int) -> FloatArray:
    """Overlapping sums of ``horizon_days`` consecutive rows, aligned on the **last** row.

    Row t of the result is daily[t − h + 1] + … + daily[t]; the first h − 1 rows, and any row whose
    window holds a NaN, are NaN. Works on 1-D or 2-D (days × assets) arrays.
    """
    count = daily.shape[0]
    result = np.full(daily.shape, np.nan)
    if count >= horizon_days:
        window = daily[horizon_days - 1 :].copy()
        for lag in range(1, horizon_days):
            window += daily[horizon_days - 1 - lag : count - lag]
        result[horizon_days - 1 :] = window
    return result


class HistoryWindow(StrEnum):
    """Which historical scenario set."""

    FILTERED = "filtered"
    STRESS = "stress"


@dataclass(frozen=True)
class HistoricalScenarios:
    """Joint h-day scenarios for several assets, one row per end date.

    Attributes
    ----------
    kind:
        :class:`HistoryWindow`.
    assets:
        Column order.
    end_dates:
        ``datetime64[D]`` date of the last daily candle of each window (its close is the price at
        the next 00:00 UTC).
    log_returns:
        (n, assets) h-day log returns: volatility-scaled (filtered) or raw (stress).
    vol_ratios:
        (n, assets) DVOL_t / DVOL_{t−h} of each asset's DVOL source (1.0 where there is none).
    dvol_changes:
        (n, assets) DVOL_t − DVOL_{t−h} in annual vol units (0.05 = 5 vol points; 0 where none).
    daily_vol_now:
        (assets,) EWMA daily vol σ_now used for the scaling (NaN for the stress set).
    """

    kind: HistoryWindow
    assets: tuple[str, ...]
    end_dates: DateArray
    log_returns: FloatArray
    vol_ratios: FloatArray
    dvol_changes: FloatArray
    daily_vol_now: FloatArray

    @property
    def count(self) -> int:
        """Number of scenarios."""
        return int(self.end_dates.shape[0])

    @property
    def price_moves(self) -> FloatArray:
        """(n, assets) relative moves m with S' = S·(1 + m)."""
        return np.expm1(self.log_returns)

    def column(self, asset: str) -> int:
        """Column of ``asset``."""
        if asset not in self.assets:
            raise InputError("underlying", asset, f"no history (have {', '.join(self.assets)})")
        return self.assets.index(asset)


def history_end_day(
    history: MarketHistory, assets: Sequence[str], valuation_time: datetime
) -> date:
    """Last day whose candle closed before ``valuation_time`` with a close for every asset.

    A candle dated D closes at D + 1 00:00 UTC, so the candidate is the valuation date − 1 day
    (clamped to the history's last day), stepped back over missing rows. Raises
    :class:`InputError` when no such day exists within 10 days of the candidate.
    """
    candidate = min(valuation_time.date() - timedelta(days=1), history.last_date)
    for _ in range(_MAX_STALE_DAYS + 1):
        if candidate < history.first_date:
            break
        if all(np.isfinite(history.close_usd(asset, candidate)) for asset in assets):
            return candidate
        candidate -= timedelta(days=1)
    raise InputError(
        "valuation_time",
        valuation_time.isoformat(),
        f"no daily close for all of {', '.join(assets)} in the history "
        f"{history.first_date.isoformat()}..{history.last_date.isoformat()} near this date",
    )


def _asset_series(
    history: MarketHistory, asset: str, end: int, parameters: VarParameters
) -> tuple[FloatArray, FloatArray, float]:
    """(standardised residuals z, raw returns r, σ_now) of one asset up to calendar index end."""
    if asset not in history.closes_usd:
        raise InputError(
            "underlying", asset, f"no price history (have {sorted(history.closes_usd)})"
        )
    closes = history.closes_usd[asset][: end + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        returns = np.diff(np.log(closes))
    finite = np.flatnonzero(np.isfinite(returns))
    residuals = np.full(returns.shape, np.nan)
    if finite.size == 0:
        return residuals, returns, float("nan")
    start = int(finite[0])
    tail = returns[start:]
    variance = ewma_variance(
        tail, parameters.ewma_decay, seed_variance(tail, parameters.ewma_seed_days)
    )
    residuals[start:] = tail / np.sqrt(variance[:-1])
    return residuals, returns, float(np.sqrt(variance[-1]))


def _dvol_moves(
    history: MarketHistory, asset: str, end: int, parameters: VarParameters
) -> tuple[FloatArray, FloatArray]:
    """(ratio, additive change) per h-day window, aligned like the returns (index k ↔ day k+1)."""
    source = asset if asset in history.dvol_pct else parameters.dvol_proxy.get(asset)
    count = end
    if source is None or source not in history.dvol_pct:
        return np.ones(count), np.zeros(count)
    levels = history.dvol_pct[source][: end + 1]
    h = parameters.horizon_days
    ratio = np.full(count, np.nan)
    change = np.full(count, np.nan)
    if end >= h:
        ratio[h - 1 :] = levels[h:] / levels[:-h]
        change[h - 1 :] = (levels[h:] - levels[:-h]) / 100.0
    return np.where(np.isfinite(ratio), ratio, 1.0), np.where(np.isfinite(change), change, 0.0)


def build_scenarios(
    history: MarketHistory, assets: Sequence[str], last_day: date, parameters: VarParameters
) -> tuple[HistoricalScenarios, HistoricalScenarios]:
    """The filtered and the stress scenario sets for ``assets``, using history up to ``last_day``.

    Returns
    -------
    (filtered, stress)
        Filtered: volatility-scaled h-day returns for every end date in the ``lookback_days``
        ending at ``last_day`` where every asset has data. Stress: raw h-day returns for the end
        dates inside the stress windows, up to ``last_day``. Dates before an asset's history starts
        take its ``return_proxy``'s residual (filtered) or return (stress); windows over a missing
        day are dropped.
    """
    end = history.day_index(last_day)
    names = tuple(assets)
    wanted = set(names) | {
        parameters.return_proxy[a] for a in names if a in parameters.return_proxy
    }
    series = {a: _asset_series(history, a, end, parameters) for a in sorted(wanted)}
    filtered_daily = np.empty((end, len(names)))
    raw_daily = np.empty((end, len(names)))
    vol_now = np.empty(len(names))
    ratios = np.empty((end, len(names)))
    changes = np.empty((end, len(names)))
    for k, asset in enumerate(names):
        residuals, returns, vol_now[k] = series[asset]
        raw = returns.copy()
        proxy = parameters.return_proxy.get(asset)
        if proxy is not None:
            finite = np.flatnonzero(np.isfinite(returns))
            before = np.arange(end) < (finite[0] if finite.size else end)
            residuals = np.where(before, series[proxy][0], residuals)
            raw = np.where(before, series[proxy][1], raw)
        filtered_daily[:, k] = residuals * vol_now[k]
        raw_daily[:, k] = raw
        ratios[:, k], changes[:, k] = _dvol_moves(history, asset, end, parameters)
    h = parameters.horizon_days
    filtered_sums = horizon_sums(filtered_daily, h)
    raw_sums = horizon_sums(raw_daily, h)
    end_dates = history.dates[1 : end + 1]
    recent = end_dates > np.datetime64(last_day, "D") - np.timedelta64(
        parameters.lookback_days, "D"
    )
    in_stress = np.zeros(end, dtype=bool)
    for window in parameters.stress_windows:
        in_stress |= (end_dates >= np.datetime64(window.start, "D")) & (
            end_dates <= np.datetime64(window.end, "D")
        )

    def take(
        kind: HistoryWindow, sums: FloatArray, mask: NDArray[np.bool_], vol: FloatArray
    ) -> HistoricalScenarios:
        rows = mask & np.all(np.isfinite(sums), axis=1)
        return HistoricalScenarios(
            kind, names, end_dates[rows], sums[rows], ratios[rows], changes[rows], vol
        )

    return (
        take(HistoryWindow.FILTERED, filtered_sums, recent, vol_now),
        take(HistoryWindow.STRESS, raw_sums, in_stress, np.full(len(names), np.nan)),
    )


# ---------------------------------------------------------------------------- revaluation


def scenario_shocks(
    arrays: InstrumentArrays, scenarios: HistoricalScenarios
) -> tuple[FloatArray, FloatArray]:
    """Per-instrument shocks of every scenario.

    Returns
    -------
    (price_move, vol_shift)
        Two (n_scenarios, n_instruments) matrices for :func:`unit_values_usd`: the relative move
        of each instrument's underlying, and the additive vol change σ·(ratio − 1) of each option
        (0 for other instruments).
    """
    columns = np.array([scenarios.column(str(u)) for u in arrays.underlying], dtype=np.int64)
    price_move = scenarios.price_moves[:, columns]
    is_option = arrays.kind == KindCode.OPTION
    vol_shift = np.where(
        is_option, arrays.vol_annual * (scenarios.vol_ratios[:, columns] - 1.0), 0.0
    )
    return price_move, vol_shift


def scenario_pnl_by_position(
    arrays: InstrumentArrays, sizes: FloatArray, price_move: FloatArray, vol_shift: FloatArray
) -> FloatArray:
    """Full-revaluation P&L (USD, + profit) of each position in each scenario, (n, n_positions).

    P&L = size × (unit_values_usd(shocked) − unit_values_usd(base)); ``arrays`` holds one
    instrument per position.
    """
    base = unit_values_usd(arrays)
    shocked = unit_values_usd(arrays, price_move=price_move, vol_shift=vol_shift)
    return np.asarray((shocked - base) * sizes, dtype=np.float64)
