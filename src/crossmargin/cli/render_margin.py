"""Margin results for people: the verdict first, then why, then what to do.

The JSON form is :func:`crossmargin.margin.margin_result_to_json`. A report opens with the verdict
(health state coloured, equity, IM, MM, excess or shortfall, the ratios), then the requirement by
component and by underlying, the worst scenario with the size of its shocks, the positions by
contribution in trader units, and the liquidation prices.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from rich.console import Console
from rich.table import Table

from crossmargin.cli.model_runs import ModelOutcome
from crossmargin.margin.health import AccountHealth, HealthState
from crossmargin.margin.liquidation_price import LiquidationPrice
from crossmargin.margin.rendering import describe_scenario
from crossmargin.margin.result import MarginResult
from crossmargin.portfolio import Portfolio

__all__ = [
    "STATE_STYLES",
    "health_text",
    "margin_by_underlying",
    "render_liquidation_prices",
    "render_margin_result",
    "render_side_by_side",
    "render_verdict",
]

#: Terminal colour of each health state.
STATE_STYLES = {
    HealthState.HEALTHY: "bold green",
    HealthState.WARNING: "bold yellow",
    HealthState.REDUCE_ONLY: "bold dark_orange",
    HealthState.LIQUIDATABLE: "bold red",
    HealthState.BANKRUPT: "bold white on red",
}


def _money(value: float | Decimal) -> str:
    return f"{float(value):,.2f}"


def health_text(health: AccountHealth) -> str:
    """The state in capitals, in its colour (rich markup)."""
    style = STATE_STYLES[health.state]
    return f"[{style}]{health.state.value.upper()}[/{style}]"


def _ratio(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value:.2%}" if percent else f"{value:,.2f}"


def render_verdict(console: Console, title: str, result: MarginResult) -> None:
    """Two lines that answer "am I safe?": the state and why, then the amounts (USD)."""
    health = result.health
    excess = result.equity - result.initial_margin
    room = f"excess {_money(excess)}" if excess >= 0 else f"[red]shortfall {_money(-excess)}[/red]"
    console.print(
        f"[bold]{title}[/bold] — {result.model}: {health_text(health)} ({health.reason})",
        highlight=False,
    )
    console.print(
        f"  equity {_money(result.equity)} USD · IM {_money(result.initial_margin)} · "
        f"MM {_money(result.maintenance_margin)} · {room} · equity/MM "
        f"{_ratio(health.equity_to_maintenance)} · margin ratio "
        f"{_ratio(health.margin_ratio, percent=True)}",
        highlight=False,
    )


def margin_by_underlying(result: MarginResult, portfolio: Portfolio) -> dict[str, float]:
    """Σ of the positions' contributions to IM per underlying, USD (empty when the result's
    positions are not the portfolio's, in order)."""
    if len(result.positions) != len(portfolio.positions):
        return {}
    totals: dict[str, float] = {}
    for row, position in zip(result.positions, portfolio.positions, strict=True):
        asset = position.instrument.underlying
        totals[asset] = totals.get(asset, 0.0) + row.contribution_usd
    return dict(sorted(totals.items()))


def render_liquidation_prices(
    console: Console, prices: Sequence[LiquidationPrice], model: str
) -> None:
    """One line per underlying: where its index would bring equity down to MM."""
    for price in prices:
        sides = []
        for name, level in (("below", price.below_usd), ("above", price.above_usd)):
            if level is not None:
                sides.append(f"{name} {level:,.2f} ({level / price.index_usd - 1:+.1%})")
        where = " and ".join(sides) if sides else "none within -99% … +1,000%"
        console.print(
            f"liquidation price ({model}, other prices fixed): {price.underlying} "
            f"{where}; index {price.index_usd:,.2f}",
            highlight=False,
        )


def render_margin_result(console: Console, result: MarginResult, portfolio: Portfolio) -> None:
    """Print the why of one result: components, margin by underlying and the worst scenario."""
    components = Table(title="requirement by component (USD)", title_justify="left")
    for header in ("component", "initial", "maintenance"):
        components.add_column(header, justify="left" if header == "component" else "right")
    for name in dict.fromkeys([*result.components, *result.maintenance_components]):
        components.add_row(
            name,
            _money(result.components.get(name, Decimal(0))),
            _money(result.maintenance_components.get(name, Decimal(0))),
        )
    console.print(components)
    by_underlying = margin_by_underlying(result, portfolio)
    if by_underlying:
        console.print(
            "IM by underlying (Σ position contributions): "
            + ", ".join(f"{asset} {_money(amount)}" for asset, amount in by_underlying.items()),
            highlight=False,
        )
    if result.worst_scenario is not None:
        worst = result.worst_scenario
        console.print(
            f"worst scenario: {describe_scenario(worst)} → P&L {_money(worst.pnl_usd)} USD",
            highlight=False,
        )


def _cell(outcome: ModelOutcome, value: str) -> str:
    return value if outcome.result is not None else "[red]failed[/red]"


def render_side_by_side(
    console: Console, title: str, outcomes: Sequence[ModelOutcome], portfolio: Portfolio
) -> None:
    """Every model for one account, one column each: verdict, requirement by underlying and by
    component, worst scenario. A failed model's column says so; its error follows the table."""
    results = [o.result for o in outcomes if o.result is not None]
    equities = {r.equity for r in results}
    if len(equities) == 1:
        console.print(f"[bold]{title}[/bold]: equity {_money(equities.pop())} USD", highlight=False)
    table = Table(title=f"{title}: margin models side by side (USD)", title_justify="left")
    table.add_column("")
    for outcome in outcomes:
        table.add_column(outcome.model, justify="right")

    def row(label: str, cell: Callable[[MarginResult], str]) -> None:
        values = [
            _cell(outcome, "" if outcome.result is None else cell(outcome.result))
            for outcome in outcomes
        ]
        table.add_row(label, *values)

    def from_underlying(asset: str) -> Callable[[MarginResult], str]:
        return lambda r: _money(margin_by_underlying(r, portfolio).get(asset, 0.0))

    def component(name: str) -> Callable[[MarginResult], str]:
        def amount(result: MarginResult) -> str:
            return _money(result.components[name]) if name in result.components else ""

        return amount

    row("health", lambda r: health_text(r.health))
    if len(equities) > 1:
        row("equity", lambda r: _money(r.equity))
    row("initial margin (IM)", lambda r: _money(r.initial_margin))
    row("maintenance (MM)", lambda r: _money(r.maintenance_margin))
    row("excess (equity − IM)", lambda r: _money(r.equity - r.initial_margin))
    row("equity / MM", lambda r: _ratio(r.health.equity_to_maintenance))
    underlyings = sorted({u for r in results for u in margin_by_underlying(r, portfolio)})
    for asset in underlyings:
        row(f"IM from {asset}", from_underlying(asset))
    names = list(dict.fromkeys(name for r in results for name in r.components))
    for name in names:
        row(f"  {name}", component(name))
    row(
        "worst scenario",
        lambda r: describe_scenario(r.worst_scenario) if r.worst_scenario is not None else "",
    )
    console.print(table)
    for outcome in outcomes:
        if outcome.error is not None:
            console.print(f"[red]{outcome.model} failed:[/red] {outcome.error}", highlight=False)
    console.print()
