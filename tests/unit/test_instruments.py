"""Instrument names: the Deribit examples from the foundation issue, and bad names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crossmargin.core.errors import InputError, InstrumentNameError
from crossmargin.instruments import Instrument, InstrumentKind, OptionType, parse_instrument

CASES = [
    # name, underlying, settlement, kind, expiry, strike, option_type, inverse
    ("BTC-PERPETUAL", "BTC", "BTC", InstrumentKind.PERPETUAL, None, None, None, True),
    ("ETH-PERPETUAL", "ETH", "ETH", InstrumentKind.PERPETUAL, None, None, None, True),
    ("BTC_USDC-PERPETUAL", "BTC", "USDC", InstrumentKind.PERPETUAL, None, None, None, False),
    (
        "BTC-27DEC24",
        "BTC",
        "BTC",
        InstrumentKind.FUTURE,
        datetime(2024, 12, 27, 8, tzinfo=UTC),
        None,
        None,
        True,
    ),
    (
        "BTC-27DEC24-60000-C",
        "BTC",
        "BTC",
        InstrumentKind.OPTION,
        datetime(2024, 12, 27, 8, tzinfo=UTC),
        60000.0,
        OptionType.CALL,
        True,
    ),
    (
        "ETH-28MAR25-3500-P",
        "ETH",
        "ETH",
        InstrumentKind.OPTION,
        datetime(2025, 3, 28, 8, tzinfo=UTC),
        3500.0,
        OptionType.PUT,
        True,
    ),
    (
        "SOL_USDC-27DEC24-150-C",
        "SOL",
        "USDC",
        InstrumentKind.OPTION,
        datetime(2024, 12, 27, 8, tzinfo=UTC),
        150.0,
        OptionType.CALL,
        False,
    ),
    (
        "BTC_USDC-27DEC24-60000-P",
        "BTC",
        "USDC",
        InstrumentKind.OPTION,
        datetime(2024, 12, 27, 8, tzinfo=UTC),
        60000.0,
        OptionType.PUT,
        False,
    ),
    ("BTC_USDC", "BTC", "USDC", InstrumentKind.SPOT, None, None, None, False),
    (
        "XRP_USDC-5JAN25-0d625-C",
        "XRP",
        "USDC",
        InstrumentKind.OPTION,
        datetime(2025, 1, 5, 8, tzinfo=UTC),
        0.625,
        OptionType.CALL,
        False,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_issue_examples_parse_and_round_trip(case: tuple[object, ...]) -> None:
    name, underlying, settlement, kind, expiry, strike, option_type, inverse = case
    instrument = parse_instrument(str(name))
    assert instrument.name == name
    assert instrument.underlying == underlying
    assert instrument.settlement_currency == settlement
    assert instrument.kind is kind
    assert instrument.kind.value == str(kind)
    assert instrument.expiry == expiry
    assert instrument.strike == strike
    assert instrument.option_type == option_type
    assert instrument.is_inverse is inverse


def test_expiry_is_eight_utc_and_timezone_aware() -> None:
    expiry = parse_instrument("BTC-5APR24").expiry
    assert expiry is not None and expiry.utcoffset() is not None
    assert expiry == datetime(2024, 4, 5, 8, 0, tzinfo=UTC)


def test_kind_and_option_type_compare_to_their_strings() -> None:
    instrument = parse_instrument("ETH-28MAR25-3500-P")
    assert instrument.kind == "option"
    assert instrument.option_type == "put"


def test_default_contract_sizes_follow_deribit() -> None:
    assert parse_instrument("BTC-PERPETUAL").contract_size == 10.0  # 10 USD per contract
    assert parse_instrument("ETH-PERPETUAL").contract_size == 1.0  # 1 USD per contract
    assert parse_instrument("BTC-27DEC24-60000-C").contract_size == 1.0  # 1 BTC
    assert parse_instrument("BTC_USDC-27DEC24-60000-P").contract_size == 0.01  # 0.01 BTC


@pytest.mark.parametrize(
    ("name", "part"),
    [
        ("BTC-27DEX24", "expiry month 'DEX'"),
        ("btc-PERPETUAL", "currency 'btc'"),
        ("BTC-27DEC24-60000-X", "option type 'X'"),
        ("BTC-31FEB24", "expiry '31FEB24'"),
        ("BTC", "name"),
        ("BTC-27DEC24-abc-C", "strike 'abc'"),
        ("BTC-27DEC24-0-C", "strike '0'"),
        ("BTC_USDC_X", "currency pair 'BTC_USDC_X'"),
        ("BTC-27DEC24-60000", "name"),
        ("BTC-PERPETUAL ", "name"),
        ("", "name"),
    ],
)
def test_bad_names_quote_the_name_and_the_part(name: str, part: str) -> None:
    with pytest.raises(InstrumentNameError) as caught:
        parse_instrument(name)
    message = str(caught.value)
    assert repr(name) in message
    assert part in message


def test_bad_names_are_value_errors_for_callers_that_catch_those() -> None:
    with pytest.raises(ValueError, match="BTC-PERP"):
        parse_instrument("BTC-PERP")


def test_instrument_is_frozen_and_validated() -> None:
    instrument = parse_instrument("BTC-PERPETUAL")
    with pytest.raises(AttributeError):
        instrument.underlying = "ETH"  # type: ignore[misc]
    with pytest.raises(InputError, match="strike"):
        Instrument(
            "BTC",
            "BTC",
            InstrumentKind.OPTION,
            expiry=datetime(2024, 12, 27, 8, tzinfo=UTC),
            strike=-1.0,
            option_type=OptionType.CALL,
        )
    with pytest.raises(InputError, match="timezone"):
        Instrument("BTC", "BTC", InstrumentKind.FUTURE, expiry=datetime(2024, 12, 27, 8))
    with pytest.raises(InputError, match="no expiry"):
        Instrument(
            "BTC", "BTC", InstrumentKind.PERPETUAL, expiry=datetime(2024, 12, 27, 8, tzinfo=UTC)
        )
    with pytest.raises(InputError, match="settlement_currency"):
        Instrument("BTC", "ETH", InstrumentKind.PERPETUAL)
