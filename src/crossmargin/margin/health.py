"""Account health, written once: the margin ratio, the liquidation predicate and the health bands.

All of them work on one account (``float`` or ledger ``Decimal`` amounts) and on many at once
(float64 arrays, one element per account) with the same rule, so :class:`MarginResult`, the book
engine and a pre-trade check cannot disagree about an account.

* **Margin ratio** = maintenance margin / equity, Deribit's convention: 0.5 means half of the
  equity is needed to stay open; above 1.0 the account is liquidatable.
* **Liquidatable** iff maintenance margin > 0 and equity < maintenance margin. Equity exactly at
  the maintenance margin is still safe, and an account with no maintenance margin has nothing to
  liquidate: a negative equity there is bad debt, not a liquidation (dYdX's ``IsLiquidatable``
  says the same).
* **Health state** (:class:`HealthState`), from the bands of :class:`HealthBands`, written as
  equity / MM (the inverse of the margin ratio) with Binance portfolio margin's published bands as
  defaults: healthy ≥ 1.5, warning 1.2–1.5, reduce-only 1.05–1.2, liquidatable < 1.05, bankrupt
  when equity ≤ 0. A boundary value belongs to the safer state.

How the predicate and the bands relate: :func:`is_liquidatable` is the hard breach (equity < MM);
the ``liquidatable`` band may start earlier, with a buffer (``reduce_only_from`` = 1.05 by
default), and bands never start it later (``reduce_only_from`` ≥ 1 is enforced). So
``is_liquidatable`` implies the state is liquidatable or bankrupt, and with
``HealthBands(..., reduce_only_from=1.0)`` the two agree on every account with positive equity.
An account with no maintenance margin and equity ≤ 0 is bankrupt but not liquidatable: bad debt
with nothing to liquidate.

Only numpy and the standard library are imported: nothing above ``margin``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "DEFAULT_HEALTH_BANDS",
    "HEALTH_STATES",
    "AccountHealth",
    "HealthBands",
    "HealthState",
    "assess_health",
    "equity_to_maintenance",
    "health_codes",
    "health_state",
    "is_liquidatable",
    "margin_ratio",
]

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
        otherwise (``inf`` too when that quotient overflows float64). Above 1.0 the account is
        liquidatable (:func:`is_liquidatable` decides on the amounts themselves, not on this
        rounded quotient). ``Decimal`` amounts are divided
        exactly (in the current decimal context) and the quotient is rounded once to float.
    """
    scalar = np.ndim(maintenance_margin) == 0 and np.ndim(equity) == 0
    maintenance, own_equity = np.broadcast_arrays(
        np.atleast_1d(np.asarray(maintenance_margin)), np.atleast_1d(np.asarray(equity))
    )
    due = maintenance > 0
    ratio = np.where(due, np.inf, 0.0)
    covered = due & (own_equity > 0)
    with np.errstate(over="ignore"):  # MM / a subnormal equity: the ratio is inf, as stated
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


class HealthState(StrEnum):
    """How safe an account is, from the safest to the worst (values as ``--json`` prints them)."""

    HEALTHY = "healthy"
    WARNING = "warning"
    REDUCE_ONLY = "reduce-only"
    LIQUIDATABLE = "liquidatable"
    BANKRUPT = "bankrupt"


#: The states in order; an array answer of :func:`health_codes` holds indices into this tuple.
HEALTH_STATES: tuple[HealthState, ...] = tuple(HealthState)


