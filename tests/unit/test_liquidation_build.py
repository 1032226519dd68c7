"""Building AccountRisk from positions and from a book-engine account; the book-wide queue."""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pytest

from crossmargin.engine import BookEngine
from crossmargin.instruments import parse_instrument
from crossmargin.liquidation import (
    InsuranceFund,
    account_risk,
    account_risk_from_engine,
    liquidation_queue,
    load_liquidation_parameters,
    run_cex_liquidation,
)
from support.markets import MARKET

PARAMS = load_liquidation_parameters()


def test_linear_perpetual_and_inverse_perpetual_by_hand() -> None:
    """BTC at 72,000, rate 0. Long 2 BTC_USDC-PERPETUAL entered at the forward (72,000): mark
    0, P&L per BTC at −16 % = −11,520, so IM = 2 × 11,520 = 23,040 and MM = 0.8·IM = 18,432;
    minimum 0.001 BTC (contract size), notional 72,000 per BTC, fee 0.5 % (BTC futures).
    Short 100,000 USD of BTC-PERPETUAL entered at 70,000: mark per USD of face (1/70,000 −
    1/72,000)·72,000 = 0.0285714…, notional 1 USD per unit, minimum 10 USD."""
    instruments = [parse_instrument("BTC_USDC-PERPETUAL"), parse_instrument("BTC-PERPETUAL")]
    risk, margin = account_risk(instruments, [2.0, 0.0], MARKET, 50_000.0, PARAMS,
                                [72_000.0, 70_000.0])  # fmt: skip
    initial, maintenance = margin(risk.size[None, :])
    assert initial[0] == pytest.approx(23_040.0) and maintenance[0] == pytest.approx(18_432.0)
    np.testing.assert_allclose(risk.min_size, [0.001, 10.0])
    np.testing.assert_allclose(risk.unit_notional_usd, [72_000.0, 1.0])
    np.testing.assert_allclose(risk.fee_rate, [0.005, 0.005])
    assert risk.unit_mark_usd[1] == pytest.approx((1 / 70_000 - 1 / 72_000) * 72_000)
    assert risk.unit_pnl_usd.shape == (2, 27)
    assert risk.equity_usd() == pytest.approx(50_000.0)


def test_engine_account_and_queue_agree_with_the_engine() -> None:
    """Three accounts on the pm book engine: the AccountRisk of each carries the engine's
    sizes, collateral and equity (collateral + mark value); the queue lists exactly the
    accounts the engine finds in the liquidatable or bankrupt band, most underwater first."""
    names = ["BTC-PERPETUAL", "BTC_USDC-PERPETUAL", "BTC_USDC-29MAR24-80000-C"]
    engine = BookEngine(names, MARKET, "pm")
    engine.load_positions([0, 0, 1, 2], [1, 2, 1, 0], [2.0, -2.0, 5.0, -50_000.0],
                          [20_000.0, 1_000.0, 4_000.0])  # fmt: skip
    health, queue = liquidation_queue(engine, PARAMS)
    result = engine.margin_all()
    ratio = result.maintenance_margin / np.maximum(result.equity, 1e-9)
    expected = [a for a in np.argsort(-ratio, kind="stable") if ratio[a] > 1 / 1.05]
    assert queue.tolist() == expected and 1 in expected
    for account in range(3):
        risk, _ = account_risk_from_engine(engine, account, PARAMS)
        indices, sizes = engine.positions(account)
        np.testing.assert_array_equal(risk.size, sizes)
        assert risk.instruments == tuple(names[i] for i in indices)
        assert risk.equity_usd() == pytest.approx(float(result.equity[account]), abs=1e-6)
    assert health.liquidatable[1]


def test_cex_document_has_the_issue_fields() -> None:
    """Long 5 BTC_USDC-PERPETUAL with 4,000 USD: the --json document names the closed
    instrument with its fill price (72,000 moved down by the slippage of a sell)."""
    instrument = parse_instrument("BTC_USDC-PERPETUAL")
    risk, margin = account_risk([instrument], [5.0], MARKET, 4_000.0, PARAMS)
    run = run_cex_liquidation(risk, margin, PARAMS, InsuranceFund(Decimal(0)),
                              np.random.default_rng(1))  # fmt: skip
    document = json.loads(json.dumps(run.to_document()))
    assert set(document) == {"health_before", "rounds", "insurance_fund_delta_usd",
                             "bad_debt_usd", "health_after"}  # fmt: skip
    assert document["health_before"] == "liquidatable"
    first = document["rounds"][0]["closed"][0]
    assert first["instrument"] == "BTC_USDC-PERPETUAL" and first["size"] < 0
    assert 71_900.0 < first["price_usd"] < 72_000.0
    assert Decimal(document["insurance_fund_delta_usd"]) == sum(r.fee for r in run.rounds)
