"""Unit tests of MarketSnapshot: forwards, vol lookups, validation, shocks and serialisation."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from crossmargin.core.errors import InputError
from crossmargin.market import MarketSnapshot, VolSmile, VolSurface, market_from_dict
from support.markets import NOW

DEC24 = datetime(2024, 12, 27, 8, tzinfo=UTC)
JUN24 = datetime(2024, 6, 28, 8, tzinfo=UTC)


def _smile_market() -> MarketSnapshot:
    smiles = [
        VolSmile.from_strikes(JUN24, [60_000, 80_000], [0.7, 0.6], forward_usd=76_000.0),
        VolSmile.from_strikes(DEC24, [60_000, 70_000, 80_000], [0.65, 0.6, 0.62], 75_000.0),
    ]
    return MarketSnapshot(
        valuation_time=NOW,
        index_usd={"BTC": 72_000.0, "ETH": 4_000.0},
        rate_annual=0.05,
        vol_surfaces={"BTC": VolSurface.from_smiles(smiles), "ETH": VolSurface.flat(0.7)},
        forwards_usd={("BTC", DEC24): 75_000.0},
    )


def test_derived_forward_is_index_times_exp_rate_t() -> None:
    """Index 72,000, r = 5 %, T = 182.5 / 365 = 0.5 y: F = 72,000 * e^0.025 = 73,822.6887."""
    market = MarketSnapshot(NOW, {"BTC": 72_000.0}, rate_annual=0.05)
    expiry = NOW + timedelta(days=182.5)
    assert market.t_years(expiry) == 0.5
    assert market.forward("BTC", expiry) == pytest.approx(72_000.0 * math.exp(0.025), rel=1e-15)
    assert market.forward("BTC", expiry) == pytest.approx(73_822.6887, abs=1e-4)


def test_explicit_forward_wins_and_perpetual_is_index() -> None:
    """The explicit 75,000 beats 72,000 * e^(0.05 T); None (perpetual/spot) gives the index."""
    market = _smile_market()
    assert market.forward("BTC", DEC24) == 75_000.0
    assert market.forward("BTC", None) == 72_000.0
    assert market.forward("ETH", None) == 4_000.0


def test_stablecoins_default_to_one_dollar() -> None:
    market = MarketSnapshot(NOW, {"BTC": 72_000.0, "USDT": 0.998})
    assert market.index("USDC") == 1.0 and market.index("USD") == 1.0
    assert market.index("USDT") == 0.998
    with pytest.raises(InputError, match=r"index_usd\.SOL"):
        market.index("SOL")


def test_t_years_is_act365_and_never_negative() -> None:
    """2024-03-11 15:17 -> 2024-12-27 08:00 is 290 d 16 h 43 m = 25,116,180 s = 0.796428 y."""
    market = _smile_market()
    assert market.t_years(DEC24) == pytest.approx(25_116_180 / 31_536_000, rel=1e-15)
    assert market.t_years(NOW - timedelta(days=1)) == 0.0


def test_vol_reads_the_smile_at_the_forward() -> None:
    """At the DEC24 expiry with F = 75,000, K = 70,000 is a smile node: vol 0.60 exactly;
    ETH is flat at 0.70."""
    market = _smile_market()
    assert market.vol("BTC", DEC24, 70_000.0) == 0.6
    assert market.vol("ETH", DEC24, 1_000.0) == 0.7
    with pytest.raises(InputError, match=r"vol_surfaces\.SOL"):
        market.vol("SOL", DEC24, 100.0)


def test_vols_is_vectorised_and_matches_vol() -> None:
    market = _smile_market()
    strikes = np.array([55_000.0, 70_000.0, 90_000.0])
    t = market.t_years(DEC24)
    vols = market.vols("BTC", t, strikes, market.forward("BTC", DEC24))
    assert vols.tolist() == [market.vol("BTC", DEC24, float(k)) for k in strikes]
    assert vols.tolist() == [0.65, 0.6, 0.62]


def test_fields_are_immutable() -> None:
    market = _smile_market()
    with pytest.raises(TypeError):
        market.index_usd["BTC"] = 1.0  # type: ignore[index]
    with pytest.raises(AttributeError):
        market.rate_annual = 0.1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "field", "value"),
    [
        ({"index_usd": {"BTC": float("nan")}}, "index_usd.BTC", "nan"),
        ({"index_usd": {"BTC": -5.0}}, "index_usd.BTC", "-5.0"),
        ({"index_usd": {"BTC": 1.0}, "rate_annual": float("inf")}, "rate_annual", "inf"),
        (
            {
                "index_usd": {"BTC": 1.0},
                "forwards_usd": {("BTC", datetime(2024, 3, 8, 8, tzinfo=UTC)): 7e4},
            },
            "forwards_usd.BTC-8MAR24",
            "2024-03-08T08:00:00+00:00",
        ),
        (
            {"index_usd": {"BTC": 1.0}, "forwards_usd": {("BTC", DEC24): 0.0}},
            "forwards_usd.BTC-27DEC24",
            "0.0",
        ),
    ],
)
def test_bad_snapshot_inputs_name_field_and_value(
    kwargs: dict[str, object], field: str, value: str
) -> None:
    with pytest.raises(InputError) as caught:
        MarketSnapshot(NOW, **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert field in str(caught.value) and value in str(caught.value)


def test_naive_valuation_time_is_rejected() -> None:
    with pytest.raises(InputError) as caught:
        MarketSnapshot(datetime(2024, 3, 11, 15, 17), {"BTC": 72_000.0})
    assert "valuation_time" in str(caught.value) and "2024-03-11T15:17:00" in str(caught.value)


def test_negative_vol_is_rejected() -> None:
    with pytest.raises(InputError) as caught:
        MarketSnapshot(NOW, {"BTC": 1.0}, vol_surfaces={"BTC": VolSurface.flat(-0.1)})
    assert "flat_vol_annual" in str(caught.value) and "-0.1" in str(caught.value)


def test_past_smile_is_rejected() -> None:
    past = VolSmile(datetime(2024, 3, 8, 8, tzinfo=UTC), np.array([0.0]), np.array([0.5]))
    with pytest.raises(InputError, match=r"vol_surfaces\.BTC\.smiles\[0\]\.expiry"):
        MarketSnapshot(NOW, {"BTC": 1.0}, vol_surfaces={"BTC": VolSurface.from_smiles([past])})


def test_shocked_scales_index_and_explicit_forwards_and_shifts_vols() -> None:
    """BTC -10 %: index 72,000 -> 64,800, explicit DEC24 forward 75,000 -> 67,500; the derived JUN24
    forward follows the index. Vol +0.05: the DEC24 node at K/F = 70/75 keeps its moneyness, so
    K = 63,000 (= 70,000 * 0.9) reads 0.60 + 0.05 = 0.65; ETH flat 0.70 -> 0.75. USDC -2 % starts
    from 1.0 -> 0.98."""
    market = _smile_market()
    shocked = market.shocked({"BTC": -0.1, "USDC": -0.02}, {"BTC": 0.05, "ETH": 0.05})
    assert shocked.index("BTC") == pytest.approx(64_800.0, rel=1e-15)
    assert shocked.forward("BTC", DEC24) == pytest.approx(67_500.0, rel=1e-15)
    assert shocked.forward("BTC", JUN24) == pytest.approx(0.9 * market.forward("BTC", JUN24))
    assert shocked.vol("BTC", DEC24, 63_000.0) == pytest.approx(0.65, abs=1e-12)
    assert shocked.vol("ETH", DEC24, 4_000.0) == pytest.approx(0.75, abs=1e-15)
    assert shocked.index("USDC") == pytest.approx(0.98)
    assert market.index("BTC") == 72_000.0  # the original is unchanged


def test_shocked_rejects_impossible_moves() -> None:
    market = _smile_market()
    with pytest.raises(InputError, match=r"price_moves\.BTC = -1\.0"):
        market.shocked({"BTC": -1.0})
    with pytest.raises(InputError, match=r"price_moves\.SOL"):
        market.shocked({"SOL": 0.1})
    with pytest.raises(InputError, match=r"vol_shifts\.SOL"):
        market.shocked({}, {"SOL": 0.1})


def test_to_dict_round_trips_through_json() -> None:
    market = _smile_market()
    document = json.loads(json.dumps(market.to_dict()))
    assert document["forwards_usd"] == {"BTC-27DEC24": 75_000.0}
    assert document["vol_annual"] == {"ETH": 0.7}
    assert [smile["expiry"] for smile in document["smile"]] == ["28JUN24", "27DEC24"]
    assert market_from_dict(document) == market


def test_to_dict_round_trips_non_standard_expiry() -> None:
    """An expiry not at 08:00 UTC is written as an ISO timestamp key (BTC:2024-12-27T12:00:00Z)."""
    noon = datetime(2024, 12, 27, 12, tzinfo=UTC)
    market = MarketSnapshot(
        NOW,
        {"BTC": 72_000.0},
        vol_surfaces={"BTC": VolSurface.from_smiles([VolSmile(noon, np.zeros(1), np.ones(1))])},
        forwards_usd={("BTC", noon): 75_000.0},
    )
    document = market.to_dict()
    assert list(document["forwards_usd"]) == ["BTC:2024-12-27T12:00:00Z"]
    assert market_from_dict(document) == market
