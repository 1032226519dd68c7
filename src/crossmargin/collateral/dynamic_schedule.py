"""The shipped dynamic collateral schedule (``crossmargin/config/dynamic_collateral.toml``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from crossmargin.collateral.depeg import DepegParams
from crossmargin.collateral.dynamic import DynamicHaircutParams, HaircutBreakdown, dynamic_haircut
from crossmargin.collateral.haircuts import HaircutSchedule
from crossmargin.collateral.transfer import TransferRoute
from crossmargin.core.checks import build_from_table, check_positive, read_config_toml
from crossmargin.core.errors import InputError

__all__ = ["DynamicCollateralSchedule", "haircuts_at", "load_dynamic_collateral"]


@dataclass(frozen=True)
class DynamicCollateralSchedule:
    """Per-asset dynamic haircut rules, reference depths (USD), the de-peg rule and the
    transfer routes, of one version."""

    version: str
    assets: Mapping[str, DynamicHaircutParams]
    depth_usd: Mapping[str, float]
    depeg: DepegParams
    routes: Mapping[str, TransferRoute]

    def __post_init__(self) -> None:
        for asset in self.assets:
            if asset not in self.depth_usd:
                raise InputError(f"depth_usd.{asset}", None, "every asset needs a reference depth")
        for name in ("assets", "depth_usd", "routes"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def params_for(self, asset: str) -> DynamicHaircutParams:
        """The rule of ``asset``; :class:`InputError` when the schedule has none."""
        try:
            return self.assets[asset]
        except KeyError:
            raise InputError(
                "collateral", asset, f"no dynamic haircut in schedule {self.version!r}"
            ) from None

    def haircut_for(
        self,
        asset: str,
        vol_annual: ArrayLike,
        holding_usd: ArrayLike = 0.0,
        depeg_charge: ArrayLike = 0.0,
    ) -> HaircutBreakdown:
        """:func:`~crossmargin.collateral.dynamic.dynamic_haircut` of ``asset`` against its
        reference depth."""
        return dynamic_haircut(
            self.params_for(asset), vol_annual, holding_usd, self.depth_usd[asset], depeg_charge
        )


def haircuts_at(
    schedule: DynamicCollateralSchedule,
    base: HaircutSchedule,
    vols_annual: Mapping[str, float],
    *,
    holdings_usd: Mapping[str, float] | None = None,
    depeg_charges: Mapping[str, float] | None = None,
    label: str = "",
) -> HaircutSchedule:
    """The static :class:`HaircutSchedule` every margin model takes, valid at one time: each asset
    of ``schedule`` with a vol in ``vols_annual`` gets its dynamic haircut (volatility, size from
    ``holdings_usd`` — USD held, default 0 — and de-peg from ``depeg_charges``, fractions);
    every other currency keeps ``base``'s haircut.

    Parameters
    ----------
    vols_annual:
        Driver vol per asset (annual, 0.6 = 60 %), e.g. DVOL / 100 or an EWMA of returns.
    label:
        What the snapshot is valid at (``"2022-06-14"``), written into the version.

    Returns
    -------
    A schedule whose version names both the dynamic and the base schedule, so every
    :class:`~crossmargin.margin.result.MarginResult` records what it used. A haircut of 1 (an
    asset fully de-pegged) is held just below 1, the largest a :class:`HaircutSchedule` accepts.
    """
    holdings = holdings_usd or {}
    depegs = depeg_charges or {}
    haircuts = dict(base.haircuts)
    for asset, vol in vols_annual.items():
        breakdown = schedule.haircut_for(
            asset, vol, holdings.get(asset, 0.0), depegs.get(asset, 0.0)
        )
        haircuts[asset] = min(float(np.asarray(breakdown.total)), _LARGEST_HAIRCUT)
    at = f" at {label}" if label else ""
    return HaircutSchedule(
        version=f"dynamic {schedule.version}{at} over {base.version}",
        source=f"crossmargin/config/dynamic_collateral.toml; {base.source}",
        haircuts=haircuts,
    )


#: A :class:`HaircutSchedule` holds haircuts in [0, 1): a full de-peg is kept just below 1.
_LARGEST_HAIRCUT = 1.0 - 1e-12


def _table(document: Mapping[str, Any], key: str, source: str) -> Mapping[str, Any]:
    table = document.get(key, {})
    if not isinstance(table, Mapping):
        raise InputError(f"{source}: {key}", table, "must be a table")
    return table


def load_dynamic_collateral(path: str | Path | None = None) -> DynamicCollateralSchedule:
    """Load ``path`` or the shipped ``config/dynamic_collateral.toml``; any bad value raises
    :class:`InputError` naming the file and the field."""
    document, source = read_config_toml("dynamic_collateral.toml", path)
    known = {"version", "depeg", "assets", "depth_usd", "routes"}
    for key in document:
        if key not in known:
            raise InputError(f"{source}: {key}", document[key], "unknown section")
    version = document.get("version")
    if not isinstance(version, str) or not version:
        raise InputError(f"{source}: version", version, "must be a non-empty string")
    assets = {
        name: build_from_table(DynamicHaircutParams, table, f"{source}: assets.{name}")
        for name, table in _table(document, "assets", source).items()
    }
    depths = {
        name: check_positive(value, f"{source}: depth_usd.{name}")
        for name, value in _table(document, "depth_usd", source).items()
    }
    routes = {
        name: build_from_table(
            TransferRoute, {"location": name, **table}, f"{source}: routes.{name}"
        )
        for name, table in _table(document, "routes", source).items()
    }
    depeg = build_from_table(DepegParams, document.get("depeg", {}), f"{source}: depeg")
    return DynamicCollateralSchedule(version, assets, depths, depeg, routes)
