"""The shipped SPAN parameters and their validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossmargin.core.errors import InputError
from crossmargin.margin.span.parameters import load_span_parameters


def test_shipped_defaults() -> None:
    """CME's extreme move 2× at 35 %, IM/MM 1.1; scan ranges from 99 % of 2-day moves
    (BTC 17 %, ETH 20 %, SOL 29 %); BTC/ETH credit 60 % first."""
    parameters = load_span_parameters()
    assert parameters.extreme_move_multiple == 2.0
    assert parameters.extreme_cover_fraction == 0.35
    assert parameters.initial_to_maintenance_ratio == 1.1
    assert parameters.look_ahead_days == 0.0
    ranges = {name: c.price_scan_range for name, c in parameters.commodities.items()}
    assert ranges == {"BTC": 0.17, "ETH": 0.20, "SOL": 0.29}
    first = parameters.inter_spreads[0]
    assert [leg.underlying for leg in first.legs] == ["BTC", "ETH"] and first.credit_rate == 0.6


def test_tiers_by_days_to_expiry() -> None:
    """Bounds 30/90/180 days: perpetual (0 d) and 30 d → tier 1, 31 d → 2, 181 d → 4."""
    btc = load_span_parameters().commodities["BTC"]
    assert [btc.tier_of(d) for d in (0.0, 30.0, 31.0, 90.0, 180.5, 400.0)] == [1, 1, 2, 2, 4, 4]


@pytest.mark.parametrize(
    ("replace", "by", "message"),
    [
        ("price_scan_range = 0.17", "price_scan_range = 0.6", "extreme prices stay positive"),
        ("vol_scan_range = 0.18", "vol_scan_range = -0.1", "vol_scan_range"),
        (
            "tier_max_days = [30, 90, 180]\n# 0.01",
            "tier_max_days = [90, 30]\n# 0.01",
            "strictly increasing",
        ),
        (
            'underlying = "BTC", side = "A" }, { underlying = "ETH"',
            'underlying = "BTC", side = "A" }, { underlying = "DOGE"',
            "DOGE",
        ),
        (
            "initial_to_maintenance_ratio = 1.1",
            "initial_to_maintenance_ratio = 0.8",
            "initial_to_maintenance_ratio",
        ),
    ],
)
def test_invalid_parameters_are_rejected(
    tmp_path: Path, replace: str, by: str, message: str
) -> None:
    text = (Path(__file__).resolve().parents[2] / "src/crossmargin/config/span.toml").read_text(
        encoding="utf-8"
    )
    assert replace in text
    path = tmp_path / "span.toml"
    path.write_text(text.replace(replace, by, 1), encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_span_parameters(path)
