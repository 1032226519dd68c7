"""Margin-model backtests on real history and their statistical tests (issue 16).

* :func:`kupiec_pof`, :func:`christoffersen_independence`, :func:`conditional_coverage`,
  :func:`traffic_light` — coverage statistics (Kupiec 1995, Christoffersen 1998, BCBS 1996);
* :func:`daily_market_path`, :func:`load_four_hour_market_path` — the market through history;
* :func:`restrike_portfolio` — a book carried to a historical moment;
* :func:`run_backtest`, :func:`summarise`, :func:`stress_outcomes` — the walk and its measures;
* :func:`write_report` — CSV tables, PNG plots and ``index.html``.
"""

from crossmargin.backtest.market_path import (
    BarLength,
    MarketPath,
    daily_market_path,
    four_hour_market_path,
    load_four_hour_market_path,
)
from crossmargin.backtest.measures import (
    STRESS_DAYS,
    ModelSummary,
    StressOutcome,
    stress_outcomes,
    summarise,
)
from crossmargin.backtest.report import write_report
from crossmargin.backtest.restrike import reference_carry, restrike_portfolio, with_carry
from crossmargin.backtest.run import (
    BacktestBook,
    BacktestRun,
    BookPath,
    gross_notional_usd,
    run_backtest,
)
from crossmargin.backtest.statistics import (
    BASEL_PLUS_FACTORS,
    LikelihoodRatioTest,
    TrafficLight,
    TrafficLightZone,
    christoffersen_independence,
    conditional_coverage,
    kupiec_nonrejection_region,
    kupiec_pof,
    traffic_light,
    transition_counts,
)

__all__ = [
    "BASEL_PLUS_FACTORS",
    "STRESS_DAYS",
    "BacktestBook",
    "BacktestRun",
    "BarLength",
    "BookPath",
    "LikelihoodRatioTest",
    "MarketPath",
    "ModelSummary",
    "StressOutcome",
    "TrafficLight",
    "TrafficLightZone",
    "christoffersen_independence",
    "conditional_coverage",
    "daily_market_path",
    "four_hour_market_path",
    "gross_notional_usd",
    "kupiec_nonrejection_region",
    "kupiec_pof",
    "load_four_hour_market_path",
    "reference_carry",
    "restrike_portfolio",
    "run_backtest",
    "stress_outcomes",
    "summarise",
    "traffic_light",
    "transition_counts",
    "with_carry",
    "write_report",
]
