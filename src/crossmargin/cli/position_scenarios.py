"""Each position's P&L in each scenario a scenario model reports (``margin --json``).

The scenario models (``pm``, ``span``, ``var``) report one portfolio P&L per scenario; this module
asks the model for the per-position numbers behind it, in the order of ``result.scenarios``:

- ``pm``: the full revaluation of each position under its pair's scenarios (raw P&L, before the
  pair's gain offset); a position of another pair is 0 in that pair's scenarios;
- ``span``: minus each position's loss in its commodity's 16 scenarios (15–16 already at the
  cover fraction, as SPAN counts them); 0 in other commodities' scenarios;
- ``var``: each position's P&L in every filtered and stress historical scenario.

Coin balances that enter the scenarios and the models' counting rules (offsets, dampeners) are
not positions, so a scenario's rows need not add up to its ``pnl_usd``. Other models return
``None``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from crossmargin.margin.base import MarginModel
from crossmargin.margin.common import view_account
from crossmargin.margin.pm import PortfolioMargin
from crossmargin.margin.result import MarginResult
from crossmargin.margin.span import SpanMargin
from crossmargin.margin.var import VarMargin
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio

__all__ = ["position_scenario_pnl"]

FloatArray = NDArray[np.float64]


def _pm(model: PortfolioMargin, portfolio: Portfolio, market: MarketSnapshot) -> FloatArray:
    view = view_account(portfolio, market, model.haircuts)
    risk = model.risk(view)
    blocks = [risk.matrices[pair] * view.sizes for pair in risk.sets]
    return np.vstack(blocks).T if blocks else np.zeros((len(portfolio.positions), 0))


def _span(model: SpanMargin, portfolio: Portfolio, market: MarketSnapshot) -> FloatArray:
    view = view_account(portfolio, market, model.haircuts)
    risk_view = model.risk_view(view)
    breakdown, losses = model.breakdown(risk_view)
    count = len(portfolio.positions)
    underlying = risk_view.valuation.arrays.underlying[:count]
    blocks = [
        np.where((underlying == commodity.name)[:, None], -losses[:count], 0.0)
        for commodity in breakdown.commodities
    ]
    return np.hstack(blocks) if blocks else np.zeros((count, 0))


def _var(model: VarMargin, portfolio: Portfolio, market: MarketSnapshot) -> FloatArray:
    count = len(portfolio.positions)
    _view, analysis = model.analyse(portfolio, market)
    if analysis is None:
        return np.zeros((count, 0))
    matrix = np.vstack([analysis.filtered_pnl_usd, analysis.stress_pnl_usd])
    return np.asarray(matrix[:, :count].T, dtype=np.float64)


def position_scenario_pnl(
    model: MarginModel, portfolio: Portfolio, market: MarketSnapshot, result: MarginResult
) -> FloatArray | None:
    """Each position's P&L in each scenario of ``result``, USD (positive is a profit).

    Returns
    -------
    (n_positions, n_scenarios) float64 array, rows in the portfolio's order and columns in the
    order of ``result.scenarios``; ``None`` for a model without scenarios or whose per-position
    numbers this module does not know (``derive-pmrm``), or when they do not line up with
    ``result.scenarios``.
    """
    if not result.scenarios:
        return None
    matrix: FloatArray | None = None
    if isinstance(model, PortfolioMargin):
        matrix = _pm(model, portfolio, market)
    elif isinstance(model, SpanMargin):
        matrix = _span(model, portfolio, market)
    elif isinstance(model, VarMargin):
        matrix = _var(model, portfolio, market)
    if matrix is None or matrix.shape != (len(portfolio.positions), len(result.scenarios)):
        return None
    return matrix
