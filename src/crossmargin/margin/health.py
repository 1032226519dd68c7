"""Account health, written once: the margin ratio and the liquidation predicate.

Both work on one account (``float`` or ledger ``Decimal`` amounts) and on many at once (float64
arrays, one element per account) with the same rule, so :class:`MarginResult`, the book engine
and a pre-trade check cannot disagree about an account.

* **Margin ratio** = maintenance margin / equity, Deribit's convention: 0.5 means half of the
  equity is needed to stay open; above 1.0 the account is liquidatable.
* **Liquidatable** iff maintenance margin > 0 and equity < maintenance margin. Equity exactly at
  the maintenance margin is still safe, and an account with no maintenance margin has nothing to
  liquidate: a negative equity there is bad debt, not a liquidation (dYdX's ``IsLiquidatable``
  says the same).

Only numpy and the standard library are imported: nothing above ``margin``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

__all__ = ["is_liquidatable", "margin_ratio"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@overload
def margin_ratio(maintenance_margin: Decimal, equity: Decimal) -> float: ...
@overload
def margin_ratio(maintenance_margin: float, equity: float) -> float: ...
@overload
def margin_ratio(maintenance_margin: FloatArray, equity: FloatArray) -> FloatArray: ...
def margin_ratio(maintenance_margin: Any, equity: Any) -> float | FloatArray:
    """Maintenance margin / equity of one account or of many.

    Parameters
    ----------
    maintenance_margin:
        Maintenance margin, ≥ 0, in the report currency (USD): a ``float``, a ``Decimal`` or a
        float64 array (one element per account).
    equity:
        Equity in the same currency and form; may be negative.

    Returns
    -------
    float or (n,) float64 array
        Dimensionless, ≥ 0 (0.5 = half the equity is needed): 0 when no maintenance margin is
        due (MM ≤ 0, whatever the equity), ``inf`` when margin is due and equity ≤ 0, MM / equity
        otherwise. Above 1.0 the account is liquidatable (:func:`is_liquidatable` decides on the
        amounts themselves, not on this rounded quotient). ``Decimal`` amounts are divided
        exactly (in the current decimal context) and the quotient is rounded once to float.
    """
    scalar = np.ndim(maintenance_margin) == 0 and np.ndim(equity) == 0
    maintenance, own_equity = np.broadcast_arrays(
        np.atleast_1d(np.asarray(maintenance_margin)), np.atleast_1d(np.asarray(equity))
    )
    due = maintenance > 0
    ratio = np.where(due, np.inf, 0.0)
    covered = due & (own_equity > 0)
    ratio[covered] = maintenance[covered] / own_equity[covered]
    return float(ratio[0]) if scalar else ratio


@overload
def is_liquidatable(equity: Decimal, maintenance_margin: Decimal) -> bool: ...
@overload
def is_liquidatable(equity: float, maintenance_margin: float) -> bool: ...
@overload
def is_liquidatable(equity: FloatArray, maintenance_margin: FloatArray) -> BoolArray: ...
def is_liquidatable(equity: Any, maintenance_margin: Any) -> bool | BoolArray:
    """Whether an account (or each of many) may be liquidated.

    Parameters
    ----------
    equity:
        Equity in the report currency (USD), may be negative: a ``float``, a ``Decimal`` or a
        float64 array (one element per account).
    maintenance_margin:
        Maintenance margin, ≥ 0, in the same currency and form.

    Returns
    -------
    bool or (n,) bool array
        True iff maintenance margin > 0 and equity < maintenance margin. Equity equal to the
        maintenance margin is not liquidatable, and neither is an account with no maintenance
        margin, whatever its equity (negative equity there is bad debt with nothing to
        liquidate). Equivalent to :func:`margin_ratio` > 1, decided on the exact amounts.
    """
    maintenance = np.asarray(maintenance_margin)
    liquidatable = (maintenance > 0) & (np.asarray(equity) < maintenance)
    return bool(liquidatable) if np.ndim(liquidatable) == 0 else np.asarray(liquidatable)
