"""What every margin model is: something that turns a portfolio and a market into a result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from crossmargin.margin.result import MarginResult
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio

__all__ = ["MarginModel", "RequirementModel", "requirement_run"]


@runtime_checkable
class MarginModel(Protocol):
    """A margin policy. ``name`` is the CLI/API model name (``"pm"``)."""

    name: str

    def margin(self, portfolio: Portfolio, market: MarketSnapshot) -> MarginResult:
        """Margin ``portfolio`` at ``market``; amounts in USD, IM ≥ MM ≥ 0."""
        ...


@runtime_checkable
class RequirementModel(MarginModel, Protocol):
    """A margin model that also answers a margin check's question cheaply."""

    def requirement(self, portfolio: Portfolio, market: MarketSnapshot) -> MarginResult:
        """The initial and maintenance margin, components, equity and collateral value of
        :meth:`margin` (USD, equal to the last quantum) without positions, scenarios or notes."""
        ...


def requirement_run(model: MarginModel) -> Callable[[Portfolio, MarketSnapshot], MarginResult]:
    """The cheapest run of ``model`` that gives its IM, MM, components, equity and collateral
    (USD): its ``requirement`` when it offers one (:class:`RequirementModel`), else ``margin``.
    Decided once, for callers that margin many times (a margin check, a backtest)."""
    if isinstance(model, RequirementModel):
        return model.requirement
    return model.margin
