"""What every margin model is: something that turns a portfolio and a market into a result."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from crossmargin.margin.result import MarginResult
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio

__all__ = ["MarginModel", "RequirementModel"]


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
