"""Unit tests of market_from_dict, the portfolio file's [market] table."""

from __future__ import annotations

import math
import tomllib
from datetime import UTC, datetime
from typing import Any

import pytest

from crossmargin.core.errors import InputError
from crossmargin.market import market_from_dict, parse_expiry_text

DEC24 = datetime(2024, 12, 27, 8, tzinfo=UTC)

MARKET_TOML = """
[market]
valuation_time = "2024-03-11T15:17:00Z"
rate_annual = 0.0
index_usd = { BTC = 72000.0, ETH = 4000.0 }
vol_annual = { ETH = 0.70 }
forwards_usd = { "BTC-27DEC24" = 75000.0 }

[[market.smile]]
underlying = "BTC"
expiry = "27DEC24"
strikes = [60000, 70000, 80000]
vols_annual = [0.65, 0.60, 0.62]
"""


def _table() -> dict[str, Any]:
    return dict(tomllib.loads(MARKET_TOML)["market"])


def test_toml_market_table_builds_snapshot() -> None:
    """The smile sits on the explicit forward 75,000: node k = ln(70,000 / 75,000) = -0.068993,
    so K = 70,000 reads 0.60 exactly and K = 60,000 reads 0.65."""
    market = market_from_dict(_table())
    assert market.valuation_time == datetime(2024, 3, 11, 15, 17, tzinfo=UTC)
    assert market.index("BTC") == 72_000.0
    assert market.forward("BTC", DEC24) == 75_000.0
    smile = market.vol_surfaces["BTC"].smiles[0]
    assert smile.log_moneyness[1] == pytest.approx(math.log(70_000 / 75_000), rel=1e-15)
    assert market.vol("BTC", DEC24, 70_000.0) == 0.6
    assert market.vol("BTC", DEC24, 60_000.0) == 0.65
    assert market.vol("ETH", DEC24, 3_000.0) == 0.7


def test_smile_without_explicit_forward_uses_index_and_rate() -> None:
    """No explicit forward, r = 4 %: F = 72,000 * exp(0.04 * T), T = 25,116,180 / 31,536,000 y;
    the 70,000 node sits at ln(70,000 / F)."""
    table = _table()
    del table["forwards_usd"]
    table["rate_annual"] = 0.04
    market = market_from_dict(table)
    forward = 72_000.0 * math.exp(0.04 * 25_116_180 / 31_536_000)
    smile = market.vol_surfaces["BTC"].smiles[0]
    assert smile.log_moneyness[1] == pytest.approx(math.log(70_000 / forward), rel=1e-13)


def test_forward_keys_in_all_three_spellings() -> None:
    for key in ("BTC-27DEC24", "BTC:27DEC24", "BTC:2024-12-27T08:00:00Z"):
        table = _table()
        table["forwards_usd"] = {key: 75_500.0}
        assert market_from_dict(table).forward("BTC", DEC24) == 75_500.0


def test_toml_native_datetime_is_accepted() -> None:
    table = _table()
    table["valuation_time"] = datetime(2024, 3, 11, 15, 17, tzinfo=UTC)
    assert market_from_dict(table).valuation_time.hour == 15


def _error_for(table: dict[str, Any]) -> InputError:
    with pytest.raises(InputError) as caught:
        market_from_dict(table)
    return caught.value


@pytest.mark.parametrize(
    ("change", "field", "value"),
    [
        ({"vol": 0.5}, "market.vol", "0.5"),
        ({"index_usd": {"BTC": float("nan")}}, "market.index_usd.BTC", "nan"),
        ({"index_usd": {"BTC": "72000"}}, "market.index_usd.BTC", "'72000'"),
        ({"vol_annual": {"ETH": -0.1}}, "market.vol_annual.ETH", "-0.1"),
        ({"vol_annual": {"BTC": 0.6}}, "market.vol_annual.BTC", "0.6"),
        ({"valuation_time": "2024-03-11T15:17:00"}, "market.valuation_time", "2024-03-11T15:17:00"),
        (
            {"forwards_usd": {"BTC-8MAR24": 70_000.0}},
            "market.forwards_usd.BTC-8MAR24",
            "2024-03-08",
        ),
        ({"forwards_usd": {"BTC-PERPETUAL": 1.0}}, "market.forwards_usd.BTC-PERPETUAL", "PERP"),
        ({"rate_annual": float("inf")}, "market.rate_annual", "inf"),
    ],
)
def test_bad_market_tables_name_field_and_value(
    change: dict[str, Any], field: str, value: str
) -> None:
    table = _table()
    table.update(change)
    error = _error_for(table)
    assert error.field == field
    assert field in str(error) and value in str(error)


@pytest.mark.parametrize(
    ("change", "field", "value"),
    [
        ({"vols_annual": [0.65, -0.6, 0.62]}, "market.smile[0].vols_annual[1]", "-0.6"),
        ({"strikes": [60000, 60000, 80000]}, "market.smile[0].strikes[1]", "60000"),
        ({"expiry": "8MAR24"}, "market.smile[0].expiry", "8MAR24"),
        ({"expiry": "31FEB24"}, "market.smile[0].expiry", "31FEB24"),
        ({"colour": "red"}, "market.smile[0].colour", "red"),
        ({"underlying": "SOL"}, "market.index_usd.SOL", "None"),
    ],
)
def test_bad_smiles_name_field_and_value(change: dict[str, Any], field: str, value: str) -> None:
    table = _table()
    table["smile"] = [dict(table["smile"][0], **change)]
    error = _error_for(table)
    assert error.field == field
    assert field in str(error) and value in str(error)


def test_duplicate_smile_is_rejected() -> None:
    table = _table()
    table["smile"] = [table["smile"][0], table["smile"][0]]
    assert _error_for(table).field == "market.smile[1].expiry"


def test_missing_valuation_time_and_custom_prefix() -> None:
    table = _table()
    del table["valuation_time"]
    with pytest.raises(InputError, match=r"^scenario\.market\.valuation_time"):
        market_from_dict(table, field_prefix="scenario.market")


def test_parse_expiry_text_forms() -> None:
    assert parse_expiry_text("27DEC24", "expiry") == DEC24
    assert parse_expiry_text("2024-12-27T08:00:00Z", "expiry") == DEC24
    with pytest.raises(InputError, match="expiry"):
        parse_expiry_text(20241227, "expiry")
