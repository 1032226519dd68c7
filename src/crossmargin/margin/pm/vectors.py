"""Deribit's scenarios per pair and one account's risk vectors.

:func:`deribit_scenario_set` gives a pair's scenarios: the standard grid (``2·buckets + 1``
price moves from −range to +range, each with vol up, unchanged and down) and the extended table
(vol up only, P&L weighted ``factor·range/|m|``). Vol shocks follow the published method per
strike: each option's own vol σ_K becomes max(σ_K·(1 + up·x), min_vol_for_shock_up) or
σ_K·(1 − down·x), x = (30/DTE)^p. The set's ``dampeners_usd`` hold the extended dampener per USD
of a currency's ``extended_dampener`` ((|m|/range − 1), 0 on the grid), and its conversion moves
put an extended scenario's coin P&L at the grid's edge price S·(1 ± range), as the captured
response's extended vector shows.

:func:`account_risk_vectors` builds one account's :class:`RiskVector` per (pair, currency).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from crossmargin.instruments import KindCode
from crossmargin.margin.pm.charges import VectorCounting, risk_vector_coin
from crossmargin.margin.pm.netting import vector_key
from crossmargin.margin.pm.parameters import PortfolioMarginParameters
from crossmargin.market import MarketSnapshot
from crossmargin.pricing import InstrumentArrays
from crossmargin.scenarios import (
    ScenarioKind,
    ScenarioSet,
    ScenarioSpec,
    VolRegime,
    build_scenario_set,
    format_move,
    grid_price_moves,
    term_structure_vol_shocks,
)

__all__ = [
    "RiskVector",
    "account_risk_vectors",
    "deribit_scenario_set",
    "strike_vols",
    "vector_counting",
    "vector_price_usd",
]

FloatArray = NDArray[np.float64]


def strike_vols(arrays: InstrumentArrays, market: MarketSnapshot, underlying: str) -> FloatArray:
    """Each option's own implied vol (the vol its shock scales from), 0 for every other
    instrument and other underlyings. ``market`` is unused: the vols are already in
    ``arrays``; the signature is the engine's reference-vol hook."""
    own = (arrays.kind == KindCode.OPTION) & (arrays.underlying == underlying)
    return np.asarray(np.where(own, arrays.vol_annual, 0.0), dtype=np.float64)


def deribit_scenario_set(
    underlying: str,
    arrays: InstrumentArrays,
    market: MarketSnapshot,
    parameters: PortfolioMarginParameters,
) -> ScenarioSet:
    """The scenarios of the pair ``underlying``, aligned to ``arrays``: standard grid (vol up,
    unchanged, down at each price move, moves ascending), then the extended table (vol up,
    weighted); see the module docstring."""
    p = parameters.for_pair(underlying)
    up, down = term_structure_vol_shocks(
        strike_vols(arrays, market, underlying),
        arrays.t_years,
        vol_range_up=p.vol_range_up,
        vol_range_down=p.vol_range_down,
        short_term_power=p.short_term_vega_power,
        long_term_power=p.long_term_vega_power,
        min_vol_for_shock_up=p.min_vol_for_shock_up,
        pivot_days=p.vega_power_pivot_days,
        min_days=p.min_days_for_vol_shock,
    )
    grid = grid_price_moves(p.price_range, parameters.buckets_per_side)
    specs = [
        ScenarioSpec(float(move), regime, f"{underlying} {format_move(move)} vol {regime.value}")
        for move in grid
        for regime in (VolRegime.UP, VolRegime.UNCHANGED, VolRegime.DOWN)
    ]
    specs += [
        ScenarioSpec(
            move,
            VolRegime.UP,
            f"{underlying} {format_move(move)} vol up (extended)",
            kind=ScenarioKind.EXTENDED,
            weight=p.extended_table_factor * p.price_range / abs(move),
            dampener_usd=abs(move) / p.price_range - 1.0,
        )
        for move in parameters.extended_moves
    ]
    built = build_scenario_set(underlying, arrays, specs, up, down)
    edge = np.array(
        [
            spec.price_move
            if spec.kind is ScenarioKind.STANDARD
            else float(np.sign(spec.price_move)) * p.price_range
            for spec in specs
        ]
    )
    return dataclasses.replace(built, conversion_moves=edge)


