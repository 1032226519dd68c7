"""Pieces every model shares: the account's valuation, coin balances as positions in the
scenarios, and the result assembly."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from crossmargin.collateral import HaircutSchedule
from crossmargin.instruments import parse_instrument
from crossmargin.margin.result import MarginResult, PositionMargin, ScenarioPnl, round_components
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio, PortfolioValuation, Position, value_portfolio

__all__ = [
    "STABLE_CURRENCIES",
    "AccountView",
    "assemble_requirement",
    "assemble_result",
    "risk_portfolio",
    "risk_view",
    "view_account",
]

#: Currencies whose USD price is 1 in every scenario: a balance of them is not a position.
STABLE_CURRENCIES = frozenset({"USD", "USDC", "USDT"})


@dataclass(frozen=True, slots=True)
class AccountView:
    """An account valued once, shared by every model that margins it."""

    portfolio: Portfolio
    market: MarketSnapshot
    valuation: PortfolioValuation
    sizes: NDArray[np.float64]


def view_account(
    portfolio: Portfolio, market: MarketSnapshot, haircuts: HaircutSchedule
) -> AccountView:
    """Value ``portfolio`` at ``market`` once for a model to use."""
    valuation = value_portfolio(portfolio, market, haircuts)
    sizes = np.array([p.size for p in portfolio.positions], dtype=np.float64)
    return AccountView(portfolio, market, valuation, sizes)


def risk_portfolio(portfolio: Portfolio) -> Portfolio:
    """``portfolio`` with every coin balance (not a stablecoin) added as a spot position
    ``<COIN>_USDC`` of the same size, entered at the mark, for a scenario model to revalue:
    a balance of 10 BTC moves with BTC exactly as 10 BTC of spot does. The positions keep their
    order (a spot position of the same coin grows by the balance) and the new ones follow, so
    the first ``len(portfolio.positions)`` rows still belong to the account's positions; the
    collateral is unchanged, and the account's equity must still come from ``portfolio``."""
    sizes = {p.instrument.name: p.size for p in portfolio.positions}
    extra: list[Position] = []
    for currency, amount in sorted(portfolio.collateral.items()):
        if currency in STABLE_CURRENCIES or amount == 0:
            continue
        name = f"{currency}_USDC"
        if name in sizes:
            sizes[name] += float(amount)
        else:
            extra.append(Position(parse_instrument(name), float(amount)))
    positions = tuple(
        Position(p.instrument, sizes[p.instrument.name], p.average_price)
        for p in portfolio.positions
    )
    return Portfolio(positions + tuple(extra), portfolio.collateral)


def risk_view(view: AccountView, haircuts: HaircutSchedule) -> AccountView:
    """The account as a scenario model sees it: its coin balances as spot positions after its
    own (:func:`risk_portfolio`), valued with ``haircuts``; ``view`` itself when it holds no
    coin balance."""
    portfolio = view.portfolio
    if all(c in STABLE_CURRENCIES or a == 0 for c, a in portfolio.collateral.items()):
        return view
    return view_account(risk_portfolio(portfolio), view.market, haircuts)


def assemble_result(
    model: str,
    view: AccountView,
    components_usd: Mapping[str, float],
    maintenance_components_usd: Mapping[str, float],
    contributions_usd: Sequence[float] | NDArray[np.float64],
    parameters_version: str,
    scenarios: Sequence[ScenarioPnl] = (),
    worst_scenario: ScenarioPnl | None = None,
    notes: Sequence[str] = (),
) -> MarginResult:
    """Round the float components up into a :class:`MarginResult` whose components add up.

    ``contributions_usd`` holds one number per position (its share of the initial margin, USD).
    """
    positions = tuple(
        PositionMargin(
            instrument=row.instrument,
            size=row.size,
            mark_value_usd=row.mark_value_usd,
            delta_coin=row.delta_coin,
            delta_usd=row.delta_usd,
            gamma_coin_per_usd=row.gamma_coin_per_usd,
            vega_usd_per_vol=row.vega_usd_per_vol,
            theta_usd_per_year=row.theta_usd_per_year,
            contribution_usd=float(contributions_usd[i]),
        )
        for i, row in enumerate(view.valuation.positions)
    )
    requirement = assemble_requirement(
        model, view, components_usd, maintenance_components_usd, parameters_version
    )
    return replace(
        requirement,
        positions=positions,
        worst_scenario=worst_scenario,
        scenarios=tuple(scenarios),
        scenario_pnl=np.array([s.pnl_usd for s in scenarios], dtype=np.float64),
        notes=tuple(notes),
    )


def assemble_requirement(
    model: str,
    view: AccountView,
    components_usd: Mapping[str, float],
    maintenance_components_usd: Mapping[str, float],
    parameters_version: str,
) -> MarginResult:
    """The :class:`MarginResult` of :func:`assemble_result` without the explanation: the same
    rounded components, initial and maintenance margin, equity and collateral value (USD), no
    positions, scenarios or notes — what a margin check reads."""
    components = round_components(components_usd)
    maintenance = round_components(maintenance_components_usd)
    return MarginResult(
        model=model,
        initial_margin=sum(components.values(), Decimal("0.000000")),
        maintenance_margin=sum(maintenance.values(), Decimal("0.000000")),
        equity=view.valuation.equity_usd,
        collateral_value=view.valuation.collateral.value_usd,
        components=components,
        maintenance_components=maintenance,
        parameters_version=parameters_version,
    )
