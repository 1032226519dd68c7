"""Property: every generated Deribit name parses and formats back to itself."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from crossmargin.instruments import parse_instrument

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")

assets = st.sampled_from(["BTC", "ETH", "SOL", "XRP", "AVAX", "MATIC"])
quotes = st.sampled_from([None, "USDC", "USDT"])
dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2099, 12, 31)).map(
    lambda d: f"{d.day}{MONTHS[d.month - 1]}{d.year % 100:02d}"
)
integer_strikes = st.integers(min_value=1, max_value=10_000_000).map(str)
decimal_strikes = (
    st.tuples(st.integers(min_value=0, max_value=999), st.integers(min_value=1, max_value=9999))
    .filter(lambda pair: not str(pair[1]).endswith("0"))
    .map(lambda pair: f"{pair[0]}d{pair[1]}")
)


@st.composite
def names(draw: st.DrawFn) -> str:
    base = draw(assets)
    quote = draw(quotes)
    pair = base if quote is None else f"{base}_{quote}"
    kind = draw(st.sampled_from(["spot", "perpetual", "future", "option"]))
    if kind == "spot":
        return f"{base}_{quote or 'USDC'}"
    if kind == "perpetual":
        return f"{pair}-PERPETUAL"
    if kind == "future":
        return f"{pair}-{draw(dates)}"
    strike = draw(st.one_of(integer_strikes, decimal_strikes))
    return f"{pair}-{draw(dates)}-{strike}-{draw(st.sampled_from('CP'))}"


@given(names())
def test_generated_names_round_trip(name: str) -> None:
    instrument = parse_instrument(name)
    assert instrument.name == name
    assert parse_instrument(instrument.name) == instrument
    assert instrument.is_inverse == ("_" not in name.split("-")[0])
