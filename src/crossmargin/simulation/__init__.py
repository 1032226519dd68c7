"""Simulation: synthetic books, liquidation cascades and contagion (issue 16).

* :func:`synthetic_book` — a venue's accounts on the real Deribit 2024-03-11 expiries and strikes;
  :func:`synthetic_market`, :func:`synthetic_instruments` — its market and instruments;
* :func:`run_cascade` — a shock, liquidations selling into reacting depth, round after round
  (:class:`CascadeConfig`, :class:`CascadeResult`); margin sources :class:`EngineMargin` (pm,
  span on the book engine), :class:`StandardMargin` (cross; isolated via
  :func:`isolated_positions`);
* :class:`MarketLiquidity` (square-root law on real volume and volatility, venue share);
  :func:`run_venues` (several venues coupled through one price);
* :class:`VenueParameters` (CEX, on-chain or dYdX-style), :class:`ImpactParameters`,
  :class:`DepthParameters`, :class:`AdlPolicy`;
* contagion: :func:`collateral_mix`, :func:`depeg_moves`, :func:`replay_moves`;
* :class:`Scenario`, :func:`run_scenario`, :func:`run_sweep` (serial or Dask, identical),
  :func:`write_report`.

See ``docs/cascades.md``.
"""

from crossmargin.simulation.adl import AdlAllocation, AdlPolicy, allocate_adl
from crossmargin.simulation.cascade import (
    CascadeConfig,
    CascadeResult,
    CollateralHoldings,
    DynamicMargin,
    run_cascade,
    shock_moves,
)
from crossmargin.simulation.contagion import collateral_mix, depeg_moves, replay_moves
from crossmargin.simulation.depth import DepthParameters
from crossmargin.simulation.impact import ImpactParameters
from crossmargin.simulation.liquidity import LIQUIDITY_2024_03_11, MarketLiquidity
from crossmargin.simulation.margin_sources import (
    AccountMargins,
    EngineMargin,
    MarginSource,
    PositionTable,
    StandardMargin,
    account_exposures,
    isolated_positions,
)
from crossmargin.simulation.multivenue import MultiVenueResult, VenueBook, run_venues
from crossmargin.simulation.report import write_report
from crossmargin.simulation.sweep import Scenario, ScenarioOutcome, run_scenario, run_sweep
from crossmargin.simulation.synthetic import (
    ACCOUNT_KINDS,
    SyntheticBook,
    synthetic_book,
    synthetic_instruments,
    synthetic_market,
)
from crossmargin.simulation.venues import VenueMode, VenueParameters

__all__ = [
    "ACCOUNT_KINDS",
    "LIQUIDITY_2024_03_11",
    "AccountMargins",
    "AdlAllocation",
    "AdlPolicy",
    "CascadeConfig",
    "CascadeResult",
    "CollateralHoldings",
    "DepthParameters",
    "DynamicMargin",
    "EngineMargin",
    "ImpactParameters",
    "MarginSource",
    "MarketLiquidity",
    "MultiVenueResult",
    "PositionTable",
    "Scenario",
    "ScenarioOutcome",
    "StandardMargin",
    "SyntheticBook",
    "VenueBook",
    "VenueMode",
    "VenueParameters",
    "account_exposures",
    "allocate_adl",
    "collateral_mix",
    "depeg_moves",
    "isolated_positions",
    "replay_moves",
    "run_cascade",
    "run_scenario",
    "run_sweep",
    "run_venues",
    "shock_moves",
    "synthetic_book",
    "synthetic_instruments",
    "synthetic_market",
    "write_report",
]
