"""What a backtest run says about each model: coverage, cost, procyclicality, stress days.

* **Coverage.** Exceptions are counted on every window. The coverage tests (Kupiec,
  Christoffersen, the traffic light) need independent trials, and windows h days long that start
  every bar overlap, so they run on every (h × bars per day)-th window of the run only.
* **Cost.** Mean initial margin (USD) and margin efficiency, the mean over moments of IM / gross
  notional (0.1 = 10 % of notional).
* **Procyclicality.** :func:`~crossmargin.riskparams.measure_procyclicality` on the margin at
  00:00 UTC each day (largest 1-day and 5-day relative rise, peak / trough); undefined (None) for
  a path that touches zero.
* **Stress days.** The days of the shared data's README. For each, the window overlapping the day
  whose loss came closest to (or furthest past) the margin: the shortfall is max(0, loss − IM).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
from numpy.typing import NDArray

from crossmargin.backtest.run import BacktestRun, BookPath
from crossmargin.backtest.statistics import (
    LikelihoodRatioTest,
    TrafficLight,
    christoffersen_independence,
    conditional_coverage,
    kupiec_pof,
    traffic_light,
    transition_counts,
)
from crossmargin.core.errors import InputError
from crossmargin.riskparams import ProcyclicalityMeasures, measure_procyclicality

__all__ = [
    "STRESS_DAYS",
    "ModelSummary",
    "StressOutcome",
    "stress_outcomes",
    "summarise",
]

#: Stress days of shared/data/README.md (Binance daily, BTC close-to-close −39.5 %, −14.4 %,
#: −15.4 %, −14.2 %).
STRESS_DAYS: tuple[date, ...] = (
    date(2020, 3, 12),
    date(2021, 5, 19),
    date(2022, 6, 13),
    date(2022, 11, 9),
)


@dataclass(frozen=True, slots=True)
class ModelSummary:
    """One model on one book over the run.

    Attributes
    ----------
    portfolio, model:
        Names.
    windows, exceptions:
        Windows with a margin and a realised P&L, and those whose loss exceeded the margin.
    tested_windows, tested_exceptions:
        The non-overlapping subset the coverage tests use.
    kupiec, independence, conditional:
        :func:`kupiec_pof`, :func:`christoffersen_independence`, :func:`conditional_coverage` on
        the tested windows (None when there are none).
    light:
        :func:`traffic_light` on the tested windows (None when there are none).
    mean_margin_usd:
        Mean initial margin, USD.
    efficiency:
        Mean IM / gross notional (dimensionless; NaN without notional).
    procyclicality:
        Measures of the daily margin path, None when it is empty or touches zero.
    worst_shortfall_usd:
        Largest loss beyond the margin over all windows, USD (0 when none).
    failed_moments:
        Moments the model could not margin.
    """

    portfolio: str
    model: str
    windows: int
    exceptions: int
    tested_windows: int
    tested_exceptions: int
    kupiec: LikelihoodRatioTest | None
    independence: LikelihoodRatioTest | None
    conditional: LikelihoodRatioTest | None
    light: TrafficLight | None
    mean_margin_usd: float
    efficiency: float
    procyclicality: ProcyclicalityMeasures | None
    worst_shortfall_usd: float
    failed_moments: int

    @property
    def exception_rate(self) -> float:
        """exceptions / windows (NaN without windows)."""
        return self.exceptions / self.windows if self.windows else float("nan")


@dataclass(frozen=True, slots=True)
class StressOutcome:
    """A model on a book across one stress day.

    Attributes
    ----------
    day, portfolio, model:
        What was looked at.
    window_start:
        Start of the window (overlapping ``day``) with the largest loss − margin; None when no
        window overlapping the day has both numbers.
    margin_usd, loss_usd:
        Initial margin at that window's start and the loss over it (USD; loss = −P&L, positive is
        a loss).
    shortfall_usd:
        max(0, loss − margin), USD: what the venue would have lost.
    """

    day: date
    portfolio: str
    model: str
    window_start: datetime | None
    margin_usd: float
    loss_usd: float
    shortfall_usd: float

    @property
    def lost_money(self) -> bool:
        """Whether the loss exceeded the margin."""
        return self.shortfall_usd > 0.0


def _tested(run: BacktestRun, book: BookPath, valid: NDArray[np.bool_]) -> NDArray[np.int64]:
    step = run.horizon_days * run.path.bars.per_day
    rows: NDArray[np.int64] = np.flatnonzero(valid).astype(np.int64)
    if rows.size == 0:
        return rows
    offsets = book.moments[rows] - book.moments[rows[0]]
    tested: NDArray[np.int64] = rows[offsets % step == 0]
    return tested


def _daily_margin(run: BacktestRun, book: BookPath, model: str) -> NDArray[np.float64]:
    moments = run.path.moments[book.moments]
    midnight = moments == moments.astype("datetime64[D]").astype(moments.dtype)
    margin = book.initial_margin_usd[model][midnight]
    return np.asarray(margin[np.isfinite(margin)], dtype=np.float64)


def _summary(run: BacktestRun, book: BookPath, model: str, coverage: float) -> ModelSummary:
    valid = book.valid(model)
    exceptions = book.exceptions(model)
    margin = book.initial_margin_usd[model]
    tested = _tested(run, book, valid)
    kupiec = independence = conditional = None
    light = None
    if tested.size:
        failures = exceptions[tested]
        n = int(tested.size)
        k = int(failures.sum())
        kupiec = kupiec_pof(n, k, coverage)
        light = traffic_light(n, k, coverage)
        if n >= 2:
            counts = transition_counts(failures)
            independence = christoffersen_independence(*counts)
            conditional = conditional_coverage(n, k, coverage, *counts)
    finite = np.isfinite(margin)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = margin / book.gross_notional_usd
    ratio = ratio[finite & (book.gross_notional_usd > 0)]
    daily = _daily_margin(run, book, model)
    procyclicality = (
        measure_procyclicality(daily) if daily.size and bool(np.all(daily > 0)) else None
    )
    shortfall = np.where(valid, -book.pnl_usd - margin, 0.0)
    return ModelSummary(
        portfolio=book.name,
        model=model,
        windows=int(valid.sum()),
        exceptions=int(exceptions.sum()),
        tested_windows=int(tested.size),
        tested_exceptions=int(exceptions[tested].sum()),
        kupiec=kupiec,
        independence=independence,
        conditional=conditional,
        light=light,
        mean_margin_usd=float(margin[finite].mean()) if finite.any() else float("nan"),
        efficiency=float(ratio.mean()) if ratio.size else float("nan"),
        procyclicality=procyclicality,
        worst_shortfall_usd=float(max(0.0, float(np.max(shortfall, initial=0.0)))),
        failed_moments=int(book.failures.get(model, 0)),
    )


def summarise(run: BacktestRun, coverage: float = 0.99) -> tuple[ModelSummary, ...]:
    """One :class:`ModelSummary` per (book, model), books then models in run order.

    ``coverage`` is the confidence level the coverage tests hold the margin to (0.99: a correct
    model's loss exceeds it on 1 % of windows).
    """
    if not 0.0 < coverage < 1.0:
        raise InputError("coverage", coverage, "must be strictly between 0 and 1")
    return tuple(_summary(run, book, model, coverage) for book in run.books for model in run.models)


def _overlapping(run: BacktestRun, book: BookPath, day: date) -> NDArray[np.int64]:
    starts = run.path.moments[book.moments]
    day_start = np.datetime64(day, "D").astype(starts.dtype)
    day_end = day_start + np.timedelta64(1, "D")
    ends = starts + np.timedelta64(run.horizon_days, "D")
    return np.flatnonzero((starts < day_end) & (ends > day_start)).astype(np.int64)


def stress_outcomes(
    run: BacktestRun, days: tuple[date, ...] = STRESS_DAYS
) -> tuple[StressOutcome, ...]:
    """For each day of ``days`` (in the run's window), book and model: the overlapping window with
    the largest loss − margin (module docstring); days, then books, then models."""
    outcomes: list[StressOutcome] = []
    for day in days:
        for book in run.books:
            rows = _overlapping(run, book, day)
            if rows.size == 0:
                continue
            for model in run.models:
                usable = rows[book.valid(model)[rows]]
                if usable.size == 0:
                    outcomes.append(
                        StressOutcome(day, book.name, model, None, np.nan, np.nan, np.nan)
                    )
                    continue
                losses = -book.pnl_usd[usable]
                margins = book.initial_margin_usd[model][usable]
                worst = int(np.argmax(losses - margins))
                start = run.path.moment(int(book.moments[usable[worst]]))
                loss = float(losses[worst])
                margin = float(margins[worst])
                outcomes.append(
                    StressOutcome(
                        day, book.name, model, start, margin, loss, max(0.0, loss - margin)
                    )
                )
    return tuple(outcomes)
