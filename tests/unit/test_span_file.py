"""The external risk-array file: validation names the field and the value; the parsing."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from crossmargin.compat.cme_risk_arrays import (
    load_span_file,
    span_file_from_dict,
    span_file_requirement,
)
from crossmargin.core.errors import FileInputError, InputError

ARRAY = [0, 0, -100, -100, 100, 100, -200, -200, 200, 200, -300, -300, 300, 300, -210, 210]
MINIMAL: dict[str, Any] = {
    "instruments": {"ESZ6 C5000": {"combined_commodity": "SP", "risk_array": ARRAY}},
    "positions": [{"instrument": "ESZ6 C5000", "size": -1}],
}


def _with(path: list[str | int], value: object) -> dict[str, Any]:
    document = copy.deepcopy(MINIMAL)
    target: Any = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


def test_minimal_file_gives_the_scan_risk_of_a_short() -> None:
    """Short 1 of a long-future array (worst long loss +300 at scenario 13): the short's losses
    are the negated array, worst +300 at scenario 11 (price up 3/3)."""
    span_file = span_file_from_dict(MINIMAL)
    breakdown = span_file_requirement(span_file)
    assert breakdown.total == pytest.approx(300.0)
    assert breakdown.commodities[0].worst_scenario == 11
    assert span_file.currency == "USD" and span_file.initial_to_maintenance_ratio == 1.1


def test_positions_of_one_instrument_are_netted() -> None:
    document = _with(
        ["positions"],
        [{"instrument": "ESZ6 C5000", "size": -1}, {"instrument": "ESZ6 C5000", "size": 3}],
    )
    assert span_file_from_dict(document).positions == (("ESZ6 C5000", 2.0),)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ["instruments", "ESZ6 C5000", "risk_array"],
            [1.0] * 15,
            "instruments.ESZ6 C5000.risk_array = '15 numbers': must hold 16",
        ),
        (
            ["instruments", "ESZ6 C5000", "risk_array", 3],
            "x",
            "instruments.ESZ6 C5000.risk_array[3] = 'x': must be a number",
        ),
        (
            ["instruments", "ESZ6 C5000", "risk_array", 0],
            float("nan"),
            "risk_array[0] = nan: must be finite",
        ),
        (
            ["instruments", "ESZ6 C5000", "combined_commodity"],
            "",
            "combined_commodity = '': must be a non-empty string",
        ),
        (["instruments", "ESZ6 C5000", "tier"], 0, "tier = 0: must be an integer >= 1"),
        (
            ["instruments", "ESZ6 C5000", "option"],
            "straddle",
            "option = 'straddle': must be 'call' or 'put'",
        ),
        (["instruments", "ESZ6 C5000", "colour"], "red", "colour = 'red': is not a known field"),
        (["positions", 0, "instrument"], "NQZ6", "positions[0].instrument = 'NQZ6': is not in"),
        (["positions", 0, "size"], True, "positions[0].size = True: must be a number"),
        (["positions", 0, "size"], "1", "positions[0].size = '1': must be a number"),
        (["extra"], 1, "extra = 1: is not a known field"),
        (
            ["parameters"],
            {"commodities": {"NQ": {}}},
            "parameters.commodities.NQ = 'NQ': no instrument has this combined commodity",
        ),
        (
            ["parameters"],
            {"initial_to_maintenance_ratio": 0.9},
            "initial_to_maintenance_ratio = 0.9: must be >= 1",
        ),
        (
            ["parameters"],
            {"inter_spreads": [{"credit_rate": 1.5, "legs": []}]},
            "inter_spreads[0].credit_rate = 1.5: must lie in [0, 1]",
        ),
        (
            ["parameters"],
            {"inter_spreads": [{"credit_rate": 0.5, "method": "flat", "legs": []}]},
            "method = 'flat': must be 'delta' or 'scanning'",
        ),
        (
            ["parameters"],
            {
                "inter_spreads": [
                    {
                        "credit_rate": 0.5,
                        "legs": [{"combined_commodity": "SP"}, {"combined_commodity": "NQ"}],
                    }
                ]
            },
            "legs[1].combined_commodity = 'NQ': no instrument has it",
        ),
        (
            ["parameters"],
            {"commodities": {"SP": {"intra_spreads": [{"tier_a": 1, "tier_b": 2, "charge": -5}]}}},
            "intra_spreads[0].charge = -5: must be >= 0",
        ),
    ],
)
def test_bad_input_names_the_field_and_the_value(
    path: list[str | int], value: object, message: str
) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        span_file_from_dict(_with(path, value))


def test_instrument_needs_its_required_fields() -> None:
    document = copy.deepcopy(MINIMAL)
    del document["instruments"]["ESZ6 C5000"]["risk_array"]
    with pytest.raises(InputError, match=r"ESZ6 C5000\.risk_array = None: is required"):
        span_file_from_dict(document)
    with pytest.raises(InputError, match="instruments = None: is required"):
        span_file_from_dict({"positions": []})


def test_a_month_has_one_tier() -> None:
    document = copy.deepcopy(MINIMAL)
    document["instruments"]["A"] = {
        "combined_commodity": "SP",
        "risk_array": ARRAY,
        "month": "202612",
        "tier": 1,
    }
    document["instruments"]["B"] = {
        "combined_commodity": "SP",
        "risk_array": ARRAY,
        "month": "202612",
        "tier": 2,
    }
    with pytest.raises(InputError, match=r"instruments\.B\.tier = 2: differs from tier 1"):
        span_file_from_dict(document)


def test_a_commodity_in_a_scanning_spread_may_not_spread_again() -> None:
    document = copy.deepcopy(MINIMAL)
    document["instruments"]["NQ"] = {"combined_commodity": "NQ", "risk_array": ARRAY}
    legs = [{"combined_commodity": "SP"}, {"combined_commodity": "NQ"}]
    document["parameters"] = {
        "inter_spreads": [
            {"method": "scanning", "credit_rate": 0.5, "legs": legs},
            {"method": "delta", "credit_rate": 0.5, "legs": legs},
        ]
    }
    with pytest.raises(InputError, match=r"inter_spreads\[1\].legs.*already in a scanning"):
        span_file_from_dict(document)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "arrays.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(FileInputError, match=r"arrays\.json.*is not valid JSON"):
        load_span_file(broken)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_with(["positions", 0, "size"], "big")), encoding="utf-8")
    with pytest.raises(FileInputError, match=r"bad\.json: positions\[0\].size = 'big'"):
        load_span_file(bad)
    with pytest.raises(FileInputError, match=r"missing\.json"):
        load_span_file(tmp_path / "missing.json")


def test_short_options_count_for_the_minimum() -> None:
    """Short 2 calls and 1 put of SP at 50 per option → minimum 100 > scan of the two calls
    (2 × 0 in every scenario here: flat arrays) → IM 100."""
    flat = [0.0] * 16
    document = {
        "instruments": {
            "C": {"combined_commodity": "SP", "risk_array": flat, "option": "call"},
            "P": {"combined_commodity": "SP", "risk_array": flat, "option": "put"},
        },
        "positions": [{"instrument": "C", "size": -2}, {"instrument": "P", "size": -1}],
        "parameters": {"commodities": {"SP": {"short_option_minimum": 50}}},
    }
    breakdown = span_file_requirement(span_file_from_dict(document))
    assert breakdown.components()["short_option_minimum_addon"] == pytest.approx(100.0)
    assert breakdown.total == pytest.approx(100.0)
