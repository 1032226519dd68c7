"""Golden: the two real Deribit BTC option chains in shared/data/options load as documented.

Sources (shared/data/README.md): the 2024-03-11 book summary (StevenMaharaj/ow1display) and the
2026-03-01 ticker dump (tessicin/volatility). Expected numbers were read off the CSV rows quoted
in each test.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from crossmargin.core.errors import InputError
from crossmargin.instruments import parse_expiry
from crossmargin.market import (
    DERIBIT_CHAIN_2024_03_11,
    DERIBIT_CHAIN_2026_03_01,
    DeribitChainFormat,
    MarketSnapshot,
    detect_chain_format,
    load_deribit_chain,
)
from support.shared_data import require_shared_data


def _chain(relative: Path) -> Path:
    return require_shared_data(*relative.parts)


@pytest.fixture(scope="module")
def market_2024() -> MarketSnapshot:
    return load_deribit_chain(_chain(DERIBIT_CHAIN_2024_03_11))


@pytest.fixture(scope="module")
def market_2026() -> MarketSnapshot:
    return load_deribit_chain(_chain(DERIBIT_CHAIN_2026_03_01))


def _expiries(market: MarketSnapshot) -> list[str]:
    return [f"{s.expiry:%d%b%y}".upper().lstrip("0") for s in market.vol_surfaces["BTC"].smiles]


def test_2024_chain_index_time_and_twelve_expiries(market_2024: MarketSnapshot) -> None:
    """All 12 expiries (12MAR24 ... 27DEC24, 08:00 UTC) are after the 2024-03-11 15:17 UTC
    valuation time; the index is estimated_delivery_price = 72,011.29; interest_rate = 0."""
    assert market_2024.valuation_time == datetime(2024, 3, 11, 15, 17, tzinfo=UTC)
    assert market_2024.index("BTC") == 72_011.29
    assert market_2024.rate_annual == 0.0
    assert len(market_2024.vol_surfaces["BTC"].smiles) == 12
    assert len(market_2024.forwards_usd) == 12
    assert _expiries(market_2024)[0] == "12MAR24" and _expiries(market_2024)[-1] == "27DEC24"


def test_2024_chain_drops_expired_expiries() -> None:
    """Valued 2024-03-14 09:00 UTC, 12MAR24, 13MAR24 and 14MAR24 (08:00) have expired: 9 remain."""
    market = load_deribit_chain(
        _chain(DERIBIT_CHAIN_2024_03_11), datetime(2024, 3, 14, 9, tzinfo=UTC)
    )
    assert len(market.vol_surfaces["BTC"].smiles) == 9
    assert _expiries(market)[0] == "15MAR24"
    assert all(expiry > market.valuation_time for _, expiry in market.forwards_usd)


def test_2024_chain_forwards_are_file_underlying_prices(market_2024: MarketSnapshot) -> None:
    """Rows BTC-15MAR24-70000-C/P: underlying_price 72575.33 (every 15MAR24 row);
    BTC-27DEC24-100000-C/P: 81002.9024 (the median of the 27DEC24 rows);
    BTC-28JUN24-60000-C/P: 77316.26 (78 of 96 rows; 18 say 77322.77)."""
    assert market_2024.forward("BTC", parse_expiry("15MAR24")) == 72_575.33
    assert market_2024.forward("BTC", parse_expiry("27DEC24")) == 81_002.9024
    assert market_2024.forward("BTC", parse_expiry("28JUN24")) == 77_316.26


@pytest.mark.parametrize(
    ("expiry", "strike", "mark_iv_percent"),
    [
        ("15MAR24", 70_000.0, 93.61),  # BTC-15MAR24-70000-P (K < F = 72575.33), call equal
        ("27DEC24", 100_000.0, 77.81),  # BTC-27DEC24-100000-C (K > F = 81002.9024)
        ("28JUN24", 60_000.0, 81.88),  # BTC-28JUN24-60000-P
        ("31MAY24", 59_000.0, 79.99),  # OTM put 79.99; the ITM call says 80.00
        ("26APR24", 105_000.0, 89.74),  # OTM call 89.74; the ITM put says 89.77
    ],
)
def test_2024_surface_reproduces_otm_mark_iv_at_its_strike(
    market_2024: MarketSnapshot, expiry: str, strike: float, mark_iv_percent: float
) -> None:
    assert market_2024.vol("BTC", parse_expiry(expiry), strike) == mark_iv_percent / 100.0


def test_2026_chain_index_time_and_eight_expiries(market_2026: MarketSnapshot) -> None:
    """spot_ref = 66742.5678 on every row; 8 expiries 13MAR26 ... 25DEC26, all after the inferred
    2026-03-01 19:54 UTC valuation time."""
    assert market_2026.valuation_time == datetime(2026, 3, 1, 19, 54, tzinfo=UTC)
    assert market_2026.index("BTC") == 66_742.5678
    assert len(market_2026.vol_surfaces["BTC"].smiles) == 8
    assert _expiries(market_2026)[0] == "13MAR26" and _expiries(market_2026)[-1] == "25DEC26"


def test_2026_chain_forwards_and_mark_iv(market_2026: MarketSnapshot) -> None:
    """13MAR26 underlying_price median 66341.16 (rows range 66340.24 ... 66342.3); 25DEC26 median
    68342.27. BTC-13MAR26-70000-C mark_iv 53.04; BTC-25DEC26-62000-P mark_iv 52.18."""
    assert market_2026.forward("BTC", parse_expiry("13MAR26")) == 66_341.16
    assert market_2026.forward("BTC", parse_expiry("25DEC26")) == 68_342.27
    assert market_2026.vol("BTC", parse_expiry("13MAR26"), 70_000.0) == 0.5304
    assert market_2026.vol("BTC", parse_expiry("25DEC26"), 62_000.0) == 0.5218


def test_2026_chain_later_valuation_drops_march_expiries() -> None:
    """Valued 2026-04-01 00:00 UTC, 13MAR26, 20MAR26 and 27MAR26 are gone: 5 remain."""
    market = load_deribit_chain(_chain(DERIBIT_CHAIN_2026_03_01), datetime(2026, 4, 1, tzinfo=UTC))
    assert _expiries(market) == ["24APR26", "29MAY26", "26JUN26", "25SEP26", "25DEC26"]


def test_shocked_chain_scales_forwards_and_shifts_vols(market_2024: MarketSnapshot) -> None:
    """BTC +10 %: index 72,011.29 -> 79,212.419, DEC24 forward 81,002.9024 -> 89,103.19264;
    +0.05 vol: the 100,000 strike moves to 110,000 at the same K/F and reads 0.7781 + 0.05."""
    dec24 = parse_expiry("27DEC24")
    shocked = market_2024.shocked({"BTC": 0.10}, {"BTC": 0.05})
    assert shocked.index("BTC") == pytest.approx(79_212.419, rel=1e-12)
    assert shocked.forward("BTC", dec24) == pytest.approx(89_103.19264, rel=1e-12)
    assert shocked.vol("BTC", dec24, 110_000.0) == pytest.approx(0.8281, abs=1e-12)


def test_chain_round_trips_through_to_dict(market_2026: MarketSnapshot) -> None:
    from crossmargin.market import market_from_dict

    assert market_from_dict(market_2026.to_dict()) == market_2026


def test_format_detection() -> None:
    assert detect_chain_format(["instrument_name", "underlying_price", "mark_iv", "spot_ref"]) is (
        DeribitChainFormat.TICKER
    )
    header = ["instrument_name", "underlying_price", "mark_iv", "estimated_delivery_price"]
    assert detect_chain_format(header) is DeribitChainFormat.BOOK_SUMMARY
    with pytest.raises(InputError, match="not a Deribit chain"):
        detect_chain_format(["date", "close"], "prices.csv:1")
