"""Implied-volatility smiles and surfaces.

A :class:`VolSmile` holds the annual Black-76 vols of one expiry on a grid of log-moneyness
``k = ln(K / F)``, where ``F`` is the forward to that expiry. A :class:`VolSurface` is either one
flat vol or a set of smiles, one per expiry. Interpolation:

* within a smile, linear in ``k``, flat beyond the wings;
* across expiries, linear in total variance ``w = sigma**2 * T`` at fixed ``k`` between the two
  bracketing expiries (``T`` in ACT/365 years from the valuation time);
* flat in vol before the first and after the last expiry.

If total variance falls between two expiries (calendar arbitrage in the input), the interpolation
still runs; ``w`` is a convex combination of two non-negative numbers, so the vol is never negative
or NaN.

Because smiles are stored in moneyness, a surface moves with the forward: shocking the forward
keeps the vol of a given ``K / F`` ("sticky moneyness").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.core.errors import InputError
from crossmargin.core.timeutil import ensure_utc, year_fraction
from crossmargin.market._checks import expiry_label, positive_number

__all__ = ["MIN_SHIFTED_VOL_ANNUAL", "VolSmile", "VolSurface"]

#: Floor applied to every vol after an additive scenario shift (0.0001 = 0.01 %).
MIN_SHIFTED_VOL_ANNUAL = 1e-4

FloatArray = NDArray[np.float64]


def _float_vector(raw: ArrayLike, field: str) -> FloatArray:
    """Copy ``raw`` into a one-dimensional, non-empty float64 array of finite numbers."""
    try:
        values = np.array(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(field, raw, "must be a list of numbers") from None
    if values.ndim != 1 or values.size == 0:
        raise InputError(field, raw, "must be a non-empty one-dimensional list of numbers")
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise InputError(f"{field}[{bad[0]}]", float(values[bad[0]]), "must be a finite number")
    return values


def _check_vols(vols: FloatArray, field: str) -> None:
    negative = np.flatnonzero(vols < 0.0)
    if negative.size:
        index = negative[0]
        raise InputError(f"{field}[{index}]", float(vols[index]), "must be >= 0")


def _read_only(values: FloatArray) -> FloatArray:
    values.setflags(write=False)
    return values


#: Smallest gap between two smile nodes in log-moneyness (strikes 1e-9 apart, relative). Closer
#: nodes are a data error, and their slope (vol difference / gap) overflows to infinity.
MIN_NODE_SPACING = 1e-9


@dataclass(frozen=True, eq=False)
class VolSmile:
    """Annual implied vols of one expiry against log-moneyness.

    Attributes
    ----------
    expiry:
        Timezone-aware expiry, stored in UTC.
    log_moneyness:
        ``ln(K / F)`` of each node, strictly increasing (read-only float64 array).
    vols_annual:
        Annual vol at each node, ``>= 0`` (0.6 means 60 %), read-only float64 array.
    """

    expiry: datetime
    log_moneyness: FloatArray
    vols_annual: FloatArray

    def __post_init__(self) -> None:
        object.__setattr__(self, "expiry", ensure_utc(self.expiry, "expiry"))
        moneyness = _float_vector(self.log_moneyness, "log_moneyness")
        vols = _float_vector(self.vols_annual, "vols_annual")
        if vols.shape != moneyness.shape:
            raise InputError(
                "vols_annual", vols.tolist(), f"must have {moneyness.size} elements like the grid"
            )
        _check_vols(vols, "vols_annual")
        steps = np.flatnonzero(np.diff(moneyness) < MIN_NODE_SPACING)
        if steps.size:
            index = steps[0] + 1
            raise InputError(
                f"log_moneyness[{index}]",
                float(moneyness[index]),
                f"must be strictly increasing, at least {MIN_NODE_SPACING:g} above the node "
                "before (closer nodes make the interpolation slope overflow)",
            )
        object.__setattr__(self, "log_moneyness", _read_only(moneyness))
        object.__setattr__(self, "vols_annual", _read_only(vols))

    @classmethod
    def from_strikes(
        cls,
        expiry: datetime,
        strikes: ArrayLike,
        vols_annual: ArrayLike,
        forward_usd: float,
    ) -> VolSmile:
        """Build a smile from vols quoted by strike.

        Parameters
        ----------
        expiry:
            Timezone-aware expiry.
        strikes:
            Strikes in USD per coin, ``> 0``, distinct, in any order.
        vols_annual:
            Annual vol per strike, ``>= 0``.
        forward_usd:
            Forward price to ``expiry`` in USD per coin, ``> 0``; nodes sit at ``ln(K / F)``.

        Returns
        -------
        VolSmile
            Nodes sorted by strike. Errors name ``strikes[i]`` / ``vols_annual[i]`` by input index.
        """
        forward = positive_number(forward_usd, "forward_usd")
        strike_values = _float_vector(strikes, "strikes")
        vols = _float_vector(vols_annual, "vols_annual")
        if vols.shape != strike_values.shape:
            raise InputError(
                "vols_annual",
                vols.tolist(),
                f"must have {strike_values.size} elements like strikes",
            )
        non_positive = np.flatnonzero(strike_values <= 0.0)
        if non_positive.size:
            index = non_positive[0]
            raise InputError(f"strikes[{index}]", float(strike_values[index]), "must be > 0")
        _check_vols(vols, "vols_annual")
        order = np.argsort(strike_values, kind="stable")
        repeats = np.flatnonzero(np.diff(strike_values[order]) == 0.0)
        if repeats.size:
            index = order[repeats[0] + 1]
            raise InputError(f"strikes[{index}]", float(strike_values[index]), "duplicate strike")
        moneyness = np.log(strike_values[order] / forward)
        return cls(expiry, moneyness, vols[order])

    def vol(self, log_moneyness: ArrayLike) -> FloatArray:
        """Annual vol at ``ln(K / F)``: linear between nodes, flat beyond the wings."""
        points = np.asarray(log_moneyness, dtype=np.float64)
        return np.asarray(np.interp(points, self.log_moneyness, self.vols_annual), dtype=np.float64)

    def shifted(self, vol_shift_annual: float) -> VolSmile:
        """Return the smile with ``vol_shift_annual`` added to every node, floored at
        :data:`MIN_SHIFTED_VOL_ANNUAL`."""
        vols = np.maximum(self.vols_annual + vol_shift_annual, MIN_SHIFTED_VOL_ANNUAL)
        return VolSmile(self.expiry, self.log_moneyness.copy(), vols)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VolSmile):
            return NotImplemented
        return (
            self.expiry == other.expiry
            and np.array_equal(self.log_moneyness, other.log_moneyness)
            and np.array_equal(self.vols_annual, other.vols_annual)
        )

    def __hash__(self) -> int:
        return hash((self.expiry, self.log_moneyness.tobytes(), self.vols_annual.tobytes()))


@dataclass(frozen=True)
class VolSurface:
    """A vol surface for one underlying: one flat vol, or smiles by expiry (exactly one of them).

    Attributes
    ----------
    flat_vol_annual:
        Annual vol used for every strike and expiry, ``>= 0``; ``None`` for a smile surface.
    smiles:
        Smiles sorted by expiry, expiries unique; empty for a flat surface.
    """

    flat_vol_annual: float | None = None
    smiles: tuple[VolSmile, ...] = ()

    def __post_init__(self) -> None:
        smiles = tuple(self.smiles)
        if (self.flat_vol_annual is None) == (len(smiles) == 0):
            raise InputError(
                "flat_vol_annual",
                self.flat_vol_annual,
                "give exactly one of a flat vol and a non-empty list of smiles",
            )
        if self.flat_vol_annual is not None:
            flat = float(self.flat_vol_annual)
            if not math.isfinite(flat) or flat < 0.0:
                raise InputError("flat_vol_annual", self.flat_vol_annual, "must be finite and >= 0")
            object.__setattr__(self, "flat_vol_annual", flat)
        for index, smile in enumerate(smiles):
            if not isinstance(smile, VolSmile):
                raise InputError(f"smiles[{index}]", smile, "must be a VolSmile")
        seen: set[datetime] = set()
        for index, smile in enumerate(smiles):
            if smile.expiry in seen:
                raise InputError(
                    f"smiles[{index}].expiry", expiry_label(smile.expiry), "duplicate expiry"
                )
            seen.add(smile.expiry)
        ordered = tuple(sorted(smiles, key=lambda smile: smile.expiry))
        object.__setattr__(self, "smiles", ordered)

    @classmethod
    def flat(cls, vol_annual: float) -> VolSurface:
        """A surface with the same annual vol (``>= 0``) at every strike and expiry."""
        return cls(flat_vol_annual=vol_annual)

    @classmethod
    def from_smiles(cls, smiles: Sequence[VolSmile]) -> VolSurface:
        """A surface from one smile per expiry (any order; expiries must be unique)."""
        return cls(smiles=tuple(smiles))

    @property
    def is_flat(self) -> bool:
        """True for a single flat vol."""
        return self.flat_vol_annual is not None

    def vol(
        self,
        strike: ArrayLike,
        t_years: ArrayLike,
        forward: ArrayLike,
        valuation_time: datetime | None = None,
    ) -> FloatArray:
        """Annual implied vol at ``strike`` for an expiry ``t_years`` ahead (arrays broadcast).

        Parameters
        ----------
        strike:
            Strikes in USD per coin, ``> 0``.
        t_years:
            Time to expiry in ACT/365 years, ``>= 0``.
        forward:
            Forward in USD per coin to that expiry, ``> 0``; moneyness is ``ln(strike / forward)``.
        valuation_time:
            The instant ``t_years`` is measured from; required for a smile surface (it fixes the
            smiles' own times to expiry), ignored for a flat one.

        Returns
        -------
        numpy.ndarray
            Annual vols (float64, ``>= 0``) with the broadcast shape of the inputs.
        """
        strikes, times, forwards = np.broadcast_arrays(
            np.asarray(strike, dtype=np.float64),
            np.asarray(t_years, dtype=np.float64),
            np.asarray(forward, dtype=np.float64),
        )
        _check_positive(strikes, "strike")
        _check_positive(forwards, "forward")
        bad = ~np.isfinite(times) | (times < 0.0)
        if bad.any():
            raise InputError("t_years", float(times[bad][0]), "must be finite and >= 0")
        if self.flat_vol_annual is not None:
            return np.full(strikes.shape, self.flat_vol_annual, dtype=np.float64)
        node_times, smiles = self._live_smiles(valuation_time)
        moneyness = np.log(strikes / forwards)
        vols = _interpolate_total_variance(moneyness.ravel(), times.ravel(), node_times, smiles)
        return vols.reshape(strikes.shape)

    def shifted(self, vol_shift_annual: float) -> VolSurface:
        """Return the surface with ``vol_shift_annual`` added to the flat vol or to every smile
        node, each vol floored at :data:`MIN_SHIFTED_VOL_ANNUAL`."""
        if self.flat_vol_annual is not None:
            return VolSurface.flat(
                max(self.flat_vol_annual + vol_shift_annual, MIN_SHIFTED_VOL_ANNUAL)
            )
        return VolSurface.from_smiles([smile.shifted(vol_shift_annual) for smile in self.smiles])

    def _live_smiles(
        self, valuation_time: datetime | None
    ) -> tuple[FloatArray, tuple[VolSmile, ...]]:
        if valuation_time is None:
            raise InputError("valuation_time", None, "is required for a surface built from smiles")
        now = ensure_utc(valuation_time, "valuation_time")
        live = tuple(smile for smile in self.smiles if smile.expiry >= now)
        if not live:
            raise InputError(
                "valuation_time", now.isoformat(), "is after the expiry of every smile"
            )
        node_times = np.array([year_fraction(now, smile.expiry) for smile in live])
        return node_times, live


def _check_positive(values: FloatArray, field: str) -> None:
    bad = ~np.isfinite(values) | (values <= 0.0)
    if bad.any():
        raise InputError(field, float(values[bad][0]), "must be finite and > 0")


def _interpolate_total_variance(
    moneyness: FloatArray,
    times: FloatArray,
    node_times: FloatArray,
    smiles: Sequence[VolSmile],
) -> FloatArray:
    """Vol at each ``(k, t)`` pair: linear total variance between bracketing smiles, flat vol
    outside. At a node time the node smile's vol is returned exactly."""
    count = len(smiles)
    upper = np.searchsorted(node_times, times, side="left")
    lower = np.clip(upper - 1, 0, count - 1)
    upper_clipped = np.minimum(upper, count - 1)
    vol_lower = np.empty_like(moneyness)
    vol_upper = np.empty_like(moneyness)
    for index, smile in enumerate(smiles):
        at_lower = lower == index
        vol_lower[at_lower] = smile.vol(moneyness[at_lower])
        at_upper = upper_clipped == index
        vol_upper[at_upper] = smile.vol(moneyness[at_upper])
    # Outside the node range both neighbours are the same end smile: flat vol extrapolation.
    result = np.where(upper == 0, vol_upper, vol_lower)
    between = (upper > 0) & (upper < count)
    if between.any():
        t = times[between]
        t_lower = node_times[lower[between]]
        t_upper = node_times[upper_clipped[between]]
        var_lower = vol_lower[between] ** 2 * t_lower
        var_upper = vol_upper[between] ** 2 * t_upper
        weight = (t - t_lower) / (t_upper - t_lower)
        total_variance = np.maximum(var_lower + weight * (var_upper - var_lower), 0.0)
        interpolated = np.sqrt(total_variance / t)
        result[between] = np.where(t == t_upper, vol_upper[between], interpolated)
    return result
