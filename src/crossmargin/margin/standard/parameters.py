"""Parameters of Deribit's standard (per-position) margin, used by the isolated and cross models.

They load from ``config/standard_margin.toml`` (each default cites its public source there) into
frozen pydantic models. A parameter set that exists is valid: every rate lies in its range, an
initial rate is never below the matching maintenance rate, so IM ≥ MM holds for every position.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crossmargin.margin.parameters import load_parameters

__all__ = [
    "DeltaOneRates",
    "OptionRates",
    "StandardMarginParameters",
    "UnderlyingRates",
    "load_standard_parameters",
]

DEFAULT_FILE = "standard_margin.toml"


class DeltaOneRates(BaseModel):
    """Futures/perpetual margin rates that grow with position size (fractions of notional).

    rate = min(base + size_factor_per_coin × |position in coin|, max_rate), for the initial and
    the maintenance margin alike (Deribit: IM 2 % + size × 0.005 %, MM 1 % + size × 0.005 % for
    BTC, with 0.005 % written here as ``0.00005``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    initial_base: float = Field(gt=0.0, le=1.0)
    maintenance_base: float = Field(gt=0.0, le=1.0)
    size_factor_per_coin: float = Field(ge=0.0, le=1.0)
    max_rate: float = Field(gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _initial_not_below_maintenance(self) -> Self:
        if self.initial_base < self.maintenance_base:
            raise ValueError("initial_base must be >= maintenance_base (IM >= MM)")
        if self.max_rate < self.initial_base:
            raise ValueError("max_rate must be >= initial_base")
        return self


class OptionRates(BaseModel):
    """Short-option margin fractions of the underlying (Deribit standard margin).

    Short call: IM = max(initial_fraction − OTM/F, initial_floor)·U + mark,
    MM = maintenance_fraction·U + mark. Short put: MM = max(maintenance_fraction·U,
    maintenance_fraction·mark) + mark, IM = max(max(initial_fraction − OTM/F, initial_floor)·U
    + mark, MM). F is the option's underlying (forward) price, U one coin of underlying in USD.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    initial_fraction: float = Field(gt=0.0, le=1.0)
    initial_floor: float = Field(gt=0.0, le=1.0)
    maintenance_fraction: float = Field(gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.initial_fraction < self.initial_floor:
            raise ValueError("initial_fraction must be >= initial_floor")
        if self.initial_floor < self.maintenance_fraction:
            raise ValueError("initial_floor must be >= maintenance_fraction (IM >= MM)")
        return self


class UnderlyingRates(BaseModel):
    """The futures and option rates of one underlying."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    futures: DeltaOneRates
    options: OptionRates


class StandardMarginParameters(BaseModel):
    """Versioned standard-margin rates per underlying, with a fallback for any other asset."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(min_length=1)
    underlyings: dict[str, UnderlyingRates] = Field(default_factory=dict)
    fallback: UnderlyingRates

    def rates_for(self, underlying: str) -> UnderlyingRates:
        """Rates of ``underlying`` (``"BTC"``), or the fallback when it has none of its own."""
        return self.underlyings.get(underlying, self.fallback)


def load_standard_parameters(path: str | Path | None = None) -> StandardMarginParameters:
    """Load standard-margin parameters from ``path``, or the shipped
    ``config/standard_margin.toml`` when ``path`` is None (``InputError`` on any problem)."""
    return load_parameters(StandardMarginParameters, DEFAULT_FILE, path)
