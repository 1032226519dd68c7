"""Black-76 against real Deribit BTC option chains (shared/data/options, see its README).

Sources: Deribit ``get_book_summary_by_currency`` dump of 2024-03-11 (StevenMaharaj/ow1display)
and a Deribit ticker dump of 2026-03-01 with Deribit's own Greeks (tessicin/volatility). Deribit
prices BTC options with Black-76 on the USD value ``mark_price x underlying_price`` at r = 0,
``underlying_price`` being the forward of the expiry, expiries at 08:00 UTC.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crossmargin.pricing import black76_greeks, black76_price, deribit_display_greeks, implied_vol
from support.shared_data import require_shared_data

CHAIN_2024 = ("options", "deribit_btc_chain_2024-03-11", "deribit_options.csv")
CHAIN_2026 = ("options", "deribit_btc_chain_2026-03-01", "deribit_options.csv")

MONTH_CODES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
MONTHS = {code: number for number, code in enumerate(MONTH_CODES, 1)}
SECONDS_PER_YEAR = 365.0 * 86400.0
VALUATION_2024 = dt.datetime(2024, 3, 11, 15, 17, tzinfo=dt.UTC)  # shared/data/README.md
TICK_BTC = 0.0001  # Deribit's smallest BTC option price increment


@dataclass(frozen=True)
class Chain:
    names: list[str]
    expiry: np.ndarray  # seconds since the epoch, 08:00 UTC on the date in the name
    strike: np.ndarray
    is_call: np.ndarray
    forward: np.ndarray
    mark_price_btc: np.ndarray
    mark_iv: np.ndarray  # fraction (0.6 = 60 %)
    columns: dict[str, np.ndarray]


def parse_instrument(name: str) -> tuple[float, float, bool]:
    """``BTC-14MAR24-72250-C`` -> (expiry 2024-03-14 08:00 UTC as epoch seconds, 72250.0, True)."""
    _, date, strike, kind = name.split("-")
    day, month, year = int(date[:-5]), MONTHS[date[-5:-2]], 2000 + int(date[-2:])
    expiry = dt.datetime(year, month, day, 8, tzinfo=dt.UTC)
    return expiry.timestamp(), float(strike), kind == "C"


def load_chain(path: Path, extra: tuple[str, ...] = ()) -> Chain:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    parsed = [parse_instrument(row["instrument_name"]) for row in rows]
    return Chain(
        names=[row["instrument_name"] for row in rows],
        expiry=np.array([p[0] for p in parsed]),
        strike=np.array([p[1] for p in parsed]),
        is_call=np.array([p[2] for p in parsed]),
        forward=np.array([float(row["underlying_price"]) for row in rows]),
        mark_price_btc=np.array([float(row["mark_price"]) for row in rows]),
        mark_iv=np.array([float(row["mark_iv"]) for row in rows]) / 100.0,
        columns={c: np.array([float(row[c]) for row in rows]) for c in extra},
    )


def test_parse_instrument_name() -> None:
    """Deribit names carry the expiry date (08:00 UTC), the strike in USD and C/P."""
    expiry, strike, is_call = parse_instrument("BTC-14MAR24-72250-C")
    assert dt.datetime.fromtimestamp(expiry, dt.UTC) == dt.datetime(2024, 3, 14, 8, tzinfo=dt.UTC)
    assert (strike, is_call) == (72250.0, True)


def test_implied_vols_of_2024_03_11_chain() -> None:
    """Recover ``mark_iv`` from ``mark_price x underlying_price`` on 1,198 BTC options.

    Valuation time 2024-03-11 15:17 UTC (approximate, from the data README), r = 0. Excluded
    (132 rows): zero marks and marks whose time value is under 0.0005 BTC (5 ticks) - deep ITM
    calls worth intrinsic + 1e-5 BTC and far OTM puts at 0, where a vol point moves the price by
    less than a tick's rounding and ``mark_iv`` is a placeholder (often exactly 100 %).

    Measured on the 1,066 kept: |implied - mark_iv| median 0.0085 vol points, 92.5 % within 0.1,
    98.0 % within 0.5, worst 18.1. On the 533 OTM ones (what Deribit marks from its smile):
    median 0.005, 98.1 % within 0.05, 6 beyond 0.5. Those outliers are the dump's, not the
    model's: BTC-13MAR24-74250 call and put both imply 72.22 % against mark_iv 90.29 %, and
    14MAR24-74250/74750/78500 all imply 87.94 % against mark_iv 100 %. Every kept price is
    reproduced by its implied vol to 1e-12 relative.
    """
    chain = load_chain(require_shared_data(*CHAIN_2024))
    t_years = (chain.expiry - VALUATION_2024.timestamp()) / SECONDS_PER_YEAR
    price_usd = chain.mark_price_btc * chain.forward
    intrinsic_usd = np.where(
        chain.is_call,
        np.maximum(chain.forward - chain.strike, 0.0),
        np.maximum(chain.strike - chain.forward, 0.0),
    )
    time_value_btc = (price_usd - intrinsic_usd) / chain.forward
    kept = (chain.mark_price_btc > 0.0) & (time_value_btc >= 5 * TICK_BTC)
    assert len(chain.names) == 1198
    assert kept.sum() == 1066

    vol = implied_vol(price_usd, chain.forward, chain.strike, t_years, 0.0, chain.is_call)
    assert not np.isnan(vol[kept]).any()
    repriced = black76_price(
        chain.forward[kept], chain.strike[kept], t_years[kept], vol[kept], 0.0, chain.is_call[kept]
    )
    np.testing.assert_allclose(repriced, price_usd[kept], rtol=1e-12)

    miss = np.abs(vol - chain.mark_iv)[kept] * 100.0  # vol points
    assert np.median(miss) < 0.02
    assert np.mean(miss <= 0.1) >= 0.90
    assert np.mean(miss <= 0.5) >= 0.975

    otm_miss = np.abs(vol - chain.mark_iv)[kept & (intrinsic_usd == 0.0)] * 100.0
    assert otm_miss.size == 533
    assert np.median(otm_miss) < 0.01
    assert np.mean(otm_miss <= 0.05) >= 0.975
    assert np.mean(otm_miss <= 0.5) >= 0.985


def test_deribit_greeks_of_2026_03_01_chain() -> None:
    """Reproduce Deribit's delta, gamma, vega, theta on 166 BTC options of 2026-03-01.

    The snapshot time is not stored. Per option, T solves Black-76(T, mark_iv) = mark_price x
    underlying_price (total vol from :func:`implied_vol` at t = 1, over mark_iv, squared); the
    median of expiry - T over all options is the valuation time: 2026-03-01 13:45:52 UTC
    (per-option estimates scatter 10:16..18:08 because marks are rounded to 0.0001 BTC). At that
    time, r = 0, in Deribit's units (forward delta N(d1), vega per vol point, theta per calendar
    day, both USD), measured: |delta error| <= 3.9e-5, vega within 2.0e-4 relative, theta within
    1.5e-4 relative, gamma equal to Deribit's after rounding to 5 decimals on every row.
    """
    chain = load_chain(
        require_shared_data(*CHAIN_2026),
        extra=("delta", "gamma", "vega", "theta", "expiration_timestamp"),
    )
    np.testing.assert_array_equal(chain.expiry * 1000.0, chain.columns["expiration_timestamp"])
    price_usd = chain.mark_price_btc * chain.forward
    total_vol = implied_vol(price_usd, chain.forward, chain.strike, 1.0, 0.0, chain.is_call)
    t_each = (total_vol / chain.mark_iv) ** 2
    valuation = float(np.median(chain.expiry - t_each * SECONDS_PER_YEAR))
    inferred = dt.datetime.fromtimestamp(valuation, dt.UTC)
    assert dt.datetime(2026, 3, 1, 13, 30, tzinfo=dt.UTC) <= inferred
    assert inferred <= dt.datetime(2026, 3, 1, 14, 0, tzinfo=dt.UTC)

    t_years = (chain.expiry - valuation) / SECONDS_PER_YEAR
    greeks = black76_greeks(chain.forward, chain.strike, t_years, chain.mark_iv, 0.0, chain.is_call)
    shown = deribit_display_greeks(greeks)
    deribit = chain.columns
    np.testing.assert_allclose(shown.delta, deribit["delta"], rtol=0.0, atol=1e-4)
    np.testing.assert_array_equal(np.round(shown.gamma, 5), deribit["gamma"])
    np.testing.assert_allclose(shown.vega, deribit["vega"], rtol=5e-4)
    np.testing.assert_allclose(shown.theta, deribit["theta"], rtol=5e-4)
