"""Unit tests of Decimal position arithmetic: netting, expiry values, funding payments."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crossmargin.core.errors import InputError
from crossmargin.instruments import parse_instrument
from crossmargin.ledger.netting import expiry_value, funding_payment, net_trade

D = Decimal
LINEAR_PERP = parse_instrument("BTC_USDC-PERPETUAL")
INVERSE_PERP = parse_instrument("BTC-PERPETUAL")


def test_adding_to_a_linear_position_averages_by_size() -> None:
    """0.5 @ 65000.5 plus 1 @ 65001: (32500.25 + 65001) / 1.5 = 65000.8333… → 1e-12."""
    netted = net_trade(LINEAR_PERP, D("0.5"), D("65000.5"), D("1"), D("65001"))
    assert netted.size_after == D("1.5")
    assert netted.average_price_after == D("65000.833333333333")
    assert netted.realised_pnl == 0


def test_reducing_realises_the_closed_part_and_keeps_the_entry() -> None:
    """Sell 0.2 of a 0.5 long entered at 65000.5, at 66000: 0.2 × 999.5 = 199.9 USDC."""
    netted = net_trade(LINEAR_PERP, D("0.5"), D("65000.5"), D("-0.2"), D("66000"))
    assert (netted.size_after, netted.average_price_after) == (D("0.3"), D("65000.5"))
    assert netted.realised_pnl == D("199.9")


def test_flipping_closes_all_and_opens_the_rest_at_the_trade_price() -> None:
    """Sell 0.8 against a 0.5 long @ 65000.5 at 64000: 0.5 × (64000 − 65000.5) = −500.25 USDC;
    0.3 short remains at 64000."""
    netted = net_trade(LINEAR_PERP, D("0.5"), D("65000.5"), D("-0.8"), D("64000"))
    assert (netted.size_after, netted.average_price_after) == (D("-0.3"), D("64000"))
    assert netted.realised_pnl == D("-500.25")


def test_closing_exactly_leaves_no_entry_price() -> None:
    netted = net_trade(LINEAR_PERP, D("-2"), D("60000"), D("2"), D("59000"))
    assert (netted.size_after, netted.average_price_after) == (D(0), None)
    assert netted.realised_pnl == D("2000")  # short 2 from 60000 to 59000


def test_inverse_contracts_realise_coin_and_average_harmonically() -> None:
    """Inverse: 10000 USD long @ 50000 closed at 62500 realises 10000 × (1/50000 − 1/62500)
    = 0.04 BTC. Adding 10000 @ 40000 to 10000 @ 50000: 20000 / (0.2 + 0.25) = 44444.44…"""
    closed = net_trade(INVERSE_PERP, D(10000), D(50000), D(-10000), D(62500))
    assert closed.realised_pnl == D("0.04")
    grown = net_trade(INVERSE_PERP, D(10000), D(50000), D(10000), D(40000))
    assert grown.average_price_after == D("44444.444444444444")


def test_options_keep_the_average_premium_and_realise_nothing() -> None:
    """2 calls @ 0.05 BTC plus 1 @ 0.08: (0.10 + 0.08) / 3 = 0.06 BTC per unit."""
    call = parse_instrument("BTC-27DEC24-60000-C")
    netted = net_trade(call, D(2), D("0.05"), D(1), D("0.08"))
    assert (netted.size_after, netted.average_price_after) == (D(3), D("0.06"))
    assert net_trade(call, D(3), D("0.06"), D(-1), D("0.09")).realised_pnl == 0


def test_spot_is_not_a_position() -> None:
    with pytest.raises(InputError, match="spot"):
        net_trade(parse_instrument("BTC_USDC"), D(0), None, D(1), D(60000))


@pytest.mark.parametrize(
    ("name", "size", "average", "price", "value"),
    [
        # linear call: 2 × (65000 − 60000) = 10000 USDC
        ("BTC_USDC-27DEC24-60000-C", "2", None, "65000", "10000"),
        # inverse call: (64000 − 60000) / 64000 = 0.0625 BTC per unit
        ("BTC-27DEC24-60000-C", "1", "0.02", "64000", "0.0625"),
        # out-of-the-money put expires worthless
        ("BTC-27DEC24-60000-P", "3", "0.01", "65000", "0"),
        # short linear put: −1 × (60000 − 50000) = −10000 USDC
        ("BTC_USDC-27DEC24-60000-P", "-1", "900", "50000", "-10000"),
        # linear future: 0.5 × (66000.5 − 65000.5) = 500 USDC
        ("BTC_USDC-27DEC24", "0.5", "65000.5", "66000.5", "500"),
        # inverse future short 1000 USD from 50000 to 40000: −1000 × (1/50000 − 1/40000) = 0.005
        ("BTC-27DEC24", "-1000", "50000", "40000", "0.005"),
    ],
)
def test_expiry_values(name: str, size: str, average: str | None, price: str, value: str) -> None:
    instrument = parse_instrument(name)
    entry = None if average is None else D(average)
    assert expiry_value(instrument, D(size), entry, D(price)) == D(value)


def test_perpetuals_do_not_expire() -> None:
    with pytest.raises(InputError, match="expire"):
        expiry_value(LINEAR_PERP, D(1), D(1), D(1))


def test_funding_payments() -> None:
    """Linear: 0.5 BTC × 34149.46365245 × 0.0001 = 1.7074731826225 USDC paid by the long.
    Inverse: a 10000 USD short at mark 50000 is 0.2 BTC; at 0.0001 it pays −0.00002 (receives)."""
    assert funding_payment(LINEAR_PERP, D("0.5"), D("34149.46365245"), D("0.0001")) == D(
        "1.7074731826225"
    )
    assert funding_payment(INVERSE_PERP, D(-10000), D(50000), D("0.0001")) == D("-0.00002")
    with pytest.raises(InputError, match="perpetuals"):
        funding_payment(parse_instrument("BTC_USDC-27DEC24"), D(1), D(1), D(1))
