"""The hand-checkable margin source the cascade tests share: BTC_USDC-PERPETUAL accounts at
BTC = :data:`S0`, margined by fixed rates so every number can be derived by hand."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from crossmargin.instruments import parse_instrument
from crossmargin.market import MarketSnapshot
from crossmargin.simulation import AccountMargins, PositionTable

__all__ = ["S0", "LinearMargin", "perps"]

#: BTC index of the cascade tests' markets (USD).
S0 = 50_000.0


def perps(market: MarketSnapshot, sizes: Sequence[float]) -> PositionTable:
    """One BTC_USDC-PERPETUAL position per account: account i holds ``sizes[i]`` BTC."""
    n = len(sizes)
    perpetual = parse_instrument("BTC_USDC-PERPETUAL")
    return PositionTable.build((perpetual,), market, np.arange(n), np.zeros(n, np.int64),
                               np.array(sizes, dtype=np.float64), n)  # fmt: skip


class LinearMargin:
    """BTC_USDC-PERPETUAL only: value = size·S0·m, MM ``mm_rate`` and IM twice that of
    |size|·S0·(1 + m) (USD), all times the account's scale; m is BTC's relative move."""

    def __init__(self, table: PositionTable, mm_rate: float = 0.1) -> None:
        self._table, self.mm_rate = table, mm_rate

    @property
    def name(self) -> str:
        """The source's name in reports."""
        return "linear"

    @property
    def table(self) -> PositionTable:
        """The positions it margins."""
        return self._table

    def margin(self, moves: Mapping[str, float], scale: np.ndarray) -> AccountMargins:
        """IM, MM and value change per account after ``moves``, sizes times ``scale``."""
        m = moves.get("BTC", 0.0)
        size = np.bincount(self._table.account_index, weights=self._table.size,
                           minlength=self._table.account_count) * scale  # fmt: skip
        notional = np.abs(size) * S0 * (1.0 + m)
        return AccountMargins(2 * self.mm_rate * notional, self.mm_rate * notional, size * S0 * m)
