"""Order-book depth that reacts: it thins with volatility and market makers' losses and comes
back slowly.

State: a stress level ``z ≥ 0`` per market; depth = normal depth × ``max(floor, 1 / (1 + z))``.
After each round ``z ← (1 − recovery) · z + vol_sensitivity · |r| + loss_sensitivity · L / D0``
with ``r`` the round's log return, ``L`` the market makers' mark-to-market loss on the flow they
absorbed (USD; the last third of the peak impact on what they bought, see
:func:`market_maker_loss_usd`) and ``D0`` the normal depth.

Calibration (venues.md "Price impact"; liquidation.toml [D]): depth falls 30–55 % on stress days
at moves of ±1–2 % (FTX week: Kraken −57 %, Binance −25 %). With ``vol_sensitivity = 55`` a single
1 % round leaves ``1/(1 + 0.55)`` = 65 % of the depth (−35 %) and a 2 % round ``1/(1 + 1.1)`` =
48 % (−52 %). ``recovery = 0.05`` per round gives a half-life of ln 2 / 0.051 ≈ 13.5 rounds, i.e.
about 13 minutes at one-minute rounds — "recovers slowly" relative to the cascade.
``floor = 0.2`` keeps a fifth of the book (no venue's depth went to zero on the listed days).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.core.errors import InputError

__all__ = ["DepthParameters", "depth_factor", "market_maker_loss_usd", "next_stress"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class DepthParameters:
    """How depth reacts. ``reacting=False`` keeps it at the normal depth throughout."""

    reacting: bool = True
    vol_sensitivity: float = 55.0
    loss_sensitivity: float = 10.0
    recovery: float = 0.05
    floor: float = 0.2

    def __post_init__(self) -> None:
        for name in ("vol_sensitivity", "loss_sensitivity"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and np.isfinite(value) and value >= 0.0):
                raise InputError(name, value, "must be a finite number >= 0")
        for name in ("recovery", "floor"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0.0 < value <= 1.0):
                raise InputError(name, value, "must lie in (0, 1]")


def depth_factor(stress: ArrayLike, parameters: DepthParameters) -> FloatArray:
    """Depth as a fraction of normal depth (dimensionless, in [floor, 1]): ``1/(1 + z)``."""
    z = np.asarray(stress, dtype=np.float64)
    if not parameters.reacting:
        return np.ones_like(z)
    return np.asarray(np.maximum(parameters.floor, 1.0 / (1.0 + z)), dtype=np.float64)


def market_maker_loss_usd(flow_usd: ArrayLike, peak_log_move: ArrayLike) -> FloatArray:
    """Market makers' loss on absorbing a round's flow, USD ≥ 0: they fill ``|Q|`` at 2/3 of the
    peak impact and are marked at the peak, so they lose ``|Q| · |ι| / 3``."""
    flow = np.abs(np.asarray(flow_usd, dtype=np.float64))
    return np.asarray(flow * np.abs(np.asarray(peak_log_move, dtype=np.float64)) / 3.0)


def next_stress(
    stress: ArrayLike,
    log_return: ArrayLike,
    maker_loss_usd: ArrayLike,
    normal_depth_usd: ArrayLike,
    parameters: DepthParameters,
) -> FloatArray:
    """Stress after a round (≥ 0): decays by ``recovery``, rises with |return| and losses.

    Worked example: z = 0, r = −0.01, no loss → 0.55 (depth 1/1.55 = 64.5 % of normal).
    """
    z = np.asarray(stress, dtype=np.float64)
    loss_share = np.asarray(maker_loss_usd, dtype=np.float64) / np.asarray(
        normal_depth_usd, dtype=np.float64
    )
    return np.asarray(
        (1.0 - parameters.recovery) * z
        + parameters.vol_sensitivity * np.abs(np.asarray(log_return, dtype=np.float64))
        + parameters.loss_sensitivity * loss_share,
        dtype=np.float64,
    )
