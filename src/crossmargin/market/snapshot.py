"""The market at one instant: index prices, forwards, vol surfaces, the rate and the time.

A :class:`MarketSnapshot` is validated once at construction and immutable afterwards (mappings are
read-only views, arrays are read-only), so every consumer can trust it. Scenario variants are new
snapshots made by :meth:`MarketSnapshot.shocked`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.core.errors import InputError
from crossmargin.core.numeric import STABLECOINS
from crossmargin.core.timeutil import ensure_utc, year_fraction
from crossmargin.market._checks import (
    asset_code,
    expiry_label,
    finite_number,
    positive_number,
    prefixed_errors,
)
from crossmargin.market.surface import VolSurface

__all__ = ["MarketSnapshot"]

_EMPTY_SURFACES: Mapping[str, VolSurface] = MappingProxyType({})
_EMPTY_FORWARDS: Mapping[tuple[str, datetime], float] = MappingProxyType({})


def _forward_key_label(underlying: str, expiry: datetime) -> str:
    """Dotted-path label of an explicit forward: ``BTC-27DEC24`` (08:00 UTC) or
    ``BTC:2024-12-27T12:00:00Z``."""
    label = expiry_label(expiry)
    separator = ":" if ":" in label else "-"
    return f"{underlying}{separator}{label}"


@dataclass(frozen=True)
class MarketSnapshot:
    """Market inputs at ``valuation_time``.

    Attributes
    ----------
    valuation_time:
        Timezone-aware instant of the snapshot (stored in UTC).
    index_usd:
        Index price per asset in USD per coin, ``> 0``. USD, USDC and USDT default to 1.0 when
        absent.
    rate_annual:
        Continuously compounded annual rate used to derive forwards (0.05 = 5 %).
    vol_surfaces:
        Vol surface per underlying.
    forwards_usd:
        Explicit forwards in USD per coin keyed by ``(underlying, expiry)``; an expiry must not be
        before ``valuation_time``. Other expiries use ``index * exp(rate_annual * t_years)``.
    """

    valuation_time: datetime
    index_usd: Mapping[str, float]
    rate_annual: float = 0.0
    vol_surfaces: Mapping[str, VolSurface] = field(default_factory=lambda: _EMPTY_SURFACES)
    forwards_usd: Mapping[tuple[str, datetime], float] = field(
        default_factory=lambda: _EMPTY_FORWARDS
    )

    def __post_init__(self) -> None:
        now = ensure_utc(self.valuation_time, "valuation_time")
        object.__setattr__(self, "valuation_time", now)
        object.__setattr__(self, "rate_annual", finite_number(self.rate_annual, "rate_annual"))
        object.__setattr__(self, "index_usd", MappingProxyType(self._checked_index()))
        object.__setattr__(self, "forwards_usd", MappingProxyType(self._checked_forwards(now)))
        object.__setattr__(self, "vol_surfaces", MappingProxyType(self._checked_surfaces(now)))

    def _checked_index(self) -> dict[str, float]:
        if not isinstance(self.index_usd, Mapping):
            raise InputError("index_usd", self.index_usd, "must be a mapping asset -> USD price")
        index: dict[str, float] = {}
        for asset, price in self.index_usd.items():
            code = asset_code(asset, f"index_usd.{asset}")
            index[code] = positive_number(price, f"index_usd.{code}")
        return dict(sorted(index.items()))

    def _checked_forwards(self, now: datetime) -> dict[tuple[str, datetime], float]:
        if not isinstance(self.forwards_usd, Mapping):
            raise InputError("forwards_usd", self.forwards_usd, "must be a mapping")
        forwards: dict[tuple[str, datetime], float] = {}
        for key, price in self.forwards_usd.items():
            if not isinstance(key, tuple) or len(key) != 2 or not isinstance(key[1], datetime):
                raise InputError("forwards_usd", key, "keys must be (underlying, expiry) tuples")
            underlying = asset_code(key[0], f"forwards_usd.{key[0]}")
            expiry = ensure_utc(key[1], f"forwards_usd.{underlying}")
            path = f"forwards_usd.{_forward_key_label(underlying, expiry)}"
            if expiry < now:
                raise InputError(
                    path, expiry.isoformat(), f"expiry is before valuation_time {now.isoformat()}"
                )
            if (underlying, expiry) in forwards:
                raise InputError(path, price, "duplicate forward for this expiry")
            forwards[(underlying, expiry)] = positive_number(price, path)
        return dict(sorted(forwards.items()))

    def _checked_surfaces(self, now: datetime) -> dict[str, VolSurface]:
        if not isinstance(self.vol_surfaces, Mapping):
            raise InputError("vol_surfaces", self.vol_surfaces, "must be a mapping")
        surfaces: dict[str, VolSurface] = {}
        for underlying, surface in self.vol_surfaces.items():
            code = asset_code(underlying, f"vol_surfaces.{underlying}")
            if not isinstance(surface, VolSurface):
                raise InputError(f"vol_surfaces.{code}", surface, "must be a VolSurface")
            for position, smile in enumerate(surface.smiles):
                if smile.expiry < now:
                    raise InputError(
                        f"vol_surfaces.{code}.smiles[{position}].expiry",
                        smile.expiry.isoformat(),
                        f"is before valuation_time {now.isoformat()}",
                    )
            surfaces[code] = surface
        return dict(sorted(surfaces.items()))

    # ------------------------------------------------------------------ lookups

    def index(self, asset: str) -> float:
        """Index price of ``asset`` in USD per coin (1.0 for an absent USD/USDC/USDT).

        Raises :class:`InputError` naming ``index_usd.<asset>`` when there is no price.
        """
        price = self.index_usd.get(asset)
        if price is not None:
            return price
        if asset in STABLECOINS:
            return 1.0
        raise InputError(f"index_usd.{asset}", None, "no index price for this asset")

    def t_years(self, expiry: datetime) -> float:
        """ACT/365 years from ``valuation_time`` to ``expiry``, to the second; 0 if already past."""
        return max(0.0, year_fraction(self.valuation_time, ensure_utc(expiry, "expiry")))

    def forward(self, underlying: str, expiry: datetime | None) -> float:
        """Forward price of ``underlying`` in USD per coin for delivery at ``expiry``.

        ``None`` (spot, perpetual) gives the index. An explicit forward for ``(underlying,
        expiry)`` wins; otherwise ``index * exp(rate_annual * t_years(expiry))``.
        """
        if expiry is None:
            return self.index(underlying)
        expiry_utc = ensure_utc(expiry, "expiry")
        explicit = self.forwards_usd.get((underlying, expiry_utc))
        if explicit is not None:
            return explicit
        return self.index(underlying) * math.exp(self.rate_annual * self.t_years(expiry_utc))

    def surface(self, underlying: str) -> VolSurface:
        """The vol surface of ``underlying``; :class:`InputError` naming
        ``vol_surfaces.<underlying>`` if there is none."""
        surface = self.vol_surfaces.get(underlying)
        if surface is None:
            raise InputError(f"vol_surfaces.{underlying}", None, "no vol surface for this asset")
        return surface

    def vol(self, underlying: str, expiry: datetime, strike: float) -> float:
        """Annual implied vol of ``underlying`` at ``strike`` (USD) for ``expiry``, read off the
        surface at the forward :meth:`forward` gives for that expiry."""
        surface = self.surface(underlying)
        t_years = self.t_years(expiry)
        forward = self.forward(underlying, expiry)
        return float(surface.vol(strike, t_years, forward, self.valuation_time))

    def vols(
        self,
        underlying: str,
        expiry_t_years: ArrayLike,
        strike: ArrayLike,
        forward: ArrayLike,
    ) -> NDArray[np.float64]:
        """Vectorised :meth:`vol`: annual vols at ``strike`` (USD) for expiries ``expiry_t_years``
        (ACT/365 from ``valuation_time``) and the given forwards (USD); arrays broadcast."""
        return self.surface(underlying).vol(strike, expiry_t_years, forward, self.valuation_time)

    # ------------------------------------------------------------------ scenarios

    def shocked(
        self,
        price_moves: Mapping[str, float],
        vol_shifts: Mapping[str, float] | None = None,
    ) -> MarketSnapshot:
        """A scenario copy of this snapshot.

        Parameters
        ----------
        price_moves:
            Relative move ``m`` per asset (``-0.2`` = down 20 %): the index and every explicit
            forward of that asset become ``S * (1 + m)``. ``m`` must be finite and ``> -1``. An
            absent stablecoin starts from 1.0.
        vol_shifts:
            Additive annual vol shift per underlying (``0.05`` = +5 vol points) applied to the flat
            vol or to every smile node, floored at 1e-4.

        Returns
        -------
        MarketSnapshot
            A new, validated snapshot; this one is unchanged.
        """
        index = dict(self.index_usd)
        forwards = dict(self.forwards_usd)
        for asset, move in price_moves.items():
            path = f"price_moves.{asset}"
            factor = 1.0 + finite_number(move, path)
            if factor <= 0.0:
                raise InputError(path, move, "must be > -1 (a price cannot fall to zero)")
            if asset not in index and asset not in STABLECOINS:
                raise InputError(path, move, "no index price for this asset")
            index[asset] = index.get(asset, 1.0) * factor
            for key in forwards:
                if key[0] == asset:
                    forwards[key] *= factor
        surfaces = dict(self.vol_surfaces)
        for underlying, shift in (vol_shifts or {}).items():
            path = f"vol_shifts.{underlying}"
            amount = finite_number(shift, path)
            if underlying not in surfaces:
                raise InputError(path, shift, "no vol surface for this underlying")
            surfaces[underlying] = surfaces[underlying].shifted(amount)
        with prefixed_errors("shocked"):
            return MarketSnapshot(self.valuation_time, index, self.rate_annual, surfaces, forwards)

    # ------------------------------------------------------------------ serialisation

    def to_dict(self) -> dict[str, Any]:
        """The snapshot as plain JSON/TOML types in the ``[market]`` table layout.

        :func:`crossmargin.market.market_from_dict` rebuilds an equal snapshot from it: smiles are
        written by ``log_moneyness`` (not strikes) so the round trip is exact.
        """
        document: dict[str, Any] = {
            "valuation_time": self.valuation_time.isoformat().replace("+00:00", "Z"),
            "rate_annual": self.rate_annual,
            "index_usd": dict(self.index_usd),
        }
        flat = {
            underlying: surface.flat_vol_annual
            for underlying, surface in self.vol_surfaces.items()
            if surface.flat_vol_annual is not None
        }
        if flat:
            document["vol_annual"] = flat
        if self.forwards_usd:
            document["forwards_usd"] = {
                _forward_key_label(underlying, expiry): price
                for (underlying, expiry), price in self.forwards_usd.items()
            }
        smiles = [
            {
                "underlying": underlying,
                "expiry": expiry_label(smile.expiry),
                "log_moneyness": smile.log_moneyness.tolist(),
                "vols_annual": smile.vols_annual.tolist(),
            }
            for underlying, surface in self.vol_surfaces.items()
            for smile in surface.smiles
        ]
        if smiles:
            document["smile"] = smiles
        return document
