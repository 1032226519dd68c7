"""The portfolio margin charges, written once over an accounts axis.

Every function here is a pure numpy function of arrays whose leading axis runs over accounts
(shape ``(n_a, ...)``; one account is ``n_a = 1``). The single-account model
(:class:`~crossmargin.margin.pm.model.PortfolioMargin`) calls them with one account, the book
engine's numpy twin with all of them; the engine's fused numba kernel is the fast path and a
property test holds the three equal. The rules are those of :mod:`crossmargin.margin.pm.model`:

* **scan risk** = max(0, −min counted P&L), at the first worst scenario;
* **delta shock** = |δ|·S·min(max_delta_shock, m_inc·max(|δ| − threshold/S, 0)) for a net delta
  δ in coin at index S;
* **short option** = per_coin·S·max(0, −net) per (expiry, strike) group, net in coin;
* **basis** = rate·S·min(Σ long bucket nets, Σ short bucket nets), nets in coin;
* **premium cap**: a book of long options only never needs more than their mark value, so its
  charges are scaled by premium / total when they add up to more;
* **correlation credit** across underlyings with offset f: aligned scenarios combine as
  Σ_U min(P_U, 0) + f·max(P_U, 0); the credit Σ_U scan_U − max(0, −min combined) is taken off the
  scan risks in proportion to their size.

Amounts are USD ≥ 0 unless said otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "UnderlyingCharges",
    "basis_charge_usd",
    "correlation_credit",
    "delta_shock_charge_usd",
    "premium_cap_factor",
    "scan_risk_usd",
    "short_option_charge_usd",
    "underlying_requirement",
    "worst_underlying",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


def scan_risk_usd(counted_pnl_usd: ArrayLike) -> tuple[FloatArray, IntArray]:
    """Scan risk and worst scenario of each account.

    Parameters
    ----------
    counted_pnl_usd:
        (..., n_s) counted P&L per scenario, USD (positive is a profit).

    Returns
    -------
    scan:
        (...,) max(0, −min over scenarios), USD ≥ 0 (0 without scenarios).
    worst:
        (...,) index of the first minimum (0 without scenarios).
    """
    counted = np.asarray(counted_pnl_usd, dtype=np.float64)
    if counted.shape[-1] == 0:
        return np.zeros(counted.shape[:-1]), np.zeros(counted.shape[:-1], dtype=np.int64)
    worst = np.argmin(counted, axis=-1)
    lowest = np.take_along_axis(counted, worst[..., None], axis=-1)[..., 0]
    return np.maximum(0.0, -lowest) + 0.0, worst.astype(np.int64)  # + 0.0: no -0.0


def delta_shock_charge_usd(
    net_delta_coin: ArrayLike,
    index_usd: float,
    threshold_usd: float,
    max_shock: float,
    increment_per_coin: float,
) -> FloatArray:
    """Liquidity delta shock of each account, USD ≥ 0.

    ``|δ|·S·min(max_shock, increment_per_coin·max(|δ| − threshold_usd/S, 0))`` for the net
    delta δ (coin, either sign) of the account's positions on one underlying at index S (USD):
    0 while |δ|·S is under the threshold.
    """
    size = np.abs(np.asarray(net_delta_coin, dtype=np.float64))
    with np.errstate(divide="ignore"):  # no index (no instrument): no excess, no shock
        excess_coin = np.maximum(size - threshold_usd / np.float64(index_usd), 0.0)
    move = np.minimum(max_shock, increment_per_coin * excess_coin)
    return np.asarray(size * index_usd * move, dtype=np.float64)


def short_option_charge_usd(
    group_net_coin: ArrayLike, index_usd: float, charge_per_coin: float
) -> FloatArray:
    """Short option charge of each (account, strike group), USD ≥ 0, elementwise.

    ``charge_per_coin·S·max(0, −net)`` for the net size (coin of underlying; calls and puts,
    inverse and linear together) of each (expiry, strike) group at index S. An account's charge
    is the sum over its groups; a group it does not hold (net 0) costs 0, so the rule applies to
    the stored entries of a sparse matrix as well.
    """
    net = np.asarray(group_net_coin, dtype=np.float64)
    return np.asarray(charge_per_coin * index_usd * np.maximum(-net, 0.0), dtype=np.float64)


def basis_charge_usd(
    long_coin: ArrayLike, short_coin: ArrayLike, index_usd: float, rate: float
) -> FloatArray:
    """Basis charge of each account, USD ≥ 0.

    ``rate·S·min(long, short)`` where ``long`` is the sum of the positive futures bucket nets and
    ``short`` the sum of the magnitudes of the negative ones (coin, per (underlying, expiry), the
    perpetual its own bucket); 0 when nothing offsets.
    """
    offsetting = np.minimum(
        np.asarray(long_coin, dtype=np.float64), np.asarray(short_coin, dtype=np.float64)
    )
    return np.where(offsetting > 0.0, rate * index_usd * offsetting, 0.0)


def premium_cap_factor(
    total_usd: ArrayLike, premium_usd: ArrayLike, long_options_only: ArrayLike
) -> tuple[FloatArray, BoolArray]:
    """Factor on each account's charges of one underlying, and where it binds.

    A book of long options only (``long_options_only``) never needs more than its mark value
    ``premium_usd``: where the charges ``total_usd`` exceed it, every charge is multiplied by
    premium / total (``capped``); elsewhere the factor is exactly 1.
    """
    total = np.asarray(total_usd, dtype=np.float64)
    premium = np.asarray(premium_usd, dtype=np.float64)
    capped = np.asarray(long_options_only, dtype=np.bool_) & (total > premium)
    factor = np.where(capped, premium / np.where(capped, total, 1.0), 1.0)
    return factor, capped


@dataclass(frozen=True, eq=False)
class UnderlyingCharges:
    """Requirement of each account on one underlying, after the premium cap (USD, (n_a,) each).

    Attributes
    ----------
    scan_risk_usd, delta_shock_usd, short_option_usd, basis_usd:
        The components; they add up to the requirement.
    worst_index:
        First worst scenario of the counted P&L.
    cap_factor, capped:
        The premium cap's factor (1 where it does not bind) and where it binds.
    """

    scan_risk_usd: FloatArray
    delta_shock_usd: FloatArray
    short_option_usd: FloatArray
    basis_usd: FloatArray
    worst_index: IntArray
    cap_factor: FloatArray
    capped: BoolArray

    @property
    def contingencies_usd(self) -> FloatArray:
        """(n_a,) delta shock + short option + basis, USD."""
        return self.delta_shock_usd + self.short_option_usd + self.basis_usd


def underlying_requirement(
    counted_pnl_usd: ArrayLike,
    delta_shock_usd: ArrayLike,
    short_option_usd: ArrayLike,
    basis_usd: ArrayLike,
    premium_usd: ArrayLike,
    long_options_only: ArrayLike,
) -> UnderlyingCharges:
    """Scan risk plus contingencies of each account on one underlying, premium cap applied.

    Parameters
    ----------
    counted_pnl_usd:
        (n_a, n_s) counted scenario P&L (:func:`crossmargin.scenarios.counted_pnl`).
    delta_shock_usd, short_option_usd, basis_usd:
        (n_a,) contingencies (:func:`delta_shock_charge_usd`, the row sums of
        :func:`short_option_charge_usd`, :func:`basis_charge_usd`).
    premium_usd, long_options_only:
        (n_a,) mark value of the account's options on the underlying, and whether every position
        it holds there is a long option (see :func:`premium_cap_factor`).
    """
    scan, worst = scan_risk_usd(counted_pnl_usd)
    shock = np.asarray(delta_shock_usd, dtype=np.float64)
    short = np.asarray(short_option_usd, dtype=np.float64)
    basis = np.asarray(basis_usd, dtype=np.float64)
    factor, capped = premium_cap_factor(
        scan + shock + short + basis, premium_usd, long_options_only
    )
    return UnderlyingCharges(
        scan * factor, shock * factor, short * factor, basis * factor, worst, factor, capped
    )


def correlation_credit(
    counted_pnl_usd: ArrayLike, scan_risk: ArrayLike, held: ArrayLike, offset: float
) -> tuple[FloatArray, FloatArray]:
    """The correlation credit across underlyings of each account.

    Parameters
    ----------
    counted_pnl_usd:
        (n_u, n_a, n_s) counted P&L of each underlying in aligned scenarios (0 where not held).
    scan_risk:
        (n_u, n_a) scan risk of each underlying after the premium cap, USD ≥ 0.
    held:
        (n_u, n_a) whether the account holds the underlying; the credit needs two or more.
    offset:
        The fraction f ∈ [0, 1] of a profit that offsets another underlying's loss (0: off).

    Returns
    -------
    keep:
        (n_u, n_a) factor on each scan risk (and its per-position contributions), ≤ 1.
    credit:
        (n_u, n_a) USD ≥ 0 taken off each scan risk: the account's credit
        Σ_U scan_U − max(0, −min_k Σ_U (min(P_Uk, 0) + f·max(P_Uk, 0))), shared in proportion to
        the scan risks.
    """
    scan = np.asarray(scan_risk, dtype=np.float64)
    keep, share = np.ones(scan.shape), np.zeros(scan.shape)
    if offset <= 0.0 or scan.shape[0] < 2:
        return keep, share
    counted = np.asarray(counted_pnl_usd, dtype=np.float64)  # stacked only when it is used
    if counted.shape[-1] == 0:
        return keep, share
    combined = np.sum(np.minimum(counted, 0.0) + offset * np.maximum(counted, 0.0), axis=0)
    total_scan = np.sum(scan, axis=0)
    credit = total_scan - np.maximum(0.0, -np.min(combined, axis=-1))
    apply = (np.sum(np.asarray(held, dtype=np.int64), axis=0) >= 2) & (credit > 0.0)
    share = np.where(apply, credit * scan / np.where(apply, total_scan, 1.0), 0.0)
    positive = scan > 0.0
    keep = np.where(apply & positive, (scan - share) / np.where(positive, scan, 1.0), 1.0)
    return keep, share


def worst_underlying(scan_before_credit: ArrayLike, held: ArrayLike) -> IntArray:
    """(n_a,) the underlying whose worst scenario an account reports: the held one with the
    largest scan risk before the correlation credit (the first on ties), -1 when none is held.

    ``scan_before_credit`` and ``held`` are (n_u, n_a): scan risk after the premium cap plus the
    credit taken off it, USD, and whether the account holds the underlying.
    """
    scan = np.asarray(scan_before_credit, dtype=np.float64)
    owned = np.asarray(held, dtype=np.bool_)
    largest = np.full(scan.shape[1:], -1.0)
    worst = np.full(scan.shape[1:], -1, dtype=np.int64)
    for u in range(scan.shape[0]):
        better = owned[u] & (scan[u] > largest)
        largest = np.where(better, scan[u], largest)
        worst = np.where(better, u, worst)
    return worst
