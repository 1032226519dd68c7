"""Unit tests of the ledger's margin check: an injected RiskCheck refuses withdrawals and trades
that leave equity below initial margin, with the numbers in the error, and writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from crossmargin.core.numeric import margin_to_decimal
from crossmargin.ledger import (
    InsufficientMarginError,
    Ledger,
    MarginModelRiskCheck,
    RiskCheck,
)
from crossmargin.margin import MarginResult
from crossmargin.margin.registry import build_model
from crossmargin.market import market_from_dict
from crossmargin.portfolio import Portfolio

D = Decimal
PERP = "BTC_USDC-PERPETUAL"


class TenPercentOfNotional:
    """A hand-checkable model: IM = rate × |size| × 65000 USD, equity = USDC balance."""

    def __init__(self) -> None:
        self.rate = 0.10
        self.calls = 0

    def __call__(self, portfolio: Portfolio) -> MarginResult:
        self.calls += 1
        notional = sum(abs(p.size) * 65000.0 for p in portfolio.positions)
        initial = margin_to_decimal(self.rate * notional)
        equity = portfolio.collateral.get("USDC", D(0))
        return MarginResult(
            model="ten-percent",
            initial_margin=initial,
            maintenance_margin=initial / 2,
            equity=equity,
            collateral_value=equity,
            components={"notional": initial},
            maintenance_components={"notional": initial / 2},
        )


@pytest.fixture
def check() -> TenPercentOfNotional:
    return TenPercentOfNotional()


@pytest.fixture
def ledger(tmp_path: Path, check: TenPercentOfNotional) -> Iterator[Ledger]:
    with Ledger(f"sqlite:///{tmp_path / 'ledger.db'}", risk_check=check) as opened:
        yield opened


def test_the_fake_is_a_risk_check(check: TenPercentOfNotional) -> None:
    assert isinstance(check, RiskCheck)


def test_a_trade_beyond_initial_margin_is_refused_with_the_numbers(ledger: Ledger) -> None:
    """1000 USDC; 0.1 BTC needs 650 (allowed); 0.2 BTC would need 1300 > 1000 (refused)."""
    alice = ledger.open_account("alice")
    ledger.deposit(alice, "USDC", "1000", "d")
    ledger.trade(alice, PERP, "0.1", "65000", "0", "t1")
    events = ledger.events()
    with pytest.raises(InsufficientMarginError) as caught:
        ledger.trade(alice, PERP, "0.1", "65000", "0", "t2")
    error = caught.value
    assert (error.equity_before, error.initial_margin_before) == (D(1000), D(650))
    assert (error.equity_after, error.initial_margin_after) == (D(1000), D(1300))
    assert error.shortfall == D(300) and error.operation == "trade"
    assert "1300" in str(error) and "ten-percent" in str(error)
    assert ledger.events() == events
    assert ledger.check_invariants().ok


def test_a_withdrawal_below_initial_margin_is_refused(ledger: Ledger) -> None:
    """0.1 BTC needs 650 of the 1000 USDC: withdrawing 350 is fine, 0.000001 more is not."""
    alice = ledger.open_account("alice")
    ledger.deposit(alice, "USDC", "1000", "d")
    ledger.trade(alice, PERP, "0.1", "65000", "0", "t1")
    with pytest.raises(InsufficientMarginError) as caught:
        ledger.withdraw(alice, "USDC", "350.000001", "w1")
    assert caught.value.equity_after == D("649.999999")
    assert caught.value.initial_margin_after == D(650)
    ledger.withdraw(alice, "USDC", "350", "w2")
    assert ledger.balances(alice) == {"USDC": D(650)}


def test_a_trade_that_reduces_risk_is_allowed_under_margin(
    ledger: Ledger, check: TenPercentOfNotional
) -> None:
    """Margin rate doubles to 20 %: 0.1 BTC needs 1300 > 1000. Selling 0.05 brings the excess
    from −300 to +350 and is allowed; buying more is refused."""
    alice = ledger.open_account("alice")
    ledger.deposit(alice, "USDC", "1000", "d")
    ledger.trade(alice, PERP, "0.1", "65000", "0", "t1")
    check.rate = 0.20
    with pytest.raises(InsufficientMarginError):
        ledger.trade(alice, PERP, "0.01", "65000", "0", "more")
    ledger.trade(alice, PERP, "-0.05", "65000", "0", "reduce")
    assert ledger.positions(alice)[0].size == D("0.05")


def test_deposits_are_not_margin_checked(ledger: Ledger, check: TenPercentOfNotional) -> None:
    alice = ledger.open_account("alice")
    ledger.deposit(alice, "USDC", "1", "d")
    assert check.calls == 0


def test_a_real_margin_model_guards_the_account(tmp_path: Path) -> None:
    """Standard cross margin at BTC = 65000: the ledger refuses exactly what the model says
    does not fit into 10000 USDC, and the error carries the model's own numbers."""
    market = market_from_dict(
        {
            "valuation_time": "2024-03-11T15:17:00Z",
            "index_usd": {"BTC": 65000.0, "USDC": 1.0},
            "vol_annual": {"BTC": 0.6},
        }
    )
    model = build_model("cross")
    with Ledger(
        f"sqlite:///{tmp_path / 'real.db'}", risk_check=MarginModelRiskCheck(model, lambda: market)
    ) as ledger:
        alice = ledger.open_account("alice")
        ledger.deposit(alice, "USDC", "10000", "d")
        ledger.trade(alice, PERP, "5", "65000", "0", "t1")
        held = model.margin(ledger.portfolio(alice), market)
        assert held.initial_margin < D(10000)
        with pytest.raises(InsufficientMarginError) as caught:
            ledger.trade(alice, PERP, "3", "65000", "0", "t2")
        wanted = Portfolio.of([(PERP, 8.0)], {"USDC": "10000"})
        assert caught.value.initial_margin_after == model.margin(wanted, market).initial_margin
        assert caught.value.initial_margin_before == held.initial_margin
        assert caught.value.equity_after == D(10000) and caught.value.model == "cross"
        spare = D(10000) - held.initial_margin
        with pytest.raises(InsufficientMarginError):
            ledger.withdraw(alice, "USDC", spare + D("0.000001"), "w-too-much")
        ledger.withdraw(alice, "USDC", spare, "w-spare")
        assert ledger.check_invariants().ok


def test_a_trade_preview_shows_before_and_after_and_posts_nothing(tmp_path: Path) -> None:
    """Preview selling 0.2 of a 0.5 long @ 65000.5 at 66000 with a 0.5 fee: realised 199.9,
    so USDC goes 1000 → 1199.4 and 0.3 remains; a 1-BTC call bought at 0.05 BTC with no BTC
    is reported as uncovered."""
    with Ledger(f"sqlite:///{tmp_path / 'preview.db'}") as ledger:
        alice = ledger.open_account("alice")
        ledger.deposit(alice, "USDC", "1000", "d")
        ledger.trade(alice, PERP, "0.5", "65000.5", "0", "t1")
        events = ledger.events()
        preview = ledger.preview_trade(alice, PERP, "-0.2", "66000", "0.5")
        assert preview.before.balances == {"USDC": D(1000)}
        assert preview.after.balances == {"USDC": D("1199.4")}
        assert preview.after.positions[0].size == D("0.3")
        assert preview.portfolio_after.positions[0].size == 0.3
        assert preview.uncovered == ()
        assert ledger.events() == events
        short_of_btc = ledger.preview_trade(alice, "BTC-27DEC24-60000-C", "1", "0.05")
        assert [(u.currency, u.required) for u in short_of_btc.uncovered] == [("BTC", D("0.05"))]
