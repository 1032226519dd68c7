"""From positions (or a book-engine account) to the arrays the liquidation engine works on.

:func:`account_risk` revalues +1 unit of each instrument in the liquidation scenarios
(:class:`~crossmargin.liquidation.parameters.ScenarioParameters`) with the project's one pricer
(:func:`crossmargin.pricing.unit_values_usd`) and attaches what execution needs: minimum sizes
(the instrument's ``contract_size``), notional per unit (1 USD of face for inverse futures and
perpetuals, the index otherwise), fill price per unit, book depth and the Deribit fee of its kind.
:func:`account_risk_from_engine` does the same for one account of a
:class:`~crossmargin.engine.BookEngine` (its positions, entry prices, market and collateral), and
:func:`liquidation_queue` lists the accounts a book-wide pass liquidates, in order. The margin
function is :class:`~crossmargin.liquidation.account.ScenarioMargin` over the same scenarios: an
approximation of the venue's model that the planner can evaluate for many candidates at once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.engine import BookEngine
from crossmargin.instruments import Instrument, InstrumentKind
from crossmargin.liquidation.account import AccountRisk, ScenarioMargin, hedge_groups
from crossmargin.liquidation.health import BookHealth, book_health
from crossmargin.liquidation.parameters import LiquidationParameters
from crossmargin.market import MarketSnapshot
from crossmargin.pricing import instrument_arrays, unit_values_usd

__all__ = ["account_risk", "account_risk_from_engine", "liquidation_queue"]

FloatArray = NDArray[np.float64]


def account_risk(
    instruments: Sequence[Instrument],
    size: ArrayLike,
    market: MarketSnapshot,
    collateral_usd: float,
    parameters: LiquidationParameters,
    entry_prices_usd: ArrayLike | None = None,
) -> tuple[AccountRisk, ScenarioMargin]:
    """The account's :class:`AccountRisk` and its scenario margin function.

    Parameters
    ----------
    instruments, size:
        The positions: instruments and native sizes (positive long).
    market:
        The market to value and shock.
    collateral_usd:
        Collateral value after haircuts, USD (equity = collateral + the positions' mark value).
    parameters:
        Liquidation parameters (scenarios, slippage depths, fees, hedge correlation).
    entry_prices_usd:
        Optional entry price per future, perpetual and spot (NaN: the forward at ``market``).
    """
    entries = None if entry_prices_usd is None else np.asarray(entry_prices_usd, np.float64)
    arrays = instrument_arrays(tuple(instruments), market, entries)
    scen = parameters.scenarios
    moves = np.linspace(-scen.price_range, scen.price_range, scen.price_points)
    shifts = (0.0, scen.vol_up_shift, -scen.vol_down_shift)
    marks = unit_values_usd(arrays)
    unit_pnl = np.array([unit_values_usd(arrays, m, v) - marks for m in moves for v in shifts]).T
    option = np.array([i.kind is InstrumentKind.OPTION for i in instruments], dtype=np.bool_)
    spot = np.array([i.kind is InstrumentKind.SPOT for i in instruments], dtype=np.bool_)
    inverse_delta_one = arrays.is_inverse & ~option
    cex, slip = parameters.cex, parameters.slippage
    btc = np.array([i.underlying == "BTC" for i in instruments], dtype=np.bool_)
    fee = np.where(
        option, cex.option_fee_rate, np.where(btc, cex.btc_future_fee_rate, cex.future_fee_rate)
    )
    sizes = np.asarray(size, dtype=np.float64)
    price = np.where(option, marks, np.where(spot, arrays.index_usd, arrays.forward_usd))
    risk = AccountRisk(
        instruments=tuple(i.name for i in instruments),
        size=sizes,
        min_size=np.array([i.contract_size for i in instruments], dtype=np.float64),
        unit_pnl_usd=unit_pnl,
        unit_mark_usd=marks,
        unit_notional_usd=np.where(inverse_delta_one, 1.0, arrays.index_usd),
        depth_usd=np.where(option, slip.option_depth_usd, slip.future_depth_usd),
        fee_rate=fee.astype(np.float64),
        collateral_usd=float(collateral_usd),
        hedge_group=hedge_groups(sizes[:, None] * unit_pnl, parameters.planner.hedge_correlation),
        unit_price_usd=price.astype(np.float64),
    )
    return risk, ScenarioMargin(unit_pnl, scen.maintenance_fraction)


def account_risk_from_engine(
    engine: BookEngine, account: int, parameters: LiquidationParameters
) -> tuple[AccountRisk, ScenarioMargin]:
    """:func:`account_risk` of one account of ``engine`` (its positions, entry prices, market
    and collateral; equity as the engine counts it)."""
    indices, sizes = engine.positions(account)
    instruments = [engine.instruments[i] for i in indices]
    return account_risk(
        instruments,
        sizes,
        engine.market,
        float(engine.collateral_usd[account]),
        parameters,
        engine.entry_prices_usd[indices],
    )


def liquidation_queue(
    engine: BookEngine, parameters: LiquidationParameters
) -> tuple[BookHealth, NDArray[np.int64]]:
    """Margin every account (``engine.margin_all()``) and return their health and the accounts
    to liquidate, most underwater first (ties by index): the deterministic order of a
    book-wide pass after a market move."""
    health = book_health(engine.margin_all(), bands=parameters.health)
    return health, health.liquidation_order
