"""Parameters of Deribit's cross-collateral portfolio margin (model ``pm``).

They load from ``config/pm_deribit.toml`` (each value cites its public source there) into frozen
pydantic models: the grid shape and ``mm_factor``; per **pair** (underlying) the scenario and
delta-shock parameters Deribit lists under ``currency_pair``; per **currency** the roll shock,
extended dampener, gain offset and collateral parameters it lists under ``currency``. A parameter
set that exists is valid: every extended move lies beyond every pair's price range (so a tail
scenario's weight ``factor·range/|move|`` is at most the factor) and a shocked-down vol can never
turn negative.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from crossmargin.core.errors import InputError
from crossmargin.margin.common import STABLE_CURRENCIES
from crossmargin.margin.parameters import load_parameters
from crossmargin.riskparams import RiskParameterSet

__all__ = [
    "DEFAULT_FILE",
    "STABLE_CURRENCIES",
    "EquitySideImpact",
    "PmCurrencyParameters",
    "PmPairParameters",
    "PortfolioMarginParameters",
    "load_pm_parameters",
    "parameters_with",
]

DEFAULT_FILE = "pm_deribit.toml"


AssetCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]+$")]


class EquitySideImpact(StrEnum):
    """Whether a currency's collateral balance enters the scenarios of its own pair
    (Deribit's ``equity_side_impact``; the published values are ``both`` and ``none``)."""

    BOTH = "both"
    NONE = "none"


class PmPairParameters(BaseModel):
    """Scenario and delta-shock parameters of one pair (one underlying against USD/USDC).

    Attributes
    ----------
    price_range:
        Largest relative price move of the standard grid (0.16 = ±16 %).
    vol_range_up, vol_range_down:
        Vol shock sizes at 30 days: σ_up = max(σ_K·(1 + up·x), min_vol_for_shock_up),
        σ_down = σ_K·(1 − down·x), x = (30/DTE)^power, σ_K each option's own vol.
    short_term_vega_power, long_term_vega_power:
        ``power`` below / from ``vega_power_pivot_days`` days to expiry.
    vega_power_pivot_days:
        The pivot of the term structure (30 days).
    min_vol_for_shock_up:
        Floor of a shocked-up vol (annual).
    min_days_for_vol_shock:
        Days to expiry are floored here before scaling, so a shock stays finite at expiry.
    extended_table_factor:
        Fraction of an extended scenario's P&L that counts, before the range/|move| scaling.
    max_delta_shock, delta_shock_threshold_usd, delta_shock_increment_per_coin:
        Liquidity delta shock: a net delta δ (coin) beyond the threshold costs
        |δ|·S·min(max_delta_shock, increment·(|δ| − threshold/S)).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    price_range: float = Field(gt=0.0, lt=1.0)
    vol_range_up: float = Field(ge=0.0, le=10.0)
    vol_range_down: float = Field(ge=0.0, lt=1.0)
    short_term_vega_power: float = Field(ge=0.0, le=2.0)
    long_term_vega_power: float = Field(ge=0.0, le=2.0)
    vega_power_pivot_days: float = Field(gt=0.0, le=3650.0)
    min_vol_for_shock_up: float = Field(ge=0.0, le=10.0)
    min_days_for_vol_shock: float = Field(gt=0.0, le=365.0)
    extended_table_factor: float = Field(ge=0.0, le=1.0)
    max_delta_shock: float = Field(ge=0.0, le=1.0)
    delta_shock_threshold_usd: float = Field(ge=0.0, le=1e15)
    delta_shock_increment_per_coin: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _down_shock_keeps_vol_positive(self) -> Self:
        days = min(self.min_days_for_vol_shock, self.vega_power_pivot_days)
        power = max(self.short_term_vega_power, self.long_term_vega_power)
        scale = (self.vega_power_pivot_days / days) ** power
        if self.vol_range_down * scale >= 1.0:
            raise ValueError(
                f"vol_range_down × (pivot/min_days)^power = {self.vol_range_down * scale:.4g} "
                "must be < 1 so a shocked-down vol stays positive"
            )
        return self


class PmCurrencyParameters(BaseModel):
    """Parameters of one settlement or collateral currency.

    Attributes
    ----------
    annualised_move_risk, min_annualised_move:
        Roll shock per futures bucket: max(annualised_move_risk·T, min_annualised_move) × |net
        coin| (T in years; a perpetual has T = 0 and pays the minimum).
    extended_dampener_usd:
        USD per unit of (|move|/range − 1) by which an extended scenario's P&L shrinks to zero.
    pnl_offset:
        Fraction of a risk vector's gain that offsets other vectors' losses in the same scenario.
    max_offsetable_pnl_usd:
        Cap of that offset, USD.
    haircut:
        Fraction of a positive balance (1 + haircut for a negative one) that enters the scenarios.
    equity_side_impact:
        Whether the balance enters the scenarios of its own pair (:class:`EquitySideImpact`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    annualised_move_risk: float = Field(ge=0.0, le=10.0)
    min_annualised_move: float = Field(ge=0.0, le=1.0)
    extended_dampener_usd: float = Field(ge=0.0, le=1e12)
    pnl_offset: float = Field(ge=0.0, le=1.0)
    max_offsetable_pnl_usd: float = Field(ge=0.0, le=1e15)
    haircut: float = Field(ge=0.0, lt=1.0)
    equity_side_impact: EquitySideImpact


class PortfolioMarginParameters(BaseModel):
    """Versioned portfolio-margin parameters: grid shape, IM → MM, per pair, per currency.

    Attributes
    ----------
    version:
        Recorded in every result.
    buckets_per_side:
        Price points on each side of zero (4 → 9 points from −range to +range).
    extended_moves:
        Relative moves of the extended (tail) table, run with vol up only.
    mm_factor:
        Maintenance margin = mm_factor × initial margin, component by component.
    pairs, pair_fallback:
        Parameters per underlying; any other underlying uses ``pair_fallback``.
    currencies, currency_fallback:
        Parameters per currency; any other currency uses ``currency_fallback``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(min_length=1)
    buckets_per_side: int = Field(ge=1, le=50)
    extended_moves: tuple[float, ...] = Field(max_length=64)
    mm_factor: float = Field(gt=0.0, le=1.0)
    pairs: dict[AssetCode, PmPairParameters] = Field(default_factory=dict)
    pair_fallback: PmPairParameters
    currencies: dict[AssetCode, PmCurrencyParameters] = Field(default_factory=dict)
    currency_fallback: PmCurrencyParameters

    @model_validator(mode="after")
    def _extended_moves_beyond_every_range(self) -> Self:
        widest = max(
            [self.pair_fallback.price_range] + [p.price_range for p in self.pairs.values()]
        )
        for index, move in enumerate(self.extended_moves):
            if move <= -1.0:
                raise ValueError(f"extended_moves[{index}] = {move} must be > -1")
            if abs(move) <= widest:
                raise ValueError(
                    f"extended_moves[{index}] = {move} must lie beyond every price_range "
                    f"(widest {widest})"
                )
        if len(set(self.extended_moves)) != len(self.extended_moves):
            raise ValueError("extended_moves must be distinct")
        return self

    def for_pair(self, underlying: str) -> PmPairParameters:
        """Parameters of the pair of ``underlying`` (``"BTC"``), or the fallback."""
        return self.pairs.get(underlying, self.pair_fallback)

    def for_currency(self, currency: str) -> PmCurrencyParameters:
        """Parameters of ``currency`` (``"ETH"``, ``"USDC"``), or the fallback."""
        return self.currencies.get(currency, self.currency_fallback)

    def balance_enters(self, currency: str) -> bool:
        """Whether a balance of ``currency`` is a position in its own pair's scenarios: a coin
        (not a stablecoin) whose ``equity_side_impact`` is ``both``."""
        return (
            currency not in STABLE_CURRENCIES
            and self.for_currency(currency).equity_side_impact is EquitySideImpact.BOTH
        )

    def balance_weight(self, currency: str, balance: float) -> float:
        """Share of ``balance`` (coin) that enters the scenarios: (1 − haircut) of a positive
        balance, (1 + haircut) of a negative one, 0 when the balance does not enter."""
        if not self.balance_enters(currency):
            return 0.0
        haircut = self.for_currency(currency).haircut
        return 1.0 - haircut if balance >= 0.0 else 1.0 + haircut


def load_pm_parameters(path: str | Path | None = None) -> PortfolioMarginParameters:
    """Load portfolio-margin parameters from ``path``, or the shipped ``config/pm_deribit.toml``
    when ``path`` is None (:class:`InputError` naming the field on any problem)."""
    return load_parameters(PortfolioMarginParameters, DEFAULT_FILE, path)


def _sets(
    risk_parameters: RiskParameterSet | Mapping[str, RiskParameterSet],
) -> list[RiskParameterSet]:
    if isinstance(risk_parameters, RiskParameterSet):
        return [risk_parameters]
    for asset, chosen in risk_parameters.items():
        if chosen.asset != asset:
            raise InputError(f"risk_parameters.{asset}", chosen.asset, f"must be for {asset}")
    return [risk_parameters[asset] for asset in sorted(risk_parameters)]


def parameters_with(
    parameters: PortfolioMarginParameters,
    risk_parameters: RiskParameterSet | Mapping[str, RiskParameterSet],
) -> PortfolioMarginParameters:
    """``parameters`` with each set's pair overridden by
    :meth:`~crossmargin.riskparams.RiskParameterSet.pm_overrides` (``price_range``,
    ``vol_range_up``, ``vol_range_down``; fractions) for the set's asset.

    Parameters
    ----------
    parameters:
        The base portfolio-margin parameters (``config/pm_deribit.toml``).
    risk_parameters:
        One set, or sets by asset (each keyed by its own ``asset``). An asset without a pair
        table of its own gets a copy of ``pair_fallback`` with the overrides.

    Returns
    -------
    PortfolioMarginParameters
        Validated again (the extended moves must still lie beyond every price range); its
        ``version`` records the base version and each set's version and start, e.g.
        ``"deribit-xpm-2026-02-15.1; BTC riskparams 2026-12-01.1/buffer 25 % from
        2022-06-14T00:00:00Z"``, so every margin result names the parameters it used.

    Raises
    ------
    InputError
        A set that does not fit (a range the pair table refuses, or one reaching an extended
        move), naming ``risk_parameters.<asset>.<field>``.
    """
    chosen = _sets(risk_parameters)
    pairs = dict(parameters.pairs)
    version = parameters.version
    for item in chosen:
        base = parameters.for_pair(item.asset).model_dump()
        try:
            pairs[item.asset] = PmPairParameters.model_validate(base | item.pm_overrides())
        except ValidationError as error:
            first = error.errors()[0]
            location = ".".join(str(part) for part in first["loc"]) or "pair"
            raise InputError(
                f"risk_parameters.{item.asset}.{location}", first.get("input"), first["msg"]
            ) from None
        version += (
            f"; {item.asset} riskparams {item.version} from {item.valid_from:%Y-%m-%dT%H:%M:%SZ}"
        )
    document = parameters.model_dump() | {"pairs": pairs, "version": version}
    try:
        return PortfolioMarginParameters.model_validate(document)
    except ValidationError as error:
        assets = ", ".join(item.asset for item in chosen)
        raise InputError(f"risk_parameters.{assets}", None, error.errors()[0]["msg"]) from None
