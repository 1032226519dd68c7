"""Several venues in one cascade, coupled through one price by arbitrage and an oracle.

Each venue has its own book, margin model, depth, liquidation mechanics, fund and ADL policy (a
:class:`VenueBook`: a CEX with insurance fund and ADL, an on-chain Dutch-auction venue, a
dYdX-style venue with a per-block limit, see :class:`~crossmargin.simulation.VenueParameters`).
Every round, side by side:

1. each venue runs one cascade round on its **local** log price ``ℓ_v`` (per market): its
   liquidations sell into its own depth and move ``ℓ_v`` by the square-root law. A venue whose
   ``oracle_lag_rounds`` > 0 (on-chain, dYdX) checks margin at the **common** price that many
   rounds old (the oracle publishes the index) instead of its own;
2. the common log price is the depth-weighted mean ``p = Σ_v w_v ℓ_v`` with ``w_v`` each venue's
   normal 1 % depth over the total (per market);
3. arbitrage pulls every local price toward it at ``arbitrage_rate`` κ per round:
   ``ℓ_v ← p + (1 − κ)(ℓ_v − p)``. The shift stays (the venue's later impact adds to it).
   Since ``Σ w_v (ℓ_v − p) = 0`` the pull leaves ``p`` unchanged; κ = 1 is one price everywhere,
   κ = 0 no arbitrage.

The exogenous path (shock or replay) is common: every venue must have the same markets and
``log_moves``. Outage (a CEX that liquidates nobody for ``outage_rounds``) and congestion (on-chain
gas × 25, capacity / 10) are switches on each venue's parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.errors import InputError
from crossmargin.simulation.cascade import (
    CascadeConfig,
    CascadeResult,
    CollateralHoldings,
    _begin,
    _Running,
)
from crossmargin.simulation.margin_sources import MarginSource

__all__ = ["MultiVenueResult", "VenueBook", "run_venues"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class VenueBook:
    """One venue of a multi-venue cascade: its name, margin source, cash (USD per account),
    config (venue mechanics, depth, fund, ADL) and optional coin collateral."""

    name: str
    source: MarginSource
    cash_usd: FloatArray
    config: CascadeConfig
    collateral: CollateralHoldings | None = None


@dataclass(frozen=True, eq=False)
class MultiVenueResult:
    """Per-venue cascades (local prices in each result) and the common price path
    ``common_prices`` (R + 1, markets) USD; ``weights`` (venues, markets) the depth weights."""

    venues: dict[str, CascadeResult]
    markets: tuple[str, ...]
    common_prices: FloatArray
    weights: FloatArray

    def common_move(self, market: str) -> float:
        """End common price over start − 1 (−0.25 = down 25 %)."""
        k = self.markets.index(market)
        return float(self.common_prices[-1, k] / self.common_prices[0, k] - 1.0)


def run_venues(
    venues: Sequence[VenueBook], arbitrage_rate: float = 0.5, max_rounds: int | None = None
) -> MultiVenueResult:
    """Run the venues' cascades side by side, coupled through one price (module docstring).

    Parameters
    ----------
    venues:
        At least one venue; all with the same markets, ``log_moves`` and starting prices.
    arbitrage_rate:
        κ in [0, 1]: the share of a venue's gap to the common log price closed per round.
    max_rounds:
        Round cap (default: the largest of the venues' ``max_rounds``).

    Returns
    -------
    MultiVenueResult (USD; the same inputs give the same numbers).
    """
    if not venues:
        raise InputError("venues", 0, "need at least one venue")
    if not (0.0 <= arbitrage_rate <= 1.0):
        raise InputError("arbitrage_rate", arbitrage_rate, "must lie in [0, 1]")
    names = [v.name for v in venues]
    if len(set(names)) != len(names):
        raise InputError("venues", names, "names must be distinct")
    first = venues[0].config
    for venue in venues[1:]:
        if venue.config.markets != first.markets or not np.array_equal(
            venue.config.log_moves, first.log_moves
        ):
            raise InputError("venues", venue.name, "must share markets and log_moves")
    running: list[_Running] = [_begin(v.source, v.cash_usd, v.config, v.collateral) for v in venues]
    if any(not np.allclose(r.run.start, running[0].run.start) for r in running):
        raise InputError("venues", names, "must start from the same prices")
    depth = np.array([np.where(r.run.has_depth, r.run.depth0, 0.0) for r in running])
    total = depth.sum(axis=0)
    weights = np.where(total > 0, depth / np.where(total > 0, total, 1.0), 1.0 / len(venues))
    common = [np.zeros(len(first.markets)), running[0].log_prices[-1].copy()]
    cap = max(v.config.max_rounds for v in venues) if max_rounds is None else max_rounds
    for r in range(cap):
        for runner in running:
            lagged = runner.run.config.venue.oracle_lag_rounds > 0
            runner.step(r, common if lagged else None)
        local = np.array([runner.log_prices[-1] for runner in running])
        price = np.sum(weights * local, axis=0)
        for k, runner in enumerate(running):
            runner.shift(price + (1.0 - arbitrage_rate) * (local[k] - price))
        common.append(price)
        finished = [runner.done(r) for runner in running]
        if all(finished):
            break
    results = {v.name: runner.finish() for v, runner in zip(venues, running, strict=True)}
    start = running[0].run.start
    return MultiVenueResult(results, first.markets, start * np.exp(np.array(common)), weights)