def vector_counting(
    scenario_set: ScenarioSet, currency: str, parameters: PortfolioMarginParameters
) -> VectorCounting:
    """Weights and USD dampeners of a vector of ``currency`` on ``scenario_set``'s pair."""
    dampener = parameters.for_currency(currency).extended_dampener_usd
    return VectorCounting(scenario_set.weights, scenario_set.dampeners_usd * dampener)


def vector_price_usd(
    scenario_set: ScenarioSet, currency: str, market: MarketSnapshot
) -> FloatArray:
    """(n_s,) USD price of one unit of ``currency`` in each scenario of the pair: the coin's
    index × (1 + conversion move) for the pair's own coin, the current price otherwise."""
    price = market.index(currency)
    if currency == scenario_set.underlying:
        return np.asarray(price * scenario_set.coin_price_factors, dtype=np.float64)
    return np.full(scenario_set.count, price)


@dataclass(frozen=True, eq=False)
class RiskVector:
    """One account's risk vector of a (pair, currency).

    Attributes
    ----------
    pair, currency:
        The underlying whose scenarios it runs and the currency it is expressed in.
    price_usd:
        Current USD price of one unit of ``currency``.
    members:
        (n_i,) which positions belong to it.
    balance_coin:
        The collateral balance of ``currency`` inside its scenarios (coin, after the haircut;
        0 unless ``currency`` is the pair's coin and enters).
    raw_pnl_usd:
        (n_s,) raw scenario P&L of its members and balance, USD.
    coin:
        (n_s,) the counted vector in ``currency`` at the scenario price.
    usd_per_raw:
        (n_s,) factor from a raw USD P&L to the vector's value in USD at the current price
        (counted/raw × price/scenario price; 0 where the raw P&L is 0).
    """

    pair: str
    currency: str
    price_usd: float
    members: NDArray[np.bool_]
    balance_coin: float
    raw_pnl_usd: FloatArray
    coin: FloatArray
    usd_per_raw: FloatArray


def account_risk_vectors(
    arrays: InstrumentArrays,
    sizes: FloatArray,
    matrices: Mapping[str, FloatArray],
    sets: Mapping[str, ScenarioSet],
    balances: Mapping[str, float],
    market: MarketSnapshot,
    parameters: PortfolioMarginParameters,
) -> list[RiskVector]:
    """The risk vectors of an account, sorted by (pair, currency).

    ``matrices[p]`` is the (n_s, n_i) USD P&L matrix of ``sets[p]``; ``balances`` the coin
    balances that enter their own pair's scenarios (after
    :meth:`PortfolioMarginParameters.balance_weight`)."""
    keys = {vector_key(item) for item, size in zip(arrays.instruments, sizes, strict=True) if size}
    keys |= {(coin, coin) for coin, amount in balances.items() if amount != 0.0}
    vectors: list[RiskVector] = []
    for pair, currency in sorted(keys, key=lambda key: (str(key[0]), str(key[1]))):
        scenario_set = sets[str(pair)]
        members = np.array(
            [vector_key(item) == (pair, currency) for item in arrays.instruments], dtype=np.bool_
        ).reshape(sizes.shape)
        balance = balances.get(str(currency), 0.0) if pair == currency else 0.0
        raw = matrices[str(pair)] @ np.where(members, sizes, 0.0)
        raw = raw + balance * market.index(str(pair)) * scenario_set.price_moves
        counting = vector_counting(scenario_set, str(currency), parameters)
        scenario_price = vector_price_usd(scenario_set, str(currency), market)
        coin = risk_vector_coin(raw, counting, scenario_price)
        price = market.index(str(currency))
        with np.errstate(divide="ignore", invalid="ignore"):
            usd_per_raw = np.where(raw != 0.0, coin * price / raw, 0.0)
        vectors.append(
            RiskVector(str(pair), str(currency), price, members, balance, raw, coin, usd_per_raw)
        )
    return vectors
