"""The shipped oracle defaults (``crossmargin/config/oracles.toml``), loaded into frozen values."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crossmargin.core.checks import build_from_table, read_config_toml
from crossmargin.core.errors import InputError
from crossmargin.oracles.mark import FundingParams, MarkPriceParams
from crossmargin.oracles.onchain import OracleTiming
from crossmargin.oracles.quotes import OraclePolicy
from crossmargin.oracles.stable_price import StablePriceParams

__all__ = ["OracleParameters", "load_oracle_parameters"]


@dataclass(frozen=True, slots=True)
class OracleParameters:
    """Every oracle parameter of one version (see ``config/oracles.toml`` for the sources)."""

    version: str
    policy: OraclePolicy
    mark: MarkPriceParams
    funding: FundingParams
    stable_price: StablePriceParams
    timing: OracleTiming


def load_oracle_parameters(path: str | Path | None = None) -> OracleParameters:
    """Load ``path`` (TOML) or the shipped ``config/oracles.toml``; a bad or unknown key raises
    :class:`InputError` naming the file and the field."""
    document, source = read_config_toml("oracles.toml", path)
    sections = {"version", "policy", "mark", "funding", "stable_price", "timing"}
    for key in document:
        if key not in sections:
            raise InputError(f"{source}: {key}", document[key], "unknown section")
    version = document.get("version")
    if not isinstance(version, str) or not version:
        raise InputError(f"{source}: version", version, "must be a non-empty string")
    return OracleParameters(
        version=version,
        policy=build_from_table(OraclePolicy, document.get("policy"), f"{source}: policy"),
        mark=build_from_table(MarkPriceParams, document.get("mark"), f"{source}: mark"),
        funding=build_from_table(FundingParams, document.get("funding"), f"{source}: funding"),
        stable_price=build_from_table(
            StablePriceParams, document.get("stable_price"), f"{source}: stable_price"
        ),
        timing=build_from_table(OracleTiming, document.get("timing", {}), f"{source}: timing"),
    )
