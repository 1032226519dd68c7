"""What the account page shows, computed from the ledger and the library (blocking: a thread).

Everything here is plain data for the templates (which escape every value): balances, positions
with Greeks (:func:`~crossmargin.portfolio.value_portfolio`), the margin of every model the
service offers side by side with its components and worst scenario, and a price × vol grid of the
account's scenario P&L.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from crossmargin.collateral import HaircutSchedule, default_haircuts
from crossmargin.core.errors import CrossmarginError
from crossmargin.ledger.risk import holdings_portfolio
from crossmargin.portfolio import value_portfolio
from crossmargin.pricing import instrument_arrays, unit_values_usd
from crossmargin.service.context import ServiceContext

__all__ = ["GRID_PRICE_MOVES", "GRID_VOL_SHIFTS", "account_page_data", "scenario_grid"]

#: Heat map rows: relative move of every underlying's index (−0.3 = down 30 %).
GRID_PRICE_MOVES = (-0.3, -0.2, -0.1, -0.05, 0.0, 0.05, 0.1, 0.2, 0.3)
#: Heat map columns: additive vol shift (0.1 = +10 vol points).
GRID_VOL_SHIFTS = (-0.2, -0.1, 0.0, 0.1, 0.2)


def scenario_grid(context: ServiceContext, account_id: int) -> list[list[float]]:
    """Scenario P&L of the account's positions, USD (positive = profit), one row per
    :data:`GRID_PRICE_MOVES`, one column per :data:`GRID_VOL_SHIFTS`, at the current market
    (every underlying moves together; collateral balances held fixed)."""
    portfolio = context.ledger.portfolio(account_id)
    if not portfolio.positions:
        return [[0.0 for _ in GRID_VOL_SHIFTS] for _ in GRID_PRICE_MOVES]
    market = context.market.current()
    arrays = instrument_arrays(
        portfolio.instruments, market, [p.average_price for p in portfolio.positions]
    )
    sizes = np.array([p.size for p in portfolio.positions])
    now = float(np.dot(unit_values_usd(arrays), sizes))
    return [
        [
            float(np.dot(unit_values_usd(arrays, move, shift), sizes)) - now
            for shift in GRID_VOL_SHIFTS
        ]
        for move in GRID_PRICE_MOVES
    ]


def _margins(context: ServiceContext, account_id: int) -> list[dict[str, Any]]:
    portfolio = context.ledger.portfolio(account_id)
    market = context.market.current()
    rows: list[dict[str, Any]] = []
    for name, model in context.models.items():
        try:
            result = model.margin(portfolio, market)
        except CrossmarginError as error:
            rows.append({"model": name, "error": str(error)})
            continue
        worst = result.worst_scenario
        row: dict[str, Any] = {
            "model": name,
            "initial_margin": float(result.initial_margin),
            "maintenance_margin": float(result.maintenance_margin),
            "equity": float(result.equity),
            "components": {k: float(v) for k, v in result.components.items()},
            "worst": None if worst is None else {"label": worst.label, "pnl": worst.pnl_usd},
        }
        rows.append(row)
    return rows


def account_page_data(context: ServiceContext, account_id: int) -> dict[str, Any]:
    """Everything the account page shows (see the module docstring)."""
    holdings = context.ledger.holdings(account_id)
    record = context.ledger.account(account_id)
    portfolio = holdings_portfolio(holdings)
    valuation = value_portfolio(portfolio, context.market.current(), default_haircuts_of(context))
    positions = [
        {
            "instrument": row.instrument,
            "size": row.size,
            "mark_value_usd": row.mark_value_usd,
            "delta_coin": row.delta_coin,
            "gamma_coin_per_usd": row.gamma_coin_per_usd,
            "vega_usd_per_vol": row.vega_usd_per_vol,
            "theta_usd_per_day": row.theta_usd_per_year / 365.0,
        }
        for row in valuation.positions
    ]
    return {
        "account_id": account_id,
        "name": record.name,
        "balances": {c: str(a) for c, a in sorted(holdings.balances.items())},
        "equity_usd": float(valuation.equity_usd),
        "positions": positions,
        "margins": _margins(context, account_id),
        "grid": scenario_grid(context, account_id),
        "price_moves": GRID_PRICE_MOVES,
        "vol_shifts": GRID_VOL_SHIFTS,
    }


def default_haircuts_of(context: ServiceContext) -> HaircutSchedule:
    """The haircut schedule the enforced model values collateral with (the shipped one when
    the model keeps none)."""
    found = getattr(context.model(context.risk_model), "haircuts", None)
    return found if isinstance(found, HaircutSchedule) else default_haircuts()
