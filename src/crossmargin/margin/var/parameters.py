"""Risk parameters of the VaR / expected-shortfall model (filtered historical simulation).

Loaded from ``src/crossmargin/config/var.toml`` (or a user file) into a frozen, validated pydantic
model; the TOML cites the public source of every default.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from crossmargin.margin.parameters import load_parameters

__all__ = ["StressWindow", "VarMeasure", "VarParameters", "load_var_parameters"]

AssetCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]+$")]


class VarMeasure(StrEnum):
    """Which tail statistic sets the margin."""

    EXPECTED_SHORTFALL = "es"
    VALUE_AT_RISK = "var"


class StressWindow(BaseModel):
    """A historical stress period: scenarios whose end date falls in ``start..end`` (inclusive)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str = Field(min_length=1)
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> StressWindow:
        if self.end < self.start:
            raise ValueError(f"stress window {self.label!r}: end {self.end} is before {self.start}")
        return self


class VarParameters(BaseModel):
    """Parameters of :class:`crossmargin.margin.var.model.VarMargin`.

    Attributes
    ----------
    version:
        Parameter-set version recorded in every result.
    confidence:
        Confidence level c of the filtered measure (0.99 = 99 %).
    measure:
        :class:`VarMeasure`: expected shortfall (default) or value at risk.
    horizon_days:
        Margin period of risk h in calendar days; scenarios are overlapping h-day sums of daily
        log returns.
    lookback_days:
        Number of most recent scenario end dates in the filtered set (capped by the history).
    ewma_decay:
        RiskMetrics decay λ of the EWMA volatility filter.
    ewma_seed_days:
        The EWMA variance starts at the mean squared return of the first ``ewma_seed_days``
        returns of each asset's history.
    stress_windows:
        Stress periods for the anti-procyclicality floor.
    stress_confidence:
        Confidence level of the measure computed on the (unfiltered) stress scenarios.
    stress_weight:
        The floor is ``stress_weight`` × stress measure.
    maintenance_ratio:
        MM = ``maintenance_ratio`` × IM.
    min_scenarios:
        Fewer filtered scenarios than this is an error (too little history before the date).
    dvol_proxy:
        Underlying → asset whose DVOL drives its vol moves (for underlyings without a DVOL).
    return_proxy:
        Underlying → asset whose returns stand in on dates before the underlying's history starts.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(min_length=1)
    source: str = ""
    confidence: float = Field(gt=0.5, lt=1.0)
    measure: VarMeasure = VarMeasure.EXPECTED_SHORTFALL
    horizon_days: int = Field(ge=1, le=30)
    lookback_days: int = Field(ge=30, le=36500)
    ewma_decay: float = Field(gt=0.0, lt=1.0)
    ewma_seed_days: int = Field(ge=1, le=365)
    stress_windows: tuple[StressWindow, ...] = ()
    stress_confidence: float = Field(gt=0.5, lt=1.0)
    stress_weight: float = Field(ge=0.0, le=10.0)
    maintenance_ratio: float = Field(gt=0.0, le=1.0)
    min_scenarios: int = Field(ge=1)
    dvol_proxy: dict[AssetCode, AssetCode] = Field(default_factory=dict)
    return_proxy: dict[AssetCode, AssetCode] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _proxies_point_elsewhere(self) -> VarParameters:
        for name, table in (("dvol_proxy", self.dvol_proxy), ("return_proxy", self.return_proxy)):
            for asset, proxy in table.items():
                if asset == proxy:
                    raise ValueError(f"{name}.{asset} must name another asset")
        return self


def load_var_parameters(path: str | Path | None = None) -> VarParameters:
    """Load :class:`VarParameters` from ``path`` or the shipped ``config/var.toml``."""
    return load_parameters(VarParameters, "var.toml", path)
