"""Insurance fund, ADL ranking and allocation, socialised loss: exact Decimal amounts."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from crossmargin.core.errors import InputError
from crossmargin.liquidation import (
    AdlRanking,
    InsuranceFund,
    ShortfallPolicy,
    adl_scores,
    auto_deleverage,
    resolve_shortfall,
    socialise_loss,
)


def test_fund_draws_never_go_negative() -> None:
    """A 1,000 fund asked for 1,500.5 covers 1,000 and leaves 500.5 uncovered, balance 0."""
    drawn = InsuranceFund(Decimal("1000")).draw(Decimal("1500.5"))
    assert drawn.fund.balance == 0 and drawn.covered == Decimal("1000")
    assert drawn.uncovered == Decimal("500.5")
    with pytest.raises(InputError):
        InsuranceFund(Decimal("-1"))
    with pytest.raises(InputError):
        InsuranceFund(Decimal("1")).deposit(Decimal("0.0000001"))  # below the USD quantum


def test_binance_and_bybit_scores_worked_example() -> None:
    """Binance: uPnL 500, wallet 1,000, MM 300 → 500/1,000 × 300/1,500 = 0.1; a loser scores
    0. Bybit: PnL % 0.5 × leverage (notional 3,000 / equity 1,500 = 2) = 1.0; the loser −200
    on 1,000 with notional 1,600 (leverage 2) → −0.2 / 2 = −0.1."""
    binance = adl_scores([500.0, -200.0], [1000.0, 1000.0], [300.0, 100.0], [3000.0, 1600.0])
    np.testing.assert_allclose(binance, [0.1, 0.0])
    bybit = adl_scores([500.0, -200.0], [1000.0, 1000.0], [300.0, 100.0], [3000.0, 1600.0],
                       AdlRanking.BYBIT)  # fmt: skip
    np.testing.assert_allclose(bybit, [1.0, -0.1])


def test_adl_closes_against_the_highest_score_first_and_adds_up() -> None:
    """Bankrupt long of 3 BTC with a 100.000001 USD shortfall; shorts: account 7 (score 0.1,
    2 BTC), 8 (0.3, 2 BTC), 9 (0.3, 5 BTC). Ties by candidate order: 8 takes 2 BTC
    (100.000001 × 2/3 = 66.666667 rounded down to 66.666667), 9 takes 1 BTC and the remainder
    33.333334; account 7 is spared."""
    fills = auto_deleverage(Decimal("100.000001"), Decimal(3), [7, 8, 9],
                            [Decimal(2), Decimal(2), Decimal(5)], [0.1, 0.3, 0.3])  # fmt: skip
    assert [(f.account, f.size, f.loss) for f in fills] == [
        (8, Decimal(2), Decimal("66.666667")), (9, Decimal(1), Decimal("33.333334")),
    ]  # fmt: skip
    with pytest.raises(InputError):
        auto_deleverage(Decimal(1), Decimal(10), [1], [Decimal(2)], [1.0])


def test_socialised_shares_add_up_to_the_last_quantum() -> None:
    """10 USD over profits 1, 1, 1 and a loser: 3.333333 each, the remainder 0.000001 to the
    first of the largest; the loser pays nothing."""
    shares = socialise_loss(Decimal(10), [Decimal(1), Decimal(1), Decimal(1), Decimal(-5)])
    assert shares == (Decimal("3.333334"), Decimal("3.333333"), Decimal("3.333333"), Decimal(0))


def test_fund_pays_first_then_policy() -> None:
    """Shortfall 250 against a 100 fund: the fund pays 100; ADL passes on 150; socialising
    passes the same 150 to the winners. from_fund + passed_on = shortfall either way."""
    fund = InsuranceFund(Decimal(100))
    adl = resolve_shortfall(Decimal(250), fund, ShortfallPolicy.ADL, bankrupt_size=Decimal(1),
                            candidates=[4], opposing_size=[Decimal(1)], scores=[1.0])  # fmt: skip
    assert adl.from_fund == 100 and adl.passed_on == 150 and adl.fund.balance == 0
    social = resolve_shortfall(Decimal(250), fund, ShortfallPolicy.SOCIALISE,
                               profits=[Decimal(30), Decimal(10)])  # fmt: skip
    assert social.socialised == (Decimal("112.500000"), Decimal("37.500000"))
    assert social.from_fund + social.passed_on == Decimal(250)
