"""Venue adapters against recorded responses (tests/recorded/venues, written from the documented
formats: see its README). No network: the transport is a function that reads the files."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crossmargin.core.errors import InputError
from crossmargin.oracles import (
    BinancePremiumIndexSource,
    DeribitIndexSource,
    OraclePolicy,
    aggregate,
    parse_binance_premium_index,
    parse_deribit_ticker,
)

RECORDED = Path(__file__).resolve().parents[1] / "recorded" / "venues"

ROUTES = {
    ("/api/v2/public/get_index_price", "btc_usd"): "deribit_get_index_price_btc_usd.json",
    ("/fapi/v1/premiumIndex", "BTCUSDT"): "binance_premium_index_btcusdt.json",
    ("/fapi/v1/premiumIndex", "NOPEUSDT"): "binance_premium_index_error.json",
}


def recorded_fetch(path: str, params: Mapping[str, str]) -> str:
    key = (path, next(iter(params.values())))
    return (RECORDED / ROUTES[key]).read_text("utf-8")


def test_deribit_index_source_dates_the_quote_by_us_out() -> None:
    """usOut 1710170220124012 µs = 2024-03-11 15:17:00.124012 UTC."""
    (quote,) = DeribitIndexSource(recorded_fetch).quotes("BTC", datetime(2024, 3, 11, tzinfo=UTC))
    assert quote.source == "deribit" and quote.price_usd == 72013.45
    assert quote.published_at == datetime(2024, 3, 11, 15, 17, 0, 124012, tzinfo=UTC)


def test_deribit_ticker_fields() -> None:
    ticker = parse_deribit_ticker((RECORDED / "deribit_ticker_btc_perpetual.json").read_text())
    assert ticker.instrument == "BTC-PERPETUAL"
    assert ticker.timestamp == datetime(2024, 3, 11, 15, 17, tzinfo=UTC)
    assert (ticker.mark_price_usd, ticker.index_price_usd) == (72040.12, 72013.45)
    assert (ticker.best_bid_usd, ticker.best_ask_usd) == (72039.5, 72040.0)
    assert ticker.funding_8h == 0.00031 and ticker.current_funding == 0.00012
    assert ticker.index_quote().price_usd == 72013.45


def test_binance_premium_index_documented_example() -> None:
    """Binance's documented example: time 1597370495002 ms = 2020-08-14 02:01:35.002 UTC."""
    entry = parse_binance_premium_index(
        (RECORDED / "binance_premium_index_btcusdt.json").read_text()
    )
    assert entry.symbol == "BTCUSDT"
    assert entry.mark_price_usd == pytest.approx(11793.63104562)
    assert entry.index_price_usd == pytest.approx(11781.80495970)
    assert entry.last_funding_rate == pytest.approx(0.00038246)
    assert entry.interest_rate == pytest.approx(0.0001)
    assert entry.time == datetime(2020, 8, 14, 2, 1, 35, 2000, tzinfo=UTC)
    assert entry.next_funding_time == datetime(2020, 8, 14, 8, tzinfo=UTC)


def test_binance_error_and_bad_bodies_name_the_field() -> None:
    with pytest.raises(InputError, match=r"binance\.code"):
        BinancePremiumIndexSource(recorded_fetch).quotes("NOPE", datetime.now(UTC))
    with pytest.raises(InputError, match=r"binance\.indexPrice"):
        parse_binance_premium_index(
            '{"symbol": "BTCUSDT", "markPrice": "1", "indexPrice": "-2", "time": 1}'
        )
    with pytest.raises(InputError, match="is not JSON"):
        parse_deribit_ticker("<html>")
    with pytest.raises(InputError, match=r"deribit\.result\.mark_price"):
        parse_deribit_ticker(
            '{"result": {"instrument_name": "X", "timestamp": 1, "index_price": 1}}'
        )


def test_recorded_sources_feed_the_aggregator() -> None:
    """Deribit's index (2024) and Binance's (2020) are 3.6 years apart: at the Deribit time the
    Binance quote is stale, so with min_sources 2 the oracle is unavailable and says why."""
    now = datetime(2024, 3, 11, 15, 17, 30, tzinfo=UTC)
    quotes = [
        *DeribitIndexSource(recorded_fetch).quotes("BTC", now),
        *BinancePremiumIndexSource(recorded_fetch).quotes("BTC", now),
    ]
    result = aggregate(quotes, now, OraclePolicy(60.0, 0.02, 2))
    assert result.status == "unavailable"
    assert "binance (stale)" in result.reason
