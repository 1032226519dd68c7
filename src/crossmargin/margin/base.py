"""What every margin model is: something that turns a portfolio and a market into a result."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from crossmargin.margin.result import MarginResult
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio

__all__ = ["MarginModel"]


@runtime_checkable
class MarginModel(Protocol):
    """A margin policy. ``name`` is the CLI/API model name (``"pm"``)."""

    name: str

    def margin(self, portfolio: Portfolio, market: MarketSnapshot) -> MarginResult:
        """Margin ``portfolio`` at ``market``; amounts in USD, IM ≥ MM ≥ 0."""
        ...
