"""External SPAN risk arrays: the JSON file of ``crossmargin span --risk-arrays FILE``.

Minimal form (scan risk only)::

    {"instruments": {"ESZ6": {"combined_commodity": "SP", "risk_array": [16 numbers]}},
     "positions": [{"instrument": "ESZ6", "size": -1}]}

Risk arrays follow CME: loss positive, per +1 unit, scenarios in CME order, 15–16 already
multiplied by their cover fraction. A position's losses are its size times the array (a short
flips the signs). Instrument names are free text; they are never parsed as Deribit names.

Optional extensions, so CME's spread examples can be reproduced:

* per instrument: ``"delta"`` (delta per +1 unit; instruments without it carry no delta),
  ``"month"`` (contract month label, default ``""``), ``"tier"`` (int ≥ 1, default 1),
  ``"option"`` (``"call"`` or ``"put"``: counted for the short option minimum);
* ``"currency"`` (label of the amounts, default ``"USD"``);
* ``"parameters"``: ``{"initial_to_maintenance_ratio": 1.1,
  "commodities": {"SP": {"intra_spreads": [{"tier_a": 1, "tier_b": 2, "charge": 200}],
  "short_option_minimum": 50}},
  "inter_spreads": [{"method": "delta" | "scanning", "credit_rate": 0.55,
  "legs": [{"combined_commodity": "C", "delta_ratio": 2, "side": "A"}, ...]}]}``.
  Intra charges are per spread (1:1 in delta), in priority order; ``short_option_minimum`` is
  per short option (max of short calls and short puts). A scanning spread scans its legs
  together; a commodity may be in one scanning spread and then in no delta spread.

Positions of the same instrument are netted.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.errors import FileInputError, InputError
from crossmargin.core.textfiles import read_text_file
from crossmargin.margin.span.arithmetic import (
    SCENARIO_COUNT,
    CommodityRisk,
    InterLeg,
    InterSpread,
    MonthDelta,
    SpanBreakdown,
    SpreadMethod,
    TierSpread,
    span_requirement,
)

__all__ = [
    "ExternalInstrument",
    "SpanFile",
    "load_span_file",
    "span_file_from_dict",
    "span_file_requirement",
]

_TOP_KEYS = ("instruments", "positions", "parameters", "currency", "name", "description")
_INSTRUMENT_KEYS = ("combined_commodity", "risk_array", "delta", "month", "tier", "option")
_PARAMETER_KEYS = ("initial_to_maintenance_ratio", "commodities", "inter_spreads")
_COMMODITY_KEYS = ("intra_spreads", "short_option_minimum")


@dataclass(frozen=True, slots=True)
class ExternalInstrument:
    """A contract of the file: its combined commodity and CME-convention risk array (16,)."""

    name: str
    combined_commodity: str
    risk_array: NDArray[np.float64]
    delta: float | None = None
    month: str = ""
    tier: int = 1
    option: str | None = None


@dataclass(frozen=True, slots=True)
class SpanFile:
    """A validated risk-array file: instruments, net positions and spread parameters."""

    instruments: Mapping[str, ExternalInstrument]
    positions: tuple[tuple[str, float], ...]
    currency: str = "USD"
    initial_to_maintenance_ratio: float = 1.1
    intra_spreads: Mapping[str, tuple[TierSpread, ...]] | None = None
    short_option_minimum: Mapping[str, float] | None = None
    inter_spreads: tuple[InterSpread, ...] = ()


def _table(raw: object, field: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise InputError(field, raw, "must be an object")
    return raw


def _known(table: Mapping[str, Any], allowed: Sequence[str], field: str) -> None:
    for key in table:
        if key not in allowed:
            raise InputError(
                f"{field}.{key}" if field else key,
                table[key],
                f"is not a known field (expected one of {', '.join(allowed)})",
            )


def _number(raw: object, field: str, minimum: float | None = None, strictly: bool = False) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise InputError(field, raw, "must be a number")
    number = float(raw)
    if not math.isfinite(number):
        raise InputError(field, raw, "must be finite")
    if minimum is not None and (number < minimum or (strictly and number == minimum)):
        raise InputError(field, raw, f"must be {'>' if strictly else '>='} {minimum:g}")
    return number


def _text(raw: object, field: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise InputError(field, raw, "must be a non-empty string")
    return raw


def _list(raw: object, field: str) -> list[Any]:
    if not isinstance(raw, list):
        raise InputError(field, raw, "must be a list")
    return raw


def _instrument(name: str, raw: object) -> ExternalInstrument:
    field = f"instruments.{name}"
    table = _table(raw, field)
    _known(table, _INSTRUMENT_KEYS, field)
    for key in ("combined_commodity", "risk_array"):
        if key not in table:
            raise InputError(f"{field}.{key}", None, "is required")
    values = _list(table["risk_array"], f"{field}.risk_array")
    if len(values) != SCENARIO_COUNT:
        raise InputError(
            f"{field}.risk_array",
            f"{len(values)} numbers",
            "must hold 16 numbers (CME scenarios 1-16)",
        )
    risk_array = np.array([_number(v, f"{field}.risk_array[{i}]") for i, v in enumerate(values)])
    risk_array.setflags(write=False)
    tier = table.get("tier", 1)
    if isinstance(tier, bool) or not isinstance(tier, int) or tier < 1:
        raise InputError(f"{field}.tier", tier, "must be an integer >= 1")
    option = table.get("option")
    if option is not None and option not in ("call", "put"):
        raise InputError(f"{field}.option", option, "must be 'call' or 'put'")
    month = table.get("month", "")
    if isinstance(month, bool) or not isinstance(month, str | int):
        raise InputError(f"{field}.month", month, "must be a string such as '202606'")
    delta = table.get("delta")
    return ExternalInstrument(
        name=name,
        combined_commodity=_text(table["combined_commodity"], f"{field}.combined_commodity"),
        risk_array=risk_array,
        delta=None if delta is None else _number(delta, f"{field}.delta"),
        month=str(month),
        tier=tier,
        option=option,
    )


def _positions(
    raw: object, instruments: Mapping[str, ExternalInstrument]
) -> tuple[tuple[str, float], ...]:
    net: dict[str, float] = {}
    for index, item in enumerate(_list(raw, "positions")):
        field = f"positions[{index}]"
        table = _table(item, field)
        _known(table, ("instrument", "size"), field)
        for key in ("instrument", "size"):
            if key not in table:
                raise InputError(f"{field}.{key}", None, "is required")
        name = table["instrument"]
        if not isinstance(name, str) or name not in instruments:
            raise InputError(f"{field}.instrument", name, "is not in 'instruments'")
        net[name] = net.get(name, 0.0) + _number(table["size"], f"{field}.size")
    return tuple(net.items())


def _intra_rows(raw: object, field: str) -> tuple[TierSpread, ...]:
    rows = []
    for index, item in enumerate(_list(raw, field)):
        path = f"{field}[{index}]"
        row = _table(item, path)
        _known(row, ("tier_a", "tier_b", "charge"), path)
        tiers = []
        for key in ("tier_a", "tier_b"):
            value = row.get(key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{path}.{key}", value, "must be an integer >= 1")
            tiers.append(value)
        if "charge" not in row:
            raise InputError(f"{path}.charge", None, "is required")
        rows.append(TierSpread(tiers[0], tiers[1], _number(row["charge"], f"{path}.charge", 0.0)))
    return tuple(rows)


def _inter_spread(raw: object, field: str, commodities: set[str]) -> InterSpread:
    table = _table(raw, field)
    _known(table, ("method", "credit_rate", "legs"), field)
    method_text = table.get("method", "delta")
    try:
        method = SpreadMethod(method_text)
    except ValueError:
        raise InputError(f"{field}.method", method_text, "must be 'delta' or 'scanning'") from None
    if "credit_rate" not in table:
        raise InputError(f"{field}.credit_rate", None, "is required")
    rate = _number(table["credit_rate"], f"{field}.credit_rate", 0.0)
    if rate > 1.0:
        raise InputError(f"{field}.credit_rate", table["credit_rate"], "must lie in [0, 1]")
    legs = []
    raw_legs = _list(table.get("legs"), f"{field}.legs")
    if len(raw_legs) < 2:
        raise InputError(f"{field}.legs", raw_legs, "needs at least 2 legs")
    for index, item in enumerate(raw_legs):
        path = f"{field}.legs[{index}]"
        leg = _table(item, path)
        _known(leg, ("combined_commodity", "delta_ratio", "side"), path)
        name = _text(leg.get("combined_commodity"), f"{path}.combined_commodity")
        if name not in commodities:
            raise InputError(f"{path}.combined_commodity", name, "no instrument has it")
        side = leg.get("side", "A" if index == 0 else "B")
        if side not in ("A", "B"):
            raise InputError(f"{path}.side", side, "must be 'A' or 'B'")
        ratio = _number(leg.get("delta_ratio", 1.0), f"{path}.delta_ratio", 0.0, strictly=True)
        legs.append(InterLeg(name, ratio, side))
    return InterSpread(tuple(legs), rate, method)


def _check_month_tiers(instruments: Mapping[str, ExternalInstrument]) -> None:
    tiers: dict[tuple[str, str], int] = {}
    for name, instrument in instruments.items():
        key = (instrument.combined_commodity, instrument.month)
        if tiers.setdefault(key, instrument.tier) != instrument.tier:
            raise InputError(
                f"instruments.{name}.tier",
                instrument.tier,
                f"differs from tier {tiers[key]} of another contract of month "
                f"{instrument.month!r} in {instrument.combined_commodity!r}",
            )


def _check_scanning_groups(spreads: Sequence[InterSpread]) -> None:
    scanning: set[str] = set()
    for index, spread in enumerate(spreads):
        if spread.method is SpreadMethod.SCANNING:
            names = {leg.combined_commodity for leg in spread.legs}
            if names & scanning:
                raise InputError(
                    f"parameters.inter_spreads[{index}].legs",
                    sorted(names),
                    "a commodity may be in only one scanning spread",
                )
            scanning |= names
    for index, spread in enumerate(spreads):
        if spread.method is SpreadMethod.DELTA:
            clash = {leg.combined_commodity for leg in spread.legs} & scanning
            if clash:
                raise InputError(
                    f"parameters.inter_spreads[{index}].legs",
                    sorted(clash),
                    "is already in a scanning spread",
                )


def span_file_from_dict(raw: Mapping[str, Any]) -> SpanFile:
    """Validate a parsed risk-array document (see the module docstring).

    Raises :class:`InputError` naming the field (``instruments.ES.risk_array[3]``) and value.
    """
    document = _table(raw, "file")
    _known(document, _TOP_KEYS, "")
    if "instruments" not in document:
        raise InputError("instruments", None, "is required")
    instruments = {
        _text(name, "instruments"): _instrument(name, item)
        for name, item in _table(document["instruments"], "instruments").items()
    }
    positions = _positions(document.get("positions", []), instruments)
    _check_month_tiers(instruments)
    commodities = {i.combined_commodity for i in instruments.values()}
    parameters = _table(document.get("parameters", {}), "parameters")
    _known(parameters, _PARAMETER_KEYS, "parameters")
    ratio = _number(
        parameters.get("initial_to_maintenance_ratio", 1.1),
        "parameters.initial_to_maintenance_ratio",
        1.0,
    )
    intra: dict[str, tuple[TierSpread, ...]] = {}
    minimum: dict[str, float] = {}
    for name, item in _table(parameters.get("commodities", {}), "parameters.commodities").items():
        field = f"parameters.commodities.{name}"
        if name not in commodities:
            raise InputError(field, name, "no instrument has this combined commodity")
        table = _table(item, field)
        _known(table, _COMMODITY_KEYS, field)
        intra[name] = _intra_rows(table.get("intra_spreads", []), f"{field}.intra_spreads")
        minimum[name] = _number(
            table.get("short_option_minimum", 0.0), f"{field}.short_option_minimum", 0.0
        )
    spreads = tuple(
        _inter_spread(item, f"parameters.inter_spreads[{index}]", commodities)
        for index, item in enumerate(
            _list(parameters.get("inter_spreads", []), "parameters.inter_spreads")
        )
    )
    _check_scanning_groups(spreads)
    currency = _text(document.get("currency", "USD"), "currency")
    return SpanFile(instruments, positions, currency, ratio, intra, minimum, spreads)


def load_span_file(path: str | Path) -> SpanFile:
    """Load and validate a risk-array JSON file.

    Raises :class:`FileInputError` whose message names the file, the field and the value.
    """
    file_path = Path(path)
    text = read_text_file(file_path)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise FileInputError(
            str(file_path), "file", file_path.name, f"is not valid JSON: {error}"
        ) from None
    try:
        return span_file_from_dict(raw)
    except InputError as error:
        raise FileInputError(str(file_path), error.field, error.value, error.reason) from None


def span_file_requirement(span_file: SpanFile) -> SpanBreakdown:
    """The SPAN requirement of the file's positions (amounts in the file's currency)."""
    losses: dict[str, NDArray[np.float64]] = {}
    months: dict[str, list[MonthDelta]] = {}
    shorts: dict[str, list[float]] = {}
    for name, size in span_file.positions:
        instrument = span_file.instruments[name]
        commodity = instrument.combined_commodity
        losses[commodity] = (
            losses.get(commodity, np.zeros(SCENARIO_COUNT)) + size * instrument.risk_array
        )
        entries = months.setdefault(commodity, [])
        if instrument.delta is not None:
            entries.append(MonthDelta(instrument.month, instrument.tier, size * instrument.delta))
        counts = shorts.setdefault(commodity, [0.0, 0.0])
        if instrument.option is not None and size < 0.0:
            counts[0 if instrument.option == "call" else 1] -= size
    intra = span_file.intra_spreads or {}
    minimum = span_file.short_option_minimum or {}
    commodities = [
        CommodityRisk(
            name=commodity,
            losses=commodity_losses,
            month_deltas=tuple(months[commodity]),
            intra_spreads=intra.get(commodity, ()),
            short_option_minimum_charge=minimum.get(commodity, 0.0),
            short_calls=shorts[commodity][0],
            short_puts=shorts[commodity][1],
        )
        for commodity, commodity_losses in losses.items()
    ]
    return span_requirement(commodities, span_file.inter_spreads)
