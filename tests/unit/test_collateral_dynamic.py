"""Dynamic haircuts, the de-peg rule and cross-chain transfer risk on hand-derived numbers."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from crossmargin.collateral.depeg import DepegParams, depeg_charge_path
from crossmargin.collateral.dynamic import (
    DynamicHaircutParams,
    SizeScaling,
    dynamic_haircut,
    size_scaled_weight,
)
from crossmargin.collateral.dynamic_schedule import load_dynamic_collateral
from crossmargin.collateral.transfer import (
    LocatedCollateral,
    TransferRoute,
    available_at,
    halt_bridge,
    transfer_adjusted_value_usd,
    value_available_by,
)
from crossmargin.core.errors import InputError

NOW = datetime(2024, 3, 11, 15, 17, tzinfo=UTC)


def test_terms_add_up() -> None:
    """BTC-like: base 0.02 + 0.1722 × 0.6 = 0.12332; holding = depth (q = 1), f = 1:
    w = min(0.87668, 2 / (1 + √2)) = 0.82843 → size term 0.04825; de-peg 0.01 → 0.18157."""
    params = DynamicHaircutParams(0.02, 0.1722, 0.5, SizeScaling.SQRT, 1.0)
    cut = dynamic_haircut(params, 0.6, holding_usd=1e6, depth_usd=1e6, depeg_charge=0.01)
    assert float(cut.volatility) == pytest.approx(0.10332)
    assert float(cut.size) == pytest.approx(0.87668 - 2 / (1 + math.sqrt(2)))
    assert float(cut.total) == pytest.approx(1 - 2 / (1 + math.sqrt(2)) + 0.01)
    parts = cut.base + cut.volatility + cut.size + cut.depeg
    assert float(parts) == pytest.approx(float(cut.total))


def test_vol_term_is_capped() -> None:
    params = DynamicHaircutParams(0.02, 0.1722, 0.3)
    assert float(dynamic_haircut(params, 5.0).total) == pytest.approx(0.3)


def test_linear_scaling_beyond_threshold_mango_style() -> None:
    """Threshold 0.5 × depth: at twice the depth the weight is halved twice: × 0.25."""
    weight = size_scaled_weight(0.8, [0.25e6, 2e6], 1e6, SizeScaling.LINEAR, 0.5)
    assert weight == pytest.approx([0.8, 0.2])


def test_size_weight_never_increases_with_size() -> None:
    holdings = np.geomspace(1.0, 1e12, 200)
    for scaling, factor in ((SizeScaling.SQRT, 1.0), (SizeScaling.LINEAR, 0.3)):
        weights = size_scaled_weight(0.9, holdings, 1e6, scaling, factor)
        assert np.all(np.diff(weights) <= 1e-15) and np.all(weights <= 0.9)


def test_bad_parameters_name_the_field() -> None:
    with pytest.raises(InputError, match=r"haircut\.base"):
        DynamicHaircutParams(1.0, 0.0, 1.0)
    with pytest.raises(InputError, match=r"haircut\.size_factor"):
        DynamicHaircutParams(0.0, 0.0, 1.0, SizeScaling.LINEAR, 0.0)
    with pytest.raises(InputError, match=r"haircut\.size_scaling"):
        DynamicHaircutParams(0.0, 0.0, 1.0, "cubic")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"depeg\.lookback_days"):
        DepegParams(lookback_days=0)


def test_depeg_charge_window_and_missing_days() -> None:
    """Lows 1.0, 0.9, 1.0, 1.0 with a 2-day window: 0, 0.1, 0.1, 0; a NaN day counts as a full
    de-peg (charge at the cap)."""
    lows = np.array([1.0, 0.9, 1.0, 1.0, np.nan])
    closes = np.array([1.0, 0.95, 1.0, 1.0, np.nan])
    charge = depeg_charge_path(lows, closes, DepegParams(lookback_days=2, cap=0.8))
    assert charge == pytest.approx([0.0, 0.1, 0.1, 0.0, 0.8])


def test_transfer_routes_and_bridge_halt() -> None:
    routes = {
        "home": TransferRoute("home", 0.0, 0.0),
        "arbitrum": TransferRoute("arbitrum", 0.02, 900.0),
    }
    holdings = [
        LocatedCollateral("USDC", "home", 1000.0),
        LocatedCollateral("ETH", "arbitrum", 500.0),
    ]
    assert transfer_adjusted_value_usd(500.0, routes["arbitrum"]) == pytest.approx(490.0)
    assert available_at(routes["arbitrum"], NOW) == NOW + timedelta(minutes=15)
    assert value_available_by(holdings, routes, NOW, NOW + timedelta(minutes=5)) == 1000.0
    assert value_available_by(holdings, routes, NOW, NOW + timedelta(hours=1)) == pytest.approx(
        1490.0
    )
    halted = halt_bridge(routes, "arbitrum")
    assert halted["arbitrum"].halted and not routes["arbitrum"].halted
    assert available_at(halted["arbitrum"], NOW) is None
    assert value_available_by(holdings, halted, NOW, NOW + timedelta(days=30)) == 1000.0
    with pytest.raises(InputError, match="no transfer route"):
        halt_bridge(routes, "solana")


def test_shipped_schedule() -> None:
    schedule = load_dynamic_collateral()
    assert schedule.routes["arbitrum"].delay_s == 900.0
    # BTC at 45 % vol, no size: 0.02 + 0.1722 × 0.45 = 0.0975, near the static 10 % of Aevo.
    assert float(schedule.haircut_for("BTC", 0.45).total) == pytest.approx(0.09749)
    with pytest.raises(InputError, match="no dynamic haircut"):
        schedule.params_for("DOGE")
