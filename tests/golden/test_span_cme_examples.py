"""Golden: CME's spread examples, number for number, through the core and the file path.

Source: CME Group, "Spread calculations" (cmegroup.com/clearing/margins/spread-calc.html, "All
margin and credit rates on this page are for example purposes only"), as compiled in
shared/data/vectors/external_vectors.json key ``span_cme_spread_examples``. The outright rates
are the price scan ranges of linear futures: a long future loses −fraction × outright in
scenarios 1–14 and ∓2 × 0.35 × outright in 15–16; its delta is 1.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from crossmargin.compat.cme_risk_arrays import span_file_from_dict, span_file_requirement
from crossmargin.margin.span.arithmetic import scan_risk, scanning_spread_losses
from support.shared_data import require_shared_data


@pytest.fixture(scope="module")
def examples() -> dict[str, Any]:
    path = require_shared_data("vectors", "external_vectors.json")
    vectors: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return vectors["span_cme_spread_examples"]  # type: ignore[no-any-return]


def future(outright: float) -> list[float]:
    """Risk array of one long future with price scan range ``outright`` (CME convention)."""
    fractions = [0, 0, 1 / 3, 1 / 3, -1 / 3, -1 / 3, 2 / 3, 2 / 3, -2 / 3, -2 / 3, 1, 1, -1, -1]
    return [-f * outright for f in fractions] + [-0.7 * outright, 0.7 * outright]


def test_scanning_based_spread_rows(examples: dict[str, Any]) -> None:
    """+2 T-Bond (30Yr) vs −3 T-Note (10Yr) at a 70 % scanning credit: every row's charge =
    loss of the losing leg − 0.70 × gain of the gaining leg (e.g. row 13: 6,200 − 0.7 × 4,800 =
    2,840); rows 15/16 with the page's sign typo corrected as the vector notes (10Yr +4,752 in
    row 15, 30Yr +6,138 in row 16). Scan risk 2,840 at scenario 13."""
    case = examples["scanning_based_spread"]
    rows = np.array(case["rows"], dtype=np.float64)
    legs = rows[:, 1:3].T.copy()
    legs[1, 14] = -legs[1, 14]
    legs[0, 15] = -legs[0, 15]
    charges = scanning_spread_losses(legs, case["credit"])
    assert charges == pytest.approx(rows[:, 3], abs=1e-9)
    result = scan_risk(charges)
    assert result.scan_risk == pytest.approx(case["expected_scan_risk"])
    assert result.worst_scenario == 13


def test_scanning_based_spread_through_the_file(examples: dict[str, Any]) -> None:
    """The same example as a risk-array file: per-unit arrays (30Yr leg / 2, 10Yr leg / −3)
    with a ``scanning`` inter spread; the document's scan risk is 2,840, the IM too."""
    case = examples["scanning_based_spread"]
    rows = np.array(case["rows"], dtype=np.float64)
    bond, note = rows[:, 1] / 2.0, rows[:, 2] / -3.0
    bond[15], note[14] = -bond[15], -note[14]
    document = {
        "instruments": {
            "30Yr": {"combined_commodity": "US", "risk_array": bond.tolist()},
            "10Yr": {"combined_commodity": "TY", "risk_array": note.tolist()},
        },
        "positions": [{"instrument": "30Yr", "size": 2}, {"instrument": "10Yr", "size": -3}],
        "parameters": {
            "inter_spreads": [
                {
                    "method": "scanning",
                    "credit_rate": case["credit"],
                    "legs": [{"combined_commodity": "US"}, {"combined_commodity": "TY"}],
                }
            ]
        },
    }
    breakdown = span_file_requirement(span_file_from_dict(document))
    assert breakdown.commodities[0].losses == pytest.approx(rows[:, 3], abs=1e-9)
    assert breakdown.total == pytest.approx(case["expected_scan_risk"])
    assert breakdown.worst is not None and breakdown.worst.worst_scenario == 13
    # each leg alone: 2 × 3,100 and 3 × 1,600 (the page's outrights)
    assert scan_risk(2 * bond).scan_risk == pytest.approx(2 * case["outright"]["30Yr"])
    assert scan_risk(-3 * note).scan_risk == pytest.approx(3 * case["outright"]["10Yr"])


