"""The portfolio margin charges, written once over an accounts axis.

Every function here is a pure numpy function of arrays whose leading axes run over risk vectors
and accounts (one account is ``n_a = 1``). The single-account model
(:class:`~crossmargin.margin.pm.model.PortfolioMargin`) calls them with one account, the book
engine's numpy twin with all of them; the engine's fused numba kernel is the fast path and a
property test holds the three equal. The rules (docs/margin-models.md, "Portfolio margin"):

* a **risk vector** belongs to one (pair, settlement currency): its raw scenario P&L in USD
  (positions settled in that currency on that pair, plus the currency's own balance when it
  enters the scenarios) is counted (extended weights and dampeners, USD) and divided by the
  currency's USD price in the scenario (:func:`risk_vector_coin`): the vector is in the
  settlement currency at the scenario price;
* a vector's gains offset other vectors' losses at ``pnl_offset`` up to ``max_offsetable_pnl``
  (:func:`offset_gains`);
* **worst case** = max(0, −min over aligned scenarios of Σ vectors, valued at the current index),
  gains and losses netting in full; **correlation contingency** = the same with gains offset only
  as :func:`offset_gains` allows, minus the worst case (:func:`aggregate_risk`);
* **roll shock** = max(annualised_move_risk·T, min_annualised_move)·|net coin| per futures
  bucket (:func:`roll_shock_rate`);
* **delta shock** = |δ|·S·min(max_delta_shock, m_inc·max(|δ| − threshold/S, 0))
  (:func:`delta_shock_charge_usd`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.scenarios import counted_pnl

__all__ = [
    "AggregateRisk",
    "VectorCounting",
    "aggregate_risk",
    "delta_shock_charge_usd",
    "offset_gains",
    "risk_vector_coin",
    "roll_shock_rate",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class VectorCounting:
    """How one risk vector's scenario totals are counted: (n_s,) weights and USD dampeners (a
    :class:`~crossmargin.scenarios.CountingRule`)."""

    weights: FloatArray
    dampeners_usd: FloatArray


def risk_vector_coin(
    raw_pnl_usd: ArrayLike, counting: VectorCounting, price_usd: ArrayLike
) -> FloatArray:
    """A risk vector in its settlement currency at the scenario price.

    Parameters
    ----------
    raw_pnl_usd:
        (..., n_s) raw scenario P&L in USD (positive is a profit).
    counting:
        The scenarios' weights and USD dampeners (:func:`crossmargin.scenarios.counted_pnl`).
    price_usd:
        (n_s,) USD price of one unit of the settlement currency in each scenario: P·(1 + m) for
        the pair's own coin (the move at the grid's edge for an extended scenario), P for a
        stablecoin.

    Returns
    -------
    (..., n_s) counted P&L in units of the settlement currency (positive is a profit).
    """
    counted = counted_pnl(raw_pnl_usd, counting)
    return np.asarray(counted / np.asarray(price_usd, dtype=np.float64), dtype=np.float64)


def offset_gains(vector: ArrayLike, pnl_offset: ArrayLike, cap: ArrayLike) -> FloatArray:
    """What a vector offsets elsewhere: its losses in full, its gains at ``pnl_offset`` up to
    ``cap`` (same units as ``vector``): min(x, 0) + min(pnl_offset·max(x, 0), cap).

    ``pnl_offset`` and ``cap`` broadcast against ``vector`` (e.g. shape (n_v, 1, 1) for
    (n_v, n_a, n_s) vectors)."""
    x = np.asarray(vector, dtype=np.float64)
    gain = np.minimum(np.asarray(pnl_offset) * np.maximum(x, 0.0), np.asarray(cap))
    return np.asarray(np.minimum(x, 0.0) + gain, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class AggregateRisk:
    """The scenario charges of each account, USD ≥ 0, (n_a,) each.

    Attributes
    ----------
    worst_case_usd:
        max(0, −min_k Σ_v P_v·a_vk): vectors net in full in aligned scenarios.
    correlation_usd:
        max(0, −min_k Σ_v P_v·offset_gains(a_vk)) − worst case (≥ 0): the part of the netting
        that gains count for only at ``pnl_offset``.
    worst_index:
        First scenario of the offset total's minimum (-1 without vectors or scenarios).
    """

    worst_case_usd: FloatArray
    correlation_usd: FloatArray
    worst_index: IntArray


def aggregate_risk(
    vectors_coin: ArrayLike,
    price_usd: ArrayLike,
    pnl_offset: ArrayLike,
    max_offsetable_usd: ArrayLike,
) -> AggregateRisk:
    """Worst case and correlation contingency of each account from its risk vectors.

    Parameters
    ----------
    vectors_coin:
        (n_v, n_a, n_s) risk vectors (:func:`risk_vector_coin`; zeros where an account has none),
        scenarios aligned across vectors.
    price_usd:
        (n_v,) current USD price of each vector's settlement currency.
    pnl_offset, max_offsetable_usd:
        (n_v,) the settlement currency's gain offset and its cap in USD.
    """
    vectors = np.asarray(vectors_coin, dtype=np.float64)
    n_v, n_a, n_s = vectors.shape
    if n_v == 0 or n_s == 0:
        zeros = np.zeros(n_a)
        return AggregateRisk(zeros, zeros.copy(), np.full(n_a, -1, dtype=np.int64))
    price = np.asarray(price_usd, dtype=np.float64).reshape(n_v, 1, 1)
    offset = np.asarray(pnl_offset, dtype=np.float64).reshape(n_v, 1, 1)
    cap = np.asarray(max_offsetable_usd, dtype=np.float64).reshape(n_v, 1, 1) / price
    full = np.sum(price * vectors, axis=0)
    offset_total = np.sum(price * offset_gains(vectors, offset, cap), axis=0)
    worst = np.maximum(0.0, -np.min(full, axis=-1)) + 0.0
    with_offset = np.maximum(0.0, -np.min(offset_total, axis=-1))
    correlation = np.maximum(with_offset - worst, 0.0) + 0.0
    return AggregateRisk(worst, correlation, np.argmin(offset_total, axis=-1).astype(np.int64))


def roll_shock_rate(
    t_years: ArrayLike, annualised_move_risk: float, min_annualised_move: float
) -> FloatArray:
    """Roll shock per coin of net futures exposure: max(annualised_move_risk·T,
    min_annualised_move) for a bucket expiring in T years (0 for a perpetual)."""
    t = np.asarray(t_years, dtype=np.float64)
    return np.asarray(np.maximum(annualised_move_risk * t, min_annualised_move), dtype=np.float64)


def delta_shock_charge_usd(
    net_delta_coin: ArrayLike,
    index_usd: float,
    threshold_usd: float,
    max_shock: float,
    increment_per_coin: float,
) -> FloatArray:
    """Liquidity delta shock of each account, USD ≥ 0.

    ``|δ|·S·min(max_shock, increment_per_coin·max(|δ| − threshold_usd/S, 0))`` for the net
    delta δ (coin, either sign) of the account's positions of one risk vector at index S (USD):
    0 while |δ|·S is under the threshold.
    """
    size = np.abs(np.asarray(net_delta_coin, dtype=np.float64))
    with np.errstate(divide="ignore"):  # no index (no instrument): no excess, no shock
        excess_coin = np.maximum(size - threshold_usd / np.float64(index_usd), 0.0)
    move = np.minimum(max_shock, increment_per_coin * excess_coin)
    return np.asarray(size * index_usd * move, dtype=np.float64)
