"""Liquidations posted through the ledger conserve money to the last quantum (SQLite).

Hypothesis draws a few accounts (USDC deposits, long or short BTC_USDC-PERPETUAL at 72,000),
an insurance fund and a BTC move; every account the move puts in the liquidatable band is
liquidated in CEX rounds (one ledger entry per round), its deficit is paid by the fund, then by
auto-deleveraging the opposing accounts at the bankruptcy price, else socialised. Invariants:
the outside world is never touched (so users + insurance fund + fees + market are unchanged,
exactly), every balance sums to zero per currency, the fund moves by fees − cover exactly, each
round's fee is the library's, a covered bankrupt account ends at exactly 0, the ledger's
invariants hold and the event log replays to the same bytes.
"""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crossmargin.core.errors import InputError
from crossmargin.core.numeric import to_decimal_nearest
from crossmargin.ledger import AccountKind, Ledger, replay, state_to_bytes
from crossmargin.ledger.liquidation_postings import (
    LiquidationFill,
    LossShare,
    liquidation_round,
    post_liquidation_entry,
    shortfall_settlement,
)
from crossmargin.ledger.risk import holdings_portfolio
from crossmargin.liquidation import (
    InsuranceFund,
    account_under_model,
    auto_deleverage,
    load_liquidation_parameters,
    round_transfers,
    run_cex_liquidation,
    socialise_loss,
)
from crossmargin.margin.health import HealthState, health_state
from support.markets import MARKET

PARAMS = load_liquidation_parameters()
PERP = "BTC_USDC-PERPETUAL"
D = Decimal

accounts = st.lists(
    st.tuples(
        st.integers(1_000, 40_000),  # USDC deposit
        st.sampled_from([-2.0, -1.0, -0.5, -0.1, 0.1, 0.5, 1.0, 2.0]),  # BTC
    ),
    min_size=2,
    max_size=4,
)


def _total(ledger: Ledger, currency: str) -> Decimal:
    return sum((ledger.balance(a.account_id, currency) for a in ledger.accounts()), D(0))


def _pass_on(ledger: Ledger, account_id: int, mark: Decimal) -> Decimal:
    """Fund, then ADL at the bankruptcy price, else socialised; returns what is left."""
    fund = ledger.system_account_id(AccountKind.INSURANCE)
    deficit = max(-ledger.balance(account_id, "USDC"), D(0))
    if deficit == 0:
        return D(0)
    cover = min(deficit, ledger.balance(fund, "USDC"))
    left = deficit - cover
    shares: list[LossShare] = []
    users = [a.account_id for a in ledger.accounts() if a.kind is AccountKind.USER]
    others = [u for u in users if u != account_id]
    if left > 0:
        opposing = [
            (u, p.size) for u in others for p in ledger.positions(u) if p.instrument == PERP
        ]
        try:
            fills = auto_deleverage(
                left,
                sum((abs(s) for _, s in opposing), D(0)),
                [u for u, _ in opposing],
                [abs(s) for _, s in opposing],
                np.ones(len(opposing)),
            )
            held = dict(opposing)
            shares = [
                LossShare(f.account, f.loss, PERP, -f.size if held[f.account] > 0 else f.size, mark)
                for f in fills
            ]
        except InputError:
            profits = [max(ledger.balance(u, "USDC"), D(0)) for u in others]
            try:
                amounts = socialise_loss(left, profits)
            except InputError:
                amounts = tuple(D(0) for _ in others)
            shares = [LossShare(u, a) for u, a in zip(others, amounts, strict=True) if a > 0]
    passed = sum((s.amount for s in shares), D(0))
    if cover + passed > 0:
        operation = shortfall_settlement(account_id, "USDC", cover, shares)
        post_liquidation_entry(ledger, operation, "shortfall")
    return deficit - cover - passed


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(accounts, st.integers(0, 3_000), st.floats(-0.35, 0.35), st.integers(0, 2**16))
def test_liquidations_through_the_ledger_conserve_money(
    drawn: list[tuple[int, float]], fund_usd: int, move: float, seed: int
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        ledger = Ledger(f"sqlite:///{Path(directory) / 'ledger.db'}")
        try:
            _check(ledger, drawn, fund_usd, move, seed)
        finally:
            ledger.close()


def _check(
    ledger: Ledger, drawn: list[tuple[int, float]], fund_usd: int, move: float, seed: int
) -> None:
    ids = []
    for k, (deposit, size) in enumerate(drawn):
        account = ledger.open_account(f"user-{k}")
        ledger.deposit(account, "USDC", D(deposit), "seed")
        ledger.trade(account, PERP, D(repr(size)), D(72_000), D(0), "open")
        ids.append(account)
    if fund_usd:
        ledger.insurance_fund_deposit("USDC", D(fund_usd), "fund")
    fund_id = ledger.system_account_id(AccountKind.INSURANCE)
    external_id = ledger.system_account_id(AccountKind.EXTERNAL)
    external_before = ledger.balance(external_id, "USDC")
    fund_before = ledger.balance(fund_id, "USDC")
    market = MARKET.shocked({"BTC": move})
    mark = to_decimal_nearest(market.index("BTC"))
    rng = np.random.default_rng(seed)
    fees = covered = D(0)
    for account_id in ids:
        portfolio = holdings_portfolio(ledger.holdings(account_id))
        account, margin = account_under_model(None, portfolio, market, PARAMS)
        _, maintenance = margin(account.size[None, :])
        state = health_state(account.equity_usd(), float(maintenance[0]), PARAMS.health)
        if state not in (HealthState.LIQUIDATABLE, HealthState.BANKRUPT):
            continue
        fund = InsuranceFund(ledger.balance(fund_id, "USDC"))
        result = run_cex_liquidation(account, margin, PARAMS, fund, rng)
        traded = [r for r in result.rounds if r.fills]
        for transfer, cex_round in zip(
            round_transfers(result, [p.instrument for p in portfolio.positions], market),
            traded,
            strict=True,
        ):
            assert sum(transfer.fees.values(), D(0)) == cex_round.fee  # the library's fee
            fills = [
                LiquidationFill(f.instrument, f.size, f.price, f.closes_position)
                for f in transfer.fills
            ]
            operation = liquidation_round(account_id, fills, transfer.fees)
            post_liquidation_entry(ledger, operation, f"round-{transfer.index}")
            fees += cex_round.fee
        deficit = max(-ledger.balance(account_id, "USDC"), D(0))
        fund_now = ledger.balance(fund_id, "USDC")
        left = _pass_on(ledger, account_id, mark)
        covered += min(deficit, fund_now)
        if deficit > 0:  # paid by the fund and the counterparties, to the last quantum
            assert ledger.balance(account_id, "USDC") == -left
        else:
            assert left == 0 and ledger.balance(account_id, "USDC") >= 0
    assert ledger.balance(external_id, "USDC") == external_before
    assert _total(ledger, "USDC") == 0
    assert ledger.balance(fund_id, "USDC") == fund_before + fees - covered
    assert ledger.check_invariants().ok
    assert state_to_bytes(replay(ledger.events())) == state_to_bytes(ledger.state())