def test_inter_spread_corn_soybeans(examples: dict[str, Any]) -> None:
    """+2 corn vs −1 soybeans, 2:1 at 55 %: outright 2 × 1,750 + 2,500 = 6,000; credit
    0.55 × 3,500 + 0.55 × 2,500 = 3,300; margin 2,700."""
    case = examples["inter_spread"]
    rate = case["rate"]
    document = {
        "instruments": {
            "corn": {
                "combined_commodity": "C",
                "risk_array": future(case["outright"]["corn"]),
                "delta": 1,
            },
            "soybeans": {
                "combined_commodity": "S",
                "risk_array": future(case["outright"]["soybeans"]),
                "delta": 1,
            },
        },
        "positions": [{"instrument": "corn", "size": 2}, {"instrument": "soybeans", "size": -1}],
        "parameters": {
            "inter_spreads": [
                {
                    "credit_rate": rate,
                    "legs": [
                        {"combined_commodity": "C", "delta_ratio": 2},
                        {"combined_commodity": "S", "delta_ratio": 1},
                    ],
                }
            ]
        },
    }
    breakdown = span_file_requirement(span_file_from_dict(document))
    components = breakdown.components()
    assert components["scan_risk"] == pytest.approx(case["outright_total"])
    assert -components["inter_spread_credit"] == pytest.approx(case["credit"])
    assert breakdown.total == pytest.approx(case["expected_margin"])
    corn, soybeans = breakdown.commodities
    assert corn.weighted_price_risk == pytest.approx(case["outright"]["corn"])
    assert soybeans.weighted_price_risk == pytest.approx(case["outright"]["soybeans"])
    assert corn.inter_spread_credit == pytest.approx(-rate * 2 * case["outright"]["corn"])


@pytest.mark.parametrize("portfolio", ["+1 M2 / -1 M3", "+1 M2 / -1 M4", "+1 M3 / -1 M4"])
def test_intra_spread_months(examples: dict[str, Any], portfolio: str) -> None:
    """Outrights M2 500, M3 500, M4 750; intra charges 2v3 200, 2v4 50, 3v4 0. Scan of the
    spread = larger outright − smaller (the legs' arrays net), plus the intra charge:
    (500 − 500) + 200 = 200; (750 − 500) + 50 = 300; (750 − 500) + 0 = 250."""
    case = examples["intra_spread"]
    months = {name: int(name[1]) for name in case["outright"]}
    document = {
        "instruments": {
            name: {
                "combined_commodity": "X",
                "risk_array": future(outright),
                "delta": 1,
                "month": name,
                "tier": months[name],
            }
            for name, outright in case["outright"].items()
        },
        "positions": [
            {"instrument": portfolio.split()[1], "size": 1},
            {"instrument": portfolio.split()[4], "size": -1},
        ],
        "parameters": {
            "commodities": {
                "X": {
                    "intra_spreads": [
                        {"tier_a": int(pair[1]), "tier_b": int(pair[4]), "charge": charge}
                        for pair, charge in case["intra_charge"].items()
                    ]
                }
            }
        },
    }
    breakdown = span_file_requirement(span_file_from_dict(document))
    long_leg, short_leg = portfolio.split()[1], portfolio.split()[4]
    outright = case["outright"]
    assert breakdown.scan_risk == pytest.approx(abs(outright[short_leg] - outright[long_leg]))
    assert breakdown.components()["intra_spread_charge"] == pytest.approx(
        case["intra_charge"][f"{long_leg}v{short_leg}"]
    )
    assert breakdown.total == pytest.approx(case["expected"][portfolio])
