"""Basel traffic light (BCBS 1996 Table 2) and Kupiec (1995) POF test against
shared/data/vectors/external_vectors.json."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from crossmargin.core.errors import InputError
from crossmargin.margin.var.backtest import (
    TrafficLightZone,
    basel_traffic_light_zone,
    kupiec_nonrejection_region,
    kupiec_pof_test,
)
from support.shared_data import require_shared_data


@pytest.fixture(scope="module")
def vectors() -> dict[str, Any]:
    path = require_shared_data("vectors", "external_vectors.json")
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def test_basel_cumulative_probabilities(vectors: dict[str, Any]) -> None:
    """P(X ≤ N), X ~ Binomial(250, 1 %), in percent to 2 decimals: 8.11, 28.58, …, 99.99."""
    table = vectors["basel_traffic_light"][
        "cumulative_probability_pct_recomputed_binomial(250,0.01)"
    ]
    for exceptions, percent in table.items():
        light = basel_traffic_light_zone(int(exceptions))
        assert round(100 * light.cumulative_probability, 2) == pytest.approx(percent, abs=1e-9)


def _zone_range(text: str) -> range:
    if text.startswith(">="):
        return range(int(text[2:]), 251)
    low, high = (int(part) for part in text.split("-"))
    return range(low, high + 1)


def test_basel_zones_and_plus_factors(vectors: dict[str, Any]) -> None:
    """Green 0–4, yellow 5–9, red ≥ 10; plus factors 0, 0.40, 0.50, 0.65, 0.75, 0.85, 1.00."""
    basel = vectors["basel_traffic_light"]
    for zone, text in basel["zones"].items():
        for exceptions in _zone_range(text):
            assert basel_traffic_light_zone(exceptions).zone is TrafficLightZone(zone)
    for key, factor in basel["plus_factor"].items():
        for exceptions in _zone_range(key) if "-" in key or key.startswith(">=") else [int(key)]:
            assert basel_traffic_light_zone(exceptions).plus_factor == factor
    assert basel_traffic_light_zone(3, observations=500).plus_factor is None
    with pytest.raises(InputError):
        basel_traffic_light_zone(251)


def test_kupiec_nonrejection_table(vectors: dict[str, Any]) -> None:
    """Kupiec / Jorion table "a<N<b" = exception counts a+1 … b−1 not rejected at 5 %. For
    p = 1 %, T = 255 the published "N<7" includes N = 0, which the exact LR test rejects
    (LR = 5.13 > 3.84): the strict region is 1 … 6, as the vector file notes."""
    for row in vectors["kupiec_pof_nonrejection_regions"]["rows"]:
        confidence = 1.0 - row["p"]
        for key in ("T255", "T510", "T1000"):
            observations = int(key[1:])
            text = row[key]
            bounds = re.fullmatch(r"(\d+)<N<(\d+)", text)
            if bounds is None:
                assert text.startswith("N<7") and "1..6" in text
                expected = (1, 6)
            else:
                expected = (int(bounds[1]) + 1, int(bounds[2]) - 1)
            assert kupiec_nonrejection_region(observations, confidence) == expected, (row, key)


def test_kupiec_spot_checks(vectors: dict[str, Any]) -> None:
    """LR and p-value for (T, N) = (250, 4), (250, 10), (1000, 17) at p = 1 % to 1e-6."""
    for check in vectors["kupiec_pof_nonrejection_regions"]["spot_checks_recomputed"]:
        result = kupiec_pof_test(check["N"], check["T"], 1.0 - check["p"])
        assert result.lr_statistic == pytest.approx(check["lr"], abs=1e-6)
        assert result.p_value == pytest.approx(check["pvalue"], abs=1e-6)
        assert result.rejected == (check["pvalue"] < 0.05)


def test_kupiec_zero_exceptions_and_bad_input() -> None:
    """N = 0, T = 250, p = 1 %: LR = −2·250·ln 0.99 = 5.0252 → rejected at 5 %."""
    result = kupiec_pof_test(0, 250, 0.99)
    assert result.lr_statistic == pytest.approx(5.025168, abs=1e-6)
    assert result.rejected
    with pytest.raises(InputError, match="exceptions"):
        kupiec_pof_test(-1, 250, 0.99)
    with pytest.raises(InputError, match="confidence"):
        kupiec_pof_test(1, 250, 1.5)
