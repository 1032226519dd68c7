"""Price impact of liquidation flow: the square-root law with a decaying (transient) part.

A round's net signed flow ``Q`` (USD notional, negative = sold) on a book whose depth within 1 %
of mid is ``D`` USD moves the log price by ``−sign(Q) · Y · √(|Q| / D)`` (Tóth et al. 2011; on
Bitcoin metaorders Donier & Bonart 2015; venues.md "Price impact"): ``Y = impact_at_depth`` is the
move caused by taking the whole 1 % depth, 1 % by definition of that depth. ``D`` itself comes from
the law's daily form ``Y·σ_daily·√(Q/V_daily)`` on real volume and volatility
(:mod:`~crossmargin.simulation.liquidity`). The liquidation
engine's slippage model (:mod:`crossmargin.liquidation.slippage`) is the same law; here it moves
the *price* every trader is marked at, not only the liquidated account's fills.

Impact is partly transient: a round's impact ``ι`` is still felt ``k`` rounds later as
``ι · (φ + (1 − φ) / √(1 + k))`` (a power-law propagator, Bouchaud et al. 2004), with ``φ`` the
permanent fraction — about two thirds of the peak once a metaorder ends, as reported by Bershova &
Rakhlin (2013) and Bacry et al. (2015). ``φ = 1`` makes the impact permanent, and the price path of
pure liquidation selling is then monotone.

Fills: a liquidation order walking down the square-root curve fills on average ``2/3`` of the
round's peak impact away from the pre-round mark, plus the half spread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.core.errors import InputError

__all__ = [
    "ImpactParameters",
    "fill_distance",
    "impact_log_move",
    "propagated_log_impact",
]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ImpactParameters:
    """Square-root impact: ``Y = impact_at_depth`` (0.01 = 1 % for the whole 1 % depth),
    ``half_spread`` (fraction of mark), ``permanent_fraction`` φ in (0, 1]."""

    impact_at_depth: float = 0.01
    half_spread: float = 0.0001
    permanent_fraction: float = 2.0 / 3.0

    def __post_init__(self) -> None:
        for name in ("impact_at_depth", "half_spread"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and np.isfinite(value) and value >= 0.0):
                raise InputError(name, value, "must be a finite number >= 0")
        phi = self.permanent_fraction
        if not (isinstance(phi, int | float) and 0.0 < phi <= 1.0):
            raise InputError("permanent_fraction", phi, "must lie in (0, 1]")


def impact_log_move(
    flow_usd: ArrayLike, depth_usd: ArrayLike, parameters: ImpactParameters
) -> FloatArray:
    """Log-price move of one round's flow, per market (sign of the flow: selling is negative).

    Parameters
    ----------
    flow_usd:
        Net signed notional traded against the book, USD (− sold, + bought).
    depth_usd:
        Book depth within 1 % of mid, USD > 0 (broadcast against ``flow_usd``).
    parameters:
        ``Y`` of the square-root law.

    Returns
    -------
    float64 array ``sign(Q) · Y · √(|Q| / D)``; e.g. $14M sold into $14M of depth: −0.01.
    """
    flow = np.asarray(flow_usd, dtype=np.float64)
    depth = np.asarray(depth_usd, dtype=np.float64)
    return np.asarray(
        np.sign(flow) * parameters.impact_at_depth * np.sqrt(np.abs(flow) / depth),
        dtype=np.float64,
    )


def fill_distance(peak_log_move: ArrayLike, parameters: ImpactParameters) -> FloatArray:
    """Average distance of a liquidation fill from the pre-round mark, fraction of mark (≥ 0):
    ``half_spread + 2/3 · |peak impact|`` (the mean of √ along the order)."""
    peak = np.abs(np.asarray(peak_log_move, dtype=np.float64))
    return np.asarray(parameters.half_spread + peak * (2.0 / 3.0), dtype=np.float64)


def propagated_log_impact(history: FloatArray, parameters: ImpactParameters) -> FloatArray:
    """Cumulative log-price impact now of past rounds' impacts (rows: rounds, oldest first).

    Parameters
    ----------
    history:
        (rounds, markets) peak log impact of each round so far (the last row is this round).
    parameters:
        φ, the permanent fraction.

    Returns
    -------
    (markets,) ``Σ_s ι_s · (φ + (1 − φ)/√(1 + k_s))`` with ``k_s`` rounds since round ``s``
    (0 for the last row); equals the plain sum when φ = 1.
    """
    rounds = history.shape[0]
    if rounds == 0:
        return np.zeros(history.shape[1:], dtype=np.float64)
    age = np.arange(rounds - 1, -1, -1, dtype=np.float64)
    phi = parameters.permanent_fraction
    kernel = phi + (1.0 - phi) / np.sqrt(1.0 + age)
    return np.asarray(kernel @ history, dtype=np.float64)
