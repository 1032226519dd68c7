"""A coin deficit covered at the index: the debtor's own USDC first, then the insurance fund.

Alice deposits 1,000 USDC and sells 10,000 USD of BTC-PERPETUAL (inverse) at 50,000; the
position is closed at 60,000, realising 10,000 × (1/60,000 − 1/50,000) = −0.03333334 BTC
(rounded against her) in a coin she does not hold. Her own 1,000 USDC buy ⌊1,000 / 60,000⌋ =
0.01666666 BTC from the market at the index 60,000 (cost ⌈999.9996⌉ = 999.999600 USDC); the
fund, holding 10,000 USDC and 0.01 BTC, pays 0.01 BTC from its own coin, then buys the last
0.00666668 BTC for ⌈400.0008⌉ = 400.000800 USDC. Every currency's sum over all accounts is
unchanged, valued at the index the market gains only the costs' rounding (less than one USDC
quantum per conversion), and Alice ends at exactly 0 BTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from crossmargin.core.errors import InputError
from crossmargin.ledger import AccountKind, InsufficientBalanceError, Ledger
from crossmargin.ledger.liquidation_postings import (
    LiquidationFill,
    conversion_cost,
    converted_deficit_cover,
    cover_deficits,
    liquidation_round,
    post_liquidation_entry,
)

D = Decimal
PERP = "BTC-PERPETUAL"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as opened:
        yield opened


def _alice_in_btc_deficit(ledger: Ledger) -> int:
    alice = ledger.open_account("alice")
    ledger.deposit(alice, "USDC", "1000", "deposit")
    ledger.trade(alice, PERP, "-10000", "50000", "0", "sell")
    close = liquidation_round(alice, [LiquidationFill(PERP, D(10000), D(60000), True)], {})
    post_liquidation_entry(ledger, close, "close")
    assert ledger.balance(alice, "BTC") == D("-0.03333334")
    return alice


def _totals(ledger: Ledger) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for record in ledger.accounts():
        for currency, amount in ledger.balances(record.account_id).items():
            totals[currency] = totals.get(currency, D(0)) + amount
    return totals


def test_her_usdc_then_the_fund_coin_then_the_fund_usdc_cover_it(ledger: Ledger) -> None:
    alice = _alice_in_btc_deficit(ledger)
    ledger.insurance_fund_deposit("USDC", "10000", "fund-usdc")
    ledger.insurance_fund_deposit("BTC", "0.01", "fund-btc")
    fund = ledger.system_account_id(AccountKind.INSURANCE)
    market = ledger.system_account_id(AccountKind.SETTLEMENT)
    market_before = ledger.balances(market)
    totals = _totals(ledger)

    done = cover_deficits(ledger, [alice], {"BTC": D(60000)}, "cover")

    assert done.bad_debt == {}
    own, direct, converted = done.covers[alice]
    assert (own.payer, own.amount, own.paid_currency, own.paid, own.index_price) == (
        "account",
        D("0.01666666"),
        "USDC",
        D("999.999600"),
        D(60000),
    )
    assert (direct.payer, direct.amount, direct.paid_currency, direct.paid) == (
        "insurance_fund",
        D("0.01"),
        "BTC",
        D("0.01"),
    )
    assert direct.index_price is None
    assert (converted.payer, converted.amount, converted.index_price) == (
        "insurance_fund",
        D("0.00666668"),
        D(60000),
    )
    assert (converted.paid_currency, converted.paid) == ("USDC", D("400.000800"))
    assert ledger.balances(alice) == {"USDC": D("0.000400")}  # BTC exactly 0
    assert ledger.balances(fund) == {"USDC": D("9599.999200")}
    market_after = ledger.balances(market)
    assert market_after["USDC"] - market_before.get("USDC", D(0)) == D("1400.000400")
    assert market_after["BTC"] - market_before["BTC"] == D("-0.02333334")
    # valued at the index the market gains the costs' rounding up: here none (exact costs)
    assert D("1400.000400") - D("0.02333334") * 60000 == 0
    assert _totals(ledger) == totals  # every currency, to the last quantum
    assert ledger.check_invariants().ok


def test_an_exhausted_fund_leaves_only_the_remainder_as_bad_debt(ledger: Ledger) -> None:
    alice = _alice_in_btc_deficit(ledger)
    ledger.insurance_fund_deposit("USDC", "500", "fund-usdc")
    totals = _totals(ledger)

    done = cover_deficits(ledger, [alice], {"BTC": D(60000)}, "cover")

    own, converted = done.covers[alice]
    assert (own.payer, own.amount) == ("account", D("0.01666666"))
    assert converted.amount == D("0.00833333")  # ⌊500 / 60,000⌋ on the BTC quantum
    assert converted.paid == D("499.999800") == conversion_cost(D("0.00833333"), D(60000), "USDC")
    assert done.bad_debt == {alice: {"BTC": D("0.00833335")}}
    assert ledger.balance(alice, "BTC") == D("-0.00833335")
    fund = ledger.system_account_id(AccountKind.INSURANCE)
    assert ledger.balance(fund, "USDC") == D("0.000200")
    assert _totals(ledger) == totals
    assert ledger.check_invariants().ok
    # a second pass finds nothing more anyone can buy: the deficit stays, recorded
    again = cover_deficits(ledger, [alice], {"BTC": D(60000)}, "again")
    assert again.covers == {} and again.bad_debt == {alice: {"BTC": D("0.00833335")}}


def test_another_coin_of_the_account_pays_at_the_ratio_of_the_indices(ledger: Ledger) -> None:
    """Alice also holds 1 ETH (index 3,000): ETH buys BTC at 60,000 / 3,000 = 20 ETH per BTC,
    after her USDC; the fund pays nothing."""
    alice = _alice_in_btc_deficit(ledger)
    ledger.deposit(alice, "ETH", "1", "eth")
    done = cover_deficits(ledger, [alice], {"BTC": D(60000), "ETH": D(3000)}, "cover")
    own_usdc, own_eth = done.covers[alice]
    assert (own_usdc.paid_currency, own_usdc.amount) == ("USDC", D("0.01666666"))
    assert (own_eth.paid_currency, own_eth.index_price, own_eth.amount, own_eth.paid) == (
        "ETH",
        D(20),
        D("0.01666668"),
        D("0.3333336"),
    )
    assert done.bad_debt == {}
    assert ledger.balances(alice) == {"USDC": D("0.000400"), "ETH": D("0.6666664")}
    assert ledger.check_invariants().ok


def test_without_an_index_a_coin_deficit_is_not_converted(ledger: Ledger) -> None:
    alice = _alice_in_btc_deficit(ledger)
    ledger.insurance_fund_deposit("USDC", "10000", "fund-usdc")
    done = cover_deficits(ledger, [alice], {}, "cover")
    assert done.covers == {} and done.bad_debt == {alice: {"BTC": D("0.03333334")}}


def test_the_conversion_is_refused_beyond_the_deficit_or_the_payer(ledger: Ledger) -> None:
    alice = _alice_in_btc_deficit(ledger)
    ledger.insurance_fund_deposit("USDC", "100", "fund-usdc")
    too_much = converted_deficit_cover(alice, "BTC", D("0.04"), D(60000), "USDC")
    with pytest.raises(InputError, match="amount"):
        post_liquidation_entry(ledger, too_much, "too-much")
    unaffordable = converted_deficit_cover(alice, "BTC", D("0.002"), D(60000), "USDC")
    with pytest.raises(InsufficientBalanceError):  # costs 120 USDC, the fund holds 100
        post_liquidation_entry(ledger, unaffordable, "unaffordable")
    hers = converted_deficit_cover(alice, "BTC", D("0.02"), D(60000), "USDC", from_account=True)
    with pytest.raises(InsufficientBalanceError):  # costs 1,200 USDC, she holds 1,000
        post_liquidation_entry(ledger, hers, "hers")
    with pytest.raises(InputError, match="pay_currency"):
        converted_deficit_cover(alice, "USDC", D(1), D(1), "USDC")
    with pytest.raises(InputError, match="amount"):
        converted_deficit_cover(alice, "BTC", D("0.000000001"), D(60000), "USDC")
    assert ledger.balance(alice, "BTC") == D("-0.03333334")
    assert ledger.check_invariants().ok