@dataclass(frozen=True, slots=True)
class HealthBands:
    """Lower edges of the health bands, as equity / maintenance margin (dimensionless).

    An account with equity / MM ≥ ``healthy_from`` is healthy, ≥ ``warning_from`` in warning,
    ≥ ``reduce_only_from`` reduce-only, below it liquidatable; equity ≤ 0 is bankrupt whatever
    the bands. A value on an edge belongs to the safer state. Defaults: Binance portfolio margin's
    published uniMMR bands (1.5 / 1.2 / 1.05). A bands object that exists is valid: every edge is
    finite, ``healthy_from > warning_from > reduce_only_from ≥ 1`` (so an account below its
    maintenance margin is never better than liquidatable).
    """

    healthy_from: float = 1.5
    warning_from: float = 1.2
    reduce_only_from: float = 1.05

    def __post_init__(self) -> None:
        edges = (self.healthy_from, self.warning_from, self.reduce_only_from)
        if not all(isinstance(e, int | float) and math.isfinite(e) for e in edges):
            raise ValueError(f"health bands must be finite numbers, got {edges}")
        if not self.healthy_from > self.warning_from > self.reduce_only_from >= 1.0:
            raise ValueError(
                "health bands need healthy_from > warning_from > reduce_only_from >= 1 "
                f"(equity / maintenance margin), got {edges}"
            )

    @property
    def edges(self) -> tuple[float, float, float]:
        """``(healthy_from, warning_from, reduce_only_from)``, safest first."""
        return (self.healthy_from, self.warning_from, self.reduce_only_from)


#: Binance portfolio margin's bands: healthy ≥ 1.5, warning ≥ 1.2, reduce-only ≥ 1.05.
DEFAULT_HEALTH_BANDS = HealthBands()


@overload
def equity_to_maintenance(equity: Decimal, maintenance_margin: Decimal) -> float: ...
@overload
def equity_to_maintenance(equity: float, maintenance_margin: float) -> float: ...
@overload
def equity_to_maintenance(equity: FloatArray, maintenance_margin: FloatArray) -> FloatArray: ...
def equity_to_maintenance(equity: Any, maintenance_margin: Any) -> float | FloatArray:
    """Equity / maintenance margin, the quantity the health bands are written in.

    Returns
    -------
    float or (n,) float64 array
        Dimensionless (1.5 = equity is one and a half times the maintenance margin): ``inf`` when
        no maintenance margin is due and equity > 0; ``-inf`` when none is due and equity ≤ 0
        (bankrupt, nothing to liquidate); equity / MM otherwise (≤ 0 when equity ≤ 0). The
        inverse of :func:`margin_ratio` wherever both are finite and positive.
    """
    scalar = np.ndim(maintenance_margin) == 0 and np.ndim(equity) == 0
    own_equity, maintenance = np.broadcast_arrays(
        np.atleast_1d(np.asarray(equity)), np.atleast_1d(np.asarray(maintenance_margin))
    )
    due = maintenance > 0
    quotient = np.where(own_equity > 0, np.inf, -np.inf).astype(np.float64)
    quotient[due] = (own_equity[due] / maintenance[due]).astype(np.float64)
    return float(quotient[0]) if scalar else quotient


def _band_index(equity: Any, maintenance: Any, bands: HealthBands) -> NDArray[np.int8]:
    """Index into :data:`HEALTH_STATES` of each account (arrays of equal shape, ≥ 1-d)."""
    codes = np.full(np.shape(equity), HEALTH_STATES.index(HealthState.LIQUIDATABLE), np.int8)
    if equity.dtype == object:  # Decimal amounts: compare exactly with the decimal edges

        def at_least(edge: float) -> NDArray[np.bool_]:
            return np.array(
                [e >= Decimal(repr(edge)) * m for e, m in zip(equity, maintenance, strict=True)],
                dtype=np.bool_,
            ).reshape(np.shape(equity))
    else:  # floats: the correctly rounded quotient hits a decimal edge exactly at the edge
        quotient = np.divide(
            equity, maintenance, out=np.full(np.shape(equity), np.inf), where=maintenance > 0
        )

        def at_least(edge: float) -> NDArray[np.bool_]:
            return np.asarray(quotient >= edge)

    for code in (2, 1, 0):  # reduce-only, warning, healthy: the safer state wins on an edge
        codes[at_least(bands.edges[code])] = code
    codes[maintenance <= 0] = 0
    codes[equity <= 0] = HEALTH_STATES.index(HealthState.BANKRUPT)
    return codes


