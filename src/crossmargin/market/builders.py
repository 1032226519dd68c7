"""Build a :class:`MarketSnapshot` from the ``[market]`` table of a portfolio file.

```toml
[market]
valuation_time = "2024-03-11T15:17:00Z"      # ISO-8601 with a zone, or a TOML datetime
rate_annual = 0.0                             # optional, default 0 (0.05 = 5 %, |r| <= 1)
index_usd = { BTC = 72000.0, ETH = 4000.0 }   # USD per coin
vol_annual = { ETH = 0.70 }                   # flat vol per underlying (0.7 = 70 %, <= 5)
forwards_usd = { "BTC-27DEC24" = 75000.0 }    # optional; key "BTC-27DEC24", "BTC:27DEC24" or
                                              # "BTC:2024-12-27T08:00:00Z"
[[market.smile]]                              # one table per (underlying, expiry)
underlying = "BTC"
expiry = "27DEC24"                            # Deribit date (08:00 UTC) or ISO-8601 timestamp
strikes = [60000, 70000, 80000]               # USD; or log_moneyness = [...] (ln K/F)
vols_annual = [0.65, 0.60, 0.62]
```

A smile given by strikes is placed at ``ln(K / F)`` with ``F`` the explicit forward of its expiry,
else ``index * exp(rate_annual * t)``. An underlying has either a flat vol or smiles, never both.
Unknown keys are rejected. Every error is an :class:`InputError` naming the dotted path
(``market.smile[1].vols_annual[2]``) and the value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from crossmargin.core.errors import InputError
from crossmargin.core.timeutil import parse_utc
from crossmargin.instruments import InstrumentKind, parse_expiry, parse_instrument
from crossmargin.market._checks import (
    asset_code,
    finite_number,
    plausible_rate,
    plausible_vol,
    positive_number,
    prefixed_errors,
)
from crossmargin.market.snapshot import MarketSnapshot
from crossmargin.market.surface import VolSmile, VolSurface

__all__ = ["market_from_dict", "parse_expiry_text"]

_MARKET_KEYS = ("valuation_time", "rate_annual", "index_usd", "vol_annual", "forwards_usd", "smile")
_SMILE_KEYS = ("underlying", "expiry", "strikes", "log_moneyness", "vols_annual")
_DERIBIT_DATE = re.compile(r"\d{1,2}[A-Z]{3}\d{2}")


def market_from_dict(raw: Mapping[str, Any], field_prefix: str = "market") -> MarketSnapshot:
    """Build a validated :class:`MarketSnapshot` from a parsed ``[market]`` table.

    Parameters
    ----------
    raw:
        The table as parsed from TOML or JSON (see the module docstring for the layout).
    field_prefix:
        Dotted path of the table, prepended to every error's field name.

    Returns
    -------
    MarketSnapshot
        Prices in USD per coin, vols annual, the rate annual and continuously compounded.
    """
    prefix = field_prefix
    table = _table(raw, prefix)
    _reject_unknown(table, _MARKET_KEYS, prefix)
    if "valuation_time" not in table:
        raise InputError(f"{prefix}.valuation_time", None, "is required")
    valuation_time = parse_utc(table["valuation_time"], f"{prefix}.valuation_time")
    rate = plausible_rate(table.get("rate_annual", 0.0), f"{prefix}.rate_annual")
    index = {
        asset: positive_number(value, f"{prefix}.index_usd.{asset}")
        for asset, value in _asset_table(table.get("index_usd", {}), f"{prefix}.index_usd").items()
    }
    flat = {
        asset: plausible_vol(value, f"{prefix}.vol_annual.{asset}")
        for asset, value in _asset_table(
            table.get("vol_annual", {}), f"{prefix}.vol_annual"
        ).items()
    }
    forwards = _forwards(table.get("forwards_usd", {}), f"{prefix}.forwards_usd", valuation_time)
    with prefixed_errors(prefix):
        base = MarketSnapshot(valuation_time, index, rate, {}, forwards)
    smiles = _smiles(table.get("smile", []), f"{prefix}.smile", base, prefix)
    for asset, vol in flat.items():
        if asset in smiles:
            raise InputError(
                f"{prefix}.vol_annual.{asset}",
                vol,
                f"{asset} also has smiles in {prefix}.smile; give a flat vol or smiles, not both",
            )
    surfaces = {asset: VolSurface.flat(vol) for asset, vol in flat.items()}
    surfaces.update({asset: VolSurface.from_smiles(group) for asset, group in smiles.items()})
    with prefixed_errors(prefix):
        return MarketSnapshot(valuation_time, index, rate, surfaces, forwards)


def parse_expiry_text(raw: object, field: str) -> datetime:
    """Parse an expiry given as a Deribit date (``"27DEC24"`` -> 08:00 UTC), an ISO-8601
    timestamp with a zone, or a timezone-aware datetime. Returns a UTC datetime."""
    if isinstance(raw, str) and _DERIBIT_DATE.fullmatch(raw.strip()):
        try:
            return parse_expiry(raw.strip())
        except InputError as error:
            raise InputError(field, raw, error.reason) from None
    if isinstance(raw, str | datetime):
        return parse_utc(raw, field)
    raise InputError(field, raw, "must be a date like 27DEC24 or an ISO-8601 timestamp")


def _table(raw: object, field: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise InputError(field, raw, "must be a table")
    return raw


def _reject_unknown(table: Mapping[str, Any], allowed: tuple[str, ...], field: str) -> None:
    for key in table:
        if key not in allowed:
            raise InputError(
                f"{field}.{key}", table[key], f"unknown key; expected one of {', '.join(allowed)}"
            )


def _asset_table(raw: object, field: str) -> dict[str, object]:
    table = _table(raw, field)
    return {asset_code(key, f"{field}.{key}"): value for key, value in table.items()}


def _number_list(raw: object, field: str) -> list[float]:
    if not isinstance(raw, list | tuple) or not raw:
        raise InputError(field, raw, "must be a non-empty list of numbers")
    return [finite_number(value, f"{field}[{position}]") for position, value in enumerate(raw)]


def _forward_key(key: object, field: str) -> tuple[str, datetime]:
    """``"BTC-27DEC24"`` (a Deribit future name), ``"BTC:27DEC24"`` or ``"BTC:<ISO time>"``."""
    if not isinstance(key, str):
        raise InputError(field, key, "must be a future name like BTC-27DEC24")
    if ":" in key:
        underlying, expiry_text = key.split(":", 1)
        return asset_code(underlying, field), parse_expiry_text(expiry_text, field)
    try:
        instrument = parse_instrument(key)
    except InputError as error:
        raise InputError(field, key, f"is not a future name like BTC-27DEC24 ({error})") from None
    if instrument.kind is not InstrumentKind.FUTURE or instrument.expiry is None:
        raise InputError(field, key, "must name a dated future like BTC-27DEC24")
    return instrument.underlying, instrument.expiry


def _forwards(
    raw: object, field: str, valuation_time: datetime
) -> dict[tuple[str, datetime], float]:
    forwards: dict[tuple[str, datetime], float] = {}
    for key, value in _table(raw, field).items():
        path = f"{field}.{key}"
        underlying, expiry = _forward_key(key, path)
        if expiry < valuation_time:
            raise InputError(
                path,
                expiry.isoformat(),
                f"expiry is before valuation_time {valuation_time.isoformat()}",
            )
        if (underlying, expiry) in forwards:
            raise InputError(path, value, "a forward for this underlying and expiry is already set")
        forwards[(underlying, expiry)] = positive_number(value, path)
    return forwards


def _smiles(
    raw: object, field: str, base: MarketSnapshot, prefix: str
) -> dict[str, list[VolSmile]]:
    if not isinstance(raw, list | tuple):
        raise InputError(field, raw, "must be a list of tables ([[market.smile]])")
    smiles: dict[str, list[VolSmile]] = {}
    seen: set[tuple[str, datetime]] = set()
    for position, entry in enumerate(raw):
        path = f"{field}[{position}]"
        table = _table(entry, path)
        _reject_unknown(table, _SMILE_KEYS, path)
        for required in ("underlying", "expiry", "vols_annual"):
            if required not in table:
                raise InputError(f"{path}.{required}", None, "is required")
        underlying = asset_code(table["underlying"], f"{path}.underlying")
        expiry = parse_expiry_text(table["expiry"], f"{path}.expiry")
        if expiry < base.valuation_time:
            raise InputError(
                f"{path}.expiry",
                table["expiry"],
                f"is before valuation_time {base.valuation_time.isoformat()}",
            )
        if (underlying, expiry) in seen:
            raise InputError(f"{path}.expiry", table["expiry"], f"second smile for {underlying}")
        seen.add((underlying, expiry))
        smiles.setdefault(underlying, []).append(
            _smile(table, path, underlying, expiry, base, prefix)
        )
    return smiles


def _smile(
    table: Mapping[str, Any],
    path: str,
    underlying: str,
    expiry: datetime,
    base: MarketSnapshot,
    prefix: str,
) -> VolSmile:
    if ("strikes" in table) == ("log_moneyness" in table):
        raise InputError(path, sorted(table), "give exactly one of strikes and log_moneyness")
    vols = [
        plausible_vol(vol, f"{path}.vols_annual[{position}]")
        for position, vol in enumerate(_number_list(table["vols_annual"], f"{path}.vols_annual"))
    ]
    if "strikes" in table:
        strikes = _number_list(table["strikes"], f"{path}.strikes")
        with prefixed_errors(prefix):
            forward = base.forward(underlying, expiry)
        with prefixed_errors(path):
            return VolSmile.from_strikes(expiry, strikes, vols, forward)
    moneyness = _number_list(table["log_moneyness"], f"{path}.log_moneyness")
    with prefixed_errors(path):
        return VolSmile(expiry, np.asarray(moneyness), np.asarray(vols))
