"""Risk parameters that follow volatility: a parameter set valid at a time.

From an annual vol ``σ̃`` (the driver after any APC tool)::

    price_range    = clamp(price_range_per_vol    × σ̃, floor, cap)
    vol_range_up   = clamp(vol_range_up_per_vol   × σ̃, floor, cap)
    vol_range_down = clamp(vol_range_down_per_vol × σ̃, floor, cap)

and, when a dynamic collateral rule is given, the asset's haircut (base + vol term at ``σ̃``). A
:class:`RiskParameterSet` carries these with the moment it becomes valid; its
:meth:`~RiskParameterSet.pm_overrides` names the fields of ``config/pm_deribit.toml``'s pair table
(``price_range``, ``vol_range_up``, ``vol_range_down``), so a scenario model takes a set by copying
its pair parameters with those values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.collateral.dynamic import DynamicHaircutParams, dynamic_haircut
from crossmargin.core.checks import (
    build_from_table,
    check_fraction,
    check_non_negative,
    read_config_toml,
)
from crossmargin.core.errors import InputError
from crossmargin.core.timeutil import ensure_utc
from crossmargin.riskparams.procyclicality import APCParams

__all__ = [
    "DriverParams",
    "DynamicParameterConfig",
    "DynamicRangeParams",
    "ParameterArrays",
    "RiskParameterSet",
    "VolSource",
    "load_dynamic_parameters",
    "parameters_from_vol",
]

FloatArray = NDArray[np.float64]


class VolSource(StrEnum):
    """What drives the parameters."""

    DVOL = "dvol"
    EWMA = "ewma"


@dataclass(frozen=True, slots=True)
class DynamicRangeParams:
    """Per-vol factors, floors and caps of the scenario parameters (fractions; vol shocks are
    relative, as ``vol_range_up`` in ``pm_deribit.toml``)."""

    price_range_per_vol: float
    price_range_floor: float
    price_range_cap: float
    vol_range_up_per_vol: float
    vol_range_up_floor: float
    vol_range_up_cap: float
    vol_range_down_per_vol: float
    vol_range_down_floor: float
    vol_range_down_cap: float

    def __post_init__(self) -> None:
        for stem in ("price_range", "vol_range_up", "vol_range_down"):
            check_non_negative(getattr(self, f"{stem}_per_vol"), f"ranges.{stem}_per_vol")
            floor = check_fraction(getattr(self, f"{stem}_floor"), f"ranges.{stem}_floor")
            cap = check_fraction(getattr(self, f"{stem}_cap"), f"ranges.{stem}_cap")
            if cap < floor:
                raise InputError(f"ranges.{stem}_cap", cap, f"must be >= the floor {floor}")


@dataclass(frozen=True, slots=True)
class DriverParams:
    """The volatility driver: ``source`` (dvol or ewma) and the EWMA decay λ."""

    source: VolSource = VolSource.DVOL
    ewma_decay: float = 0.94

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "source", VolSource(self.source))
        except ValueError:
            raise InputError("driver.source", self.source, "must be 'dvol' or 'ewma'") from None
        check_fraction(self.ewma_decay, "driver.ewma_decay", high_open=True)


@dataclass(frozen=True, slots=True)
class ParameterArrays:
    """Scenario parameters per day (fractions), from the driver ``vol_annual``."""

    vol_annual: FloatArray
    price_range: FloatArray
    vol_range_up: FloatArray
    vol_range_down: FloatArray
    haircut: FloatArray | None


def _clamped(vol: FloatArray, per_vol: float, floor: float, cap: float) -> FloatArray:
    return np.asarray(np.clip(per_vol * vol, floor, cap), dtype=np.float64)


def parameters_from_vol(
    vol_annual: ArrayLike, ranges: DynamicRangeParams, haircut: DynamicHaircutParams | None = None
) -> ParameterArrays:
    """Scenario parameters (and optionally the haircut) for each driver value.

    Parameters
    ----------
    vol_annual:
        Driver after the APC tool, annual fraction; NaN gives NaN parameters.
    ranges:
        Per-vol factors, floors and caps.
    haircut:
        The asset's dynamic haircut rule (size and de-peg terms not included), or None.
    """
    vol = np.asarray(vol_annual, dtype=np.float64)
    cut = None
    if haircut is not None:
        finite = np.where(np.isfinite(vol), vol, 0.0)
        cut = np.where(np.isfinite(vol), dynamic_haircut(haircut, finite).total, np.nan)
    return ParameterArrays(
        vol_annual=vol,
        price_range=_clamped(
            vol, ranges.price_range_per_vol, ranges.price_range_floor, ranges.price_range_cap
        ),
        vol_range_up=_clamped(
            vol, ranges.vol_range_up_per_vol, ranges.vol_range_up_floor, ranges.vol_range_up_cap
        ),
        vol_range_down=_clamped(
            vol,
            ranges.vol_range_down_per_vol,
            ranges.vol_range_down_floor,
            ranges.vol_range_down_cap,
        ),
        haircut=cut,
    )


@dataclass(frozen=True, slots=True)
class RiskParameterSet:
    """The parameters of one asset valid from ``valid_from`` until the next set.

    Attributes
    ----------
    asset:
        Underlying (``"BTC"``).
    valid_from:
        UTC moment the set applies from (the day after the data it was computed from).
    price_range:
        Scenario price range (0.16 = ±16 %).
    vol_range_up, vol_range_down:
        Relative vol shocks (0.5 = vol × 1.5 up).
    haircut:
        Collateral haircut of the asset (fraction), or None when not computed.
    vol_annual:
        The driver behind the set (after the APC tool), annual fraction.
    version:
        Parameter file version and tool, e.g. ``"2026-12-01.1/buffer 25 %"``.
    """

    asset: str
    valid_from: datetime
    price_range: float
    vol_range_up: float
    vol_range_down: float
    haircut: float | None
    vol_annual: float
    version: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "valid_from", ensure_utc(self.valid_from, "valid_from"))
        for name in ("price_range", "vol_range_up", "vol_range_down"):
            check_fraction(getattr(self, name), name)
        if self.haircut is not None:
            check_fraction(self.haircut, "haircut")
        check_non_negative(self.vol_annual, "vol_annual")

    def pm_overrides(self) -> dict[str, float]:
        """The fields of a ``pm_deribit.toml`` pair table this set replaces."""
        return {
            "price_range": self.price_range,
            "vol_range_up": self.vol_range_up,
            "vol_range_down": self.vol_range_down,
        }


@dataclass(frozen=True, slots=True)
class DynamicParameterConfig:
    """Everything of ``config/dynamic_parameters.toml``."""

    version: str
    ranges: DynamicRangeParams
    driver: DriverParams
    apc: APCParams


def load_dynamic_parameters(path: str | Path | None = None) -> DynamicParameterConfig:
    """Load ``path`` or the shipped ``config/dynamic_parameters.toml``; a bad or unknown key
    raises :class:`InputError` naming the file and the field."""
    document, source = read_config_toml("dynamic_parameters.toml", path)
    for key in document:
        if key not in {"version", "ranges", "driver", "apc"}:
            raise InputError(f"{source}: {key}", document[key], "unknown section")
    version = document.get("version")
    if not isinstance(version, str) or not version:
        raise InputError(f"{source}: version", version, "must be a non-empty string")
    return DynamicParameterConfig(
        version=version,
        ranges=build_from_table(DynamicRangeParams, document.get("ranges"), f"{source}: ranges"),
        driver=build_from_table(DriverParams, document.get("driver", {}), f"{source}: driver"),
        apc=build_from_table(APCParams, document.get("apc", {}), f"{source}: apc"),
    )
