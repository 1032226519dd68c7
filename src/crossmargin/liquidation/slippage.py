"""Execution cost of a market order from order-book depth (square-root impact).

A market order of notional ``N`` USD on a book whose depth within 1 % of mid is ``D`` USD fills,
on average, ``half_spread + impact_at_depth · √(N / D)`` worse than mark (a fraction of mark):
the square-root law of price impact (Tóth et al. 2011; on Bitcoin, Donier & Bonart 2015), with
``impact_at_depth`` = 1 % meaning that taking the whole 1 % depth moves the price 1 %. Pure
functions over arrays; no state.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.liquidation.parameters import SlippageParameters

__all__ = ["execution_cost_usd", "slippage_fraction"]

FloatArray = NDArray[np.float64]


def slippage_fraction(
    notional_usd: ArrayLike, depth_usd: ArrayLike, parameters: SlippageParameters
) -> FloatArray:
    """Average fill distance from mark, as a fraction of mark (0.001 = 10 bp), ≥ 0.

    Parameters
    ----------
    notional_usd:
        |size| × notional per unit, USD ≥ 0 (sign ignored), one element per order.
    depth_usd:
        Book depth within 1 % of mid, USD > 0, broadcast against ``notional_usd``.
    parameters:
        Half spread and the impact at depth.

    Returns
    -------
    float64 array: ``half_spread + impact_at_depth·√(|N| / D)``; 0 for a zero order.
    """
    notional = np.abs(np.asarray(notional_usd, dtype=np.float64))
    depth = np.asarray(depth_usd, dtype=np.float64)
    fraction = parameters.half_spread + parameters.impact_at_depth * np.sqrt(notional / depth)
    return np.asarray(np.where(notional > 0.0, fraction, 0.0), dtype=np.float64)


def execution_cost_usd(
    notional_usd: ArrayLike, depth_usd: ArrayLike, parameters: SlippageParameters
) -> FloatArray:
    """Slippage paid by a market order, USD ≥ 0: ``|N| × slippage_fraction``.

    Worked example: N = $1M on a $14M-deep book with a 1 bp half spread and 1 % impact at depth:
    0.0001 + 0.01·√(1/14) = 0.0027726 → $2,772.61.
    """
    notional = np.abs(np.asarray(notional_usd, dtype=np.float64))
    return np.asarray(notional * slippage_fraction(notional, depth_usd, parameters))