def health_codes(
    equity: FloatArray, maintenance_margin: FloatArray, bands: HealthBands = DEFAULT_HEALTH_BANDS
) -> NDArray[np.int8]:
    """:func:`health_state` of many accounts at once, as indices into :data:`HEALTH_STATES`.

    Parameters
    ----------
    equity, maintenance_margin:
        (n,) float64 arrays in USD, one element per account.
    bands:
        The band edges (default Binance portfolio margin's).

    Returns
    -------
    (n,) int8 array: 0 healthy, 1 warning, 2 reduce-only, 3 liquidatable, 4 bankrupt.
    """
    own_equity, maintenance = np.broadcast_arrays(
        np.asarray(equity, dtype=np.float64), np.asarray(maintenance_margin, dtype=np.float64)
    )
    return _band_index(own_equity, maintenance, bands)


def health_state(
    equity: float | Decimal,
    maintenance_margin: float | Decimal,
    bands: HealthBands = DEFAULT_HEALTH_BANDS,
) -> HealthState:
    """The health state of one account.

    Parameters
    ----------
    equity:
        Equity in USD (``float`` or ledger ``Decimal``), may be negative.
    maintenance_margin:
        Maintenance margin in the same currency and form, ≥ 0.
    bands:
        The band edges as equity / MM (default :data:`DEFAULT_HEALTH_BANDS`).

    Returns
    -------
    HealthState
        ``BANKRUPT`` when equity ≤ 0; ``HEALTHY`` when no maintenance margin is due; otherwise
        the band of equity / MM, an edge belonging to the safer state. ``Decimal`` amounts are
        compared exactly with the decimal edges (1.05 × 1000 = 1050 is reduce-only).
    """
    is_decimal = isinstance(equity, Decimal) or isinstance(maintenance_margin, Decimal)
    dtype = object if is_decimal else np.float64
    if is_decimal:
        own_equity = np.array([Decimal(equity)], dtype=object)
        maintenance = np.array([Decimal(maintenance_margin)], dtype=object)
    else:
        own_equity = np.array([equity], dtype=dtype)
        maintenance = np.array([maintenance_margin], dtype=dtype)
    return HEALTH_STATES[int(_band_index(own_equity, maintenance, bands)[0])]


@dataclass(frozen=True, slots=True)
class AccountHealth:
    """The verdict on one account: its state, the two ratios and why.

    Attributes
    ----------
    state:
        The :class:`HealthState`.
    margin_ratio:
        MM / equity (dimensionless), ``None`` when not finite (margin due and equity ≤ 0).
    equity_to_maintenance:
        Equity / MM, the band quantity; ``None`` when not finite (no maintenance margin due).
    reason:
        One sentence saying why the account is in its state, naming the band.
    """

    state: HealthState
    margin_ratio: float | None
    equity_to_maintenance: float | None
    reason: str


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def assess_health(
    equity: float | Decimal,
    maintenance_margin: float | Decimal,
    bands: HealthBands = DEFAULT_HEALTH_BANDS,
) -> AccountHealth:
    """The :class:`AccountHealth` of one account (amounts in USD, ``float`` or ``Decimal``)."""
    state = health_state(equity, maintenance_margin, bands)
    if isinstance(equity, Decimal) or isinstance(maintenance_margin, Decimal):
        exact_equity, exact_maintenance = Decimal(equity), Decimal(maintenance_margin)
        ratio = margin_ratio(exact_maintenance, exact_equity)
        cover = equity_to_maintenance(exact_equity, exact_maintenance)
    else:
        ratio = margin_ratio(float(maintenance_margin), float(equity))
        cover = equity_to_maintenance(float(equity), float(maintenance_margin))
    if state is HealthState.BANKRUPT:
        reason = (
            "equity ≤ 0: nothing left to cover the maintenance margin"
            if maintenance_margin > 0
            else "equity ≤ 0 and no maintenance margin due: bad debt, nothing to liquidate"
        )
    elif maintenance_margin <= 0:
        reason = "no maintenance margin due"
    else:
        edges = bands.edges
        names = {
            HealthState.HEALTHY: f"equity / MM ≥ {edges[0]:g}",
            HealthState.WARNING: f"equity / MM in [{edges[1]:g}, {edges[0]:g})",
            HealthState.REDUCE_ONLY: f"equity / MM in [{edges[2]:g}, {edges[1]:g})",
            HealthState.LIQUIDATABLE: f"equity / MM < {edges[2]:g}",
        }
        reason = names[state]
    return AccountHealth(state, _finite_or_none(ratio), _finite_or_none(cover), reason)
