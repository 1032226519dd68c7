"""Contagion scenarios: collateral in other coins, a stablecoin de-peg, a halted bridge, and
replays of real days from 4-hour bars.

* :func:`collateral_mix` moves part of each account's USD collateral into coins (BTC, ETH, USDC):
  a BTC crash then liquidates accounts whose **ETH** collateral is sold too, moving ETH;
* :func:`depeg_moves` — USDC's 2023-03-11 low of 0.8774 (Yahoo, shared/data stablecoins README)
  as a one-off move of the USDC market that USDC-collateralised accounts hold;
* ``bridged_share`` marks part of the coin collateral as sitting behind a bridge; with
  :attr:`CascadeConfig.bridge_halt_rounds` > 0 it can be neither counted nor seized until the
  bridge reopens (then the fund recovers what it seized);
* :func:`replay_moves` turns bars' closes into a cascade's exogenous path (one bar every
  ``rounds_per_bar`` rounds, the cascade runs in between).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.errors import InputError
from crossmargin.simulation.cascade import CollateralHoldings

__all__ = ["USDC_LOW_2023_03_11", "collateral_mix", "depeg_moves", "replay_moves"]

FloatArray = NDArray[np.float64]

#: USDC's low on 2023-03-11 (SVB), USD (shared/data/README.md, Yahoo USDC-USD).
USDC_LOW_2023_03_11 = 0.8774


def collateral_mix(
    collateral_usd: FloatArray,
    prices_usd: Mapping[str, float],
    shares: Mapping[str, float],
    haircuts: Mapping[str, float],
    rng: np.random.Generator,
    bridged_share: float = 0.0,
) -> tuple[FloatArray, CollateralHoldings]:
    """Split each account's USD collateral into cash and coins.

    Parameters
    ----------
    collateral_usd:
        (n,) USD collateral per account (≥ 0).
    prices_usd:
        Start price of each coin, USD.
    shares:
        Coin → fraction of accounts holding it (each holder keeps 30–90 % of its collateral in
        that coin, uniform; one coin per account, drawn in ``shares``' order).
    haircuts:
        Coin → haircut in [0, 1) (a requirement add-on of haircut × value).
    rng:
        Seeded generator.
    bridged_share:
        Fraction of holders whose coins sit behind a bridge (all of them).

    Returns
    -------
    (cash_usd (n,), CollateralHoldings); cash + units × price = collateral_usd exactly.
    """
    cash = np.asarray(collateral_usd, dtype=np.float64).copy()
    assets = tuple(shares)
    if sum(shares.values()) > 1.0 or any(v < 0 for v in shares.values()):
        raise InputError("shares", dict(shares), "must be >= 0 and add up to at most 1")
    units = np.zeros((cash.size, len(assets)))
    draw = rng.random(cash.size)
    part = rng.uniform(0.3, 0.9, cash.size)
    low = 0.0
    for k, asset in enumerate(assets):
        holder = (draw >= low) & (draw < low + shares[asset])
        low += shares[asset]
        moved = cash[holder] * part[holder]
        units[holder, k] = moved / prices_usd[asset]
        cash[holder] -= moved
    behind = (rng.random(cash.size) < bridged_share)[:, None] * units
    holdings = CollateralHoldings(
        assets, units, np.array([haircuts[a] for a in assets], dtype=np.float64), behind
    )
    return cash, holdings


def depeg_moves(
    markets: Sequence[str], stablecoin: str = "USDC", low_usd: float = USDC_LOW_2023_03_11
) -> FloatArray:
    """(1, markets) log moves of a de-peg to ``low_usd`` (other markets still)."""
    if not (0.0 < low_usd <= 1.5):
        raise InputError("low_usd", low_usd, "must lie in (0, 1.5]")
    return np.array([[np.log(low_usd) if m == stablecoin else 0.0 for m in markets]])


def replay_moves(
    markets: Sequence[str], closes_usd: Mapping[str, FloatArray], rounds_per_bar: int = 30
) -> FloatArray:
    """(bars × rounds_per_bar, markets) exogenous log moves from bar closes.

    Parameters
    ----------
    closes_usd:
        Market → (bars + 1,) closes, the first being the start (the previous bar's close);
        a market not given stays still.
    rounds_per_bar:
        Cascade rounds between two bars (the bar's move arrives at once, then the cascade runs).

    Returns
    -------
    float64 array: row ``b·rounds_per_bar + j`` holds log(close[b+1] / close[0]).
    """
    if rounds_per_bar < 1:
        raise InputError("rounds_per_bar", rounds_per_bar, "must be >= 1")
    lengths = {len(v) for v in closes_usd.values()}
    if len(lengths) != 1 or min(lengths) < 2:
        raise InputError("closes_usd", sorted(lengths), "need one common length >= 2")
    bars = lengths.pop() - 1
    out = np.zeros((bars, len(markets)))
    for k, market in enumerate(markets):
        if market in closes_usd:
            series = np.asarray(closes_usd[market], dtype=np.float64)
            if not np.all(np.isfinite(series) & (series > 0)):
                raise InputError(f"closes_usd[{market}]", "non-positive", "must be > 0")
            out[:, k] = np.log(series[1:] / series[0])
    return np.repeat(out, rounds_per_bar, axis=0)
