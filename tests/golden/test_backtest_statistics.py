"""Basel traffic light (BCBS 1996 Table 2) and Kupiec (1995) POF test against
shared/data/vectors/external_vectors.json (moved here from test_var_backtest.py with the code)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from crossmargin.backtest import (
    TrafficLightZone,
    kupiec_nonrejection_region,
    kupiec_pof,
    traffic_light,
)
from crossmargin.core.errors import InputError
from support.shared_data import require_shared_data


@pytest.fixture(scope="module")
def vectors() -> dict[str, Any]:
    path = require_shared_data("vectors", "external_vectors.json")
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def test_basel_cumulative_probabilities(vectors: dict[str, Any]) -> None:
    """P(X ≤ N), X ~ Binomial(250, 1 %), in percent to 2 decimals: 8.11, 28.58, …, 99.99; the
    type-I error P(X ≥ N) is 1 − P(X ≤ N − 1) of the same table."""
    table = vectors["basel_traffic_light"][
        "cumulative_probability_pct_recomputed_binomial(250,0.01)"
    ]
    for failures, percent in table.items():
        light = traffic_light(250, int(failures), 0.99)
        assert round(100 * light.probability, 2) == pytest.approx(percent, abs=1e-9)
        if int(failures) >= 1:
            below = table[str(int(failures) - 1)]
            assert round(100 * (1.0 - light.type1), 2) == pytest.approx(below, abs=1e-9)
    assert traffic_light(250, 0, 0.99).type1 == 1.0


def _zone_range(text: str) -> range:
    if text.startswith(">="):
        return range(int(text[2:]), 251)
    low, high = (int(part) for part in text.split("-"))
    return range(low, high + 1)


def test_basel_zones_and_plus_factors(vectors: dict[str, Any]) -> None:
    """Green 0–4, yellow 5–9, red ≥ 10; plus factors 0, 0.40, 0.50, 0.65, 0.75, 0.85, 1.00."""
    basel = vectors["basel_traffic_light"]
    for zone, text in basel["zones"].items():
        for failures in _zone_range(text):
            light = traffic_light(250, failures, 0.99)
            assert light.zone is TrafficLightZone(zone)
            assert light.zone == zone
    for key, factor in basel["plus_factor"].items():
        for failures in _zone_range(key) if "-" in key or key.startswith(">=") else [int(key)]:
            assert traffic_light(250, failures, 0.99).plus_factor == factor
    assert traffic_light(500, 3, 0.99).plus_factor is None
    with pytest.raises(InputError):
        traffic_light(250, 251, 0.99)


def test_kupiec_nonrejection_table(vectors: dict[str, Any]) -> None:
    """Kupiec / Jorion table "a<N<b" = failure counts a+1 … b−1 not rejected at 5 %. For
    p = 1 %, T = 255 the published "N<7" includes N = 0, which the exact LR test rejects
    (LR = 5.13 > 3.84): the strict region is 1 … 6, as the vector file notes."""
    for row in vectors["kupiec_pof_nonrejection_regions"]["rows"]:
        coverage = 1.0 - row["p"]
        for key in ("T255", "T510", "T1000"):
            observations = int(key[1:])
            text = row[key]
            bounds = re.fullmatch(r"(\d+)<N<(\d+)", text)
            if bounds is None:
                assert text.startswith("N<7") and "1..6" in text
                expected = (1, 6)
            else:
                expected = (int(bounds[1]) + 1, int(bounds[2]) - 1)
            assert kupiec_nonrejection_region(observations, coverage) == expected, (row, key)


def test_kupiec_spot_checks(vectors: dict[str, Any]) -> None:
    """LR and p-value for (T, N) = (250, 4), (250, 10), (1000, 17) at p = 1 % to 1e-6."""
    for check in vectors["kupiec_pof_nonrejection_regions"]["spot_checks_recomputed"]:
        result = kupiec_pof(check["T"], check["N"], 1.0 - check["p"])
        assert result.lr == pytest.approx(check["lr"], abs=1e-6)
        assert result.p_value == pytest.approx(check["pvalue"], abs=1e-6)
        assert result.rejected() == (check["pvalue"] < 0.05)


def test_kupiec_zero_failures_and_bad_input() -> None:
    """N = 0, T = 250, p = 1 %: LR = −2·250·ln 0.99 = 5.025168 → rejected at 5 %."""
    result = kupiec_pof(250, 0, 0.99)
    assert result.lr == pytest.approx(5.025168, abs=1e-6)
    assert result.rejected()
    with pytest.raises(InputError, match="failures"):
        kupiec_pof(250, -1, 0.99)
    with pytest.raises(InputError, match="coverage"):
        kupiec_pof(250, 1, 1.5)
