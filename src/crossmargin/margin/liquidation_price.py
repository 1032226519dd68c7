"""Account liquidation prices: the index price of one underlying at which equity = MM.

Under any model that margins the whole account (cross, the scenario models), the account, not a
position, is liquidated. Its liquidation price on underlying ``u`` is the index price ``S'`` at
which equity(S') = maintenance margin(S'), every other price fixed: the index and every forward of
``u`` (and collateral held in ``u``) move by the same factor, implied vols are held, and the model
margins the account again at each price it tries. There may be one below and one above the index
(a short straddle has both); each side reports the nearest.

The search walks outward from the index over a fixed ladder of moves (−99 % … +1,000 %), stops at
the first move where equity falls to MM or below, and refines it with Brent's method. The model is
called a few dozen times at most per underlying, so this is for one account, not for a book.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scipy.optimize import brentq

from crossmargin.core.errors import CrossmarginError
from crossmargin.margin.base import MarginModel
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio

__all__ = ["LiquidationPrice", "account_liquidation_prices"]

#: Relative moves tried, nearest first, on each side of the index.
_DOWN_MOVES = (-0.01, -0.02, -0.04, -0.07, -0.1, -0.15, -0.2, -0.3, -0.4, -0.5, -0.6, -0.7)
_DOWN_MOVES_TAIL = (-0.8, -0.9, -0.95, -0.99)
_UP_MOVES = (0.01, 0.02, 0.04, 0.07, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
_UP_MOVES_TAIL = (5.0, 10.0)


@dataclass(frozen=True, slots=True)
class LiquidationPrice:
    """Where one underlying's index would make the account liquidatable.

    Attributes
    ----------
    underlying:
        The asset moved (``"BTC"``).
    index_usd:
        Its index now, USD per coin.
    below_usd, above_usd:
        Nearest index price below / above the current one at which equity = MM, USD per coin;
        ``None`` when none lies within −99 % / +1,000 %. Both equal ``index_usd`` when the
        account is already at or below its maintenance margin.
    """

    underlying: str
    index_usd: float
    below_usd: float | None
    above_usd: float | None

    @property
    def nearest_usd(self) -> float | None:
        """The liquidation price nearer the index (in log price), or ``None``."""
        sides = [p for p in (self.below_usd, self.above_usd) if p is not None]
        if not sides:
            return None
        return min(sides, key=lambda price: abs(price / self.index_usd - 1.0))


def _cushion(
    model: MarginModel, portfolio: Portfolio, market: MarketSnapshot, underlying: str
) -> Callable[[float], float | None]:
    """Equity − MM in USD after moving ``underlying`` by a relative move; ``None`` when the
    model or the market cannot price that move."""

    def cushion(move: float) -> float | None:
        try:
            moved = market.shocked({underlying: move}) if move else market
            result = model.margin(portfolio, moved)
        except CrossmarginError:
            return None
        return float(result.equity - result.maintenance_margin)

    return cushion


def _side(cushion: Callable[[float], float | None], moves: tuple[float, ...]) -> float | None:
    """The move nearest 0 along ``moves`` where the cushion (positive at 0) reaches 0, refined
    by Brent's method between it and the last move still positive."""
    inside = 0.0
    for move in moves:
        value = cushion(move)
        if value is None:
            return None
        if value <= 0.0:

            def scalar(x: float) -> float:
                result = cushion(x)
                return -1.0 if result is None else result

            if value == 0.0:
                return move
            low, high = sorted((inside, move))
            return float(brentq(scalar, low, high, xtol=1e-9, rtol=1e-10))
        inside = move
    return None


def account_liquidation_prices(
    model: MarginModel, portfolio: Portfolio, market: MarketSnapshot
) -> tuple[LiquidationPrice, ...]:
    """The account's liquidation prices under ``model``, one per underlying held.

    Parameters
    ----------
    model:
        A margin model of the whole account (cross or a scenario model; isolated margin has
        per-position prices, :func:`crossmargin.margin.liquidation_prices`).
    portfolio, market:
        The account and the market it is margined at.

    Returns
    -------
    tuple of LiquidationPrice
        One per underlying of the positions, sorted by name; prices in USD per coin.
    """
    prices: list[LiquidationPrice] = []
    for underlying in portfolio.underlyings:
        index = market.index(underlying)
        cushion = _cushion(model, portfolio, market, underlying)
        now = cushion(0.0)
        if now is None or now <= 0.0:
            prices.append(LiquidationPrice(underlying, index, index, index))
            continue
        down = _side(cushion, _DOWN_MOVES + _DOWN_MOVES_TAIL)
        up = _side(cushion, _UP_MOVES + _UP_MOVES_TAIL)
        prices.append(
            LiquidationPrice(
                underlying,
                index,
                None if down is None else index * (1.0 + down),
                None if up is None else index * (1.0 + up),
            )
        )
    return tuple(prices)
