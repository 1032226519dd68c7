"""The Derive PMRM profile on small hand-built cases; numbers derived in each docstring."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest

from crossmargin.compat.derive_pmrm import evaluate_case, parameters_from_case, run_case
from crossmargin.core.errors import InputError
from crossmargin.margin.derive import ScenarioClass, load_derive_parameters, svi_vol
from crossmargin.margin.derive.parameters import DeriveScenario, VolShock, scenario_classes

YEAR = 365 * 86400

PARAMETERS: dict[str, Any] = {
    "Scenarios": [
        {"SpotShock": 1.1, "VolShockDirection": "None", "DampeningFactor": 1},
        {"SpotShock": 1.0, "VolShockDirection": "Up", "DampeningFactor": 1},
        {"SpotShock": 0.5, "VolShockDirection": "Up", "DampeningFactor": 0.1},
        {"SpotShock": 1, "VolShockDirection": "LINEAR", "DampeningFactor": 1.0},
        {"SpotShock": 1, "VolShockDirection": "ABS", "DampeningFactor": 1.0},
    ],
    "SkewShock": {
        "LINEAR_SCALE_CAP": 4,
        "LINEAR_CBASE": -0.05,
        "ABS_SCALE_CAP": 0.15,
        "ABS_CBASE": -0.05,
        "MIN_K_STAR": 0.01,
        "MIN_WIDTH_SCALE": 3.0,
        "VOL_PARAM_STATIC": 2.5,
        "VOL_PARAM_SCALE": -0.9,
    },
    "VolShock": {
        "VOLRANGEUP": 0.5,
        "MIN_VOL_EVAL_SHOCKED": 0.45,
        "VOLRANGEDOWN": 0.275,
        "SHORTTERMPOWER": 0.3,
        "LONGTERMPOWER": 0.13,
        "DTE_FLOOR": 1.0,
    },
    "Margin": {
        "MM_LOSS_FACTOR": 0.8,
        "IM_LOSS_FACTOR": 1.0,
        "SHORT_RATE_MULTSCALE": 0.5,
        "LONG_RATE_MULTSCALE": 1,
        "SHORT_RATE_ADDSCALE": 0.08,
        "LONG_RATE_ADDSCALE": 0.08,
        "BASE_STATIC_DISCOUNT": 0.95,
        "BASE_STATIC_DISCOUNT_NEG": 1.04,
    },
    "BasisContingency": {
        "SCENARIO_SPOT_UP": 1.045,
        "SCENARIO_SPOT_DOWN": 0.955,
        "BASIS_CONT_ADD_FACTOR": 0.5,
        "BASIS_CONT_MULT_FACTOR": 2.0,
    },
    "OtherContingency": {
        "PEG_LOSS_THRESHOLD": 0.98,
        "PEG_LOSS_FACTOR": 2.0,
        "CONF_THRESHOLD": 0.55,
        "CONF_MARGIN": 1.0,
        "MM_PERP_PERCENT": 0.015,
        "IM_PERP_PERCENT": 0.005,
        "MM_OPTION_PERCENT": 0.003,
        "IM_OPTION_PERCENT": 0.002,
    },
}


def _case(**scenario: Any) -> dict[str, Any]:
    """A cash-only account at spot 2,000 with the parameters above, ``scenario`` overriding."""
    base: dict[str, Any] = {
        "Cash": 1000.0,
        "Collaterals": [],
        "SpotPrice": 2000.0,
        "SpotConfidence": 1.0,
        "NumPerps": 0,
        "PerpPrice": 2000.0,
        "PerpConfidence": 1.0,
        "UnrealisedPerpPNL": 0.0,
        "UnrealisedFunding": 0.0,
        "StablePrice": 1.0,
        "StableConfidence": 1.0,
        "Options": [],
        "OptionFeeds": [],
    }
    base.update(scenario)
    return {"Scenario": base, "Parameters": copy.deepcopy(PARAMETERS)}


def _option(strike: float, amount: float, is_call: bool = True, seconds: int = YEAR // 2) -> dict:
    return {"Expiry": seconds, "Strike": strike, "IsCall": int(is_call), "MarkVol": 0.6,
            "Amount": amount}  # fmt: skip


def _feed(seconds: int = YEAR // 2, rate: float = 0.1, confidence: float = 1.0) -> dict:
    return {"FeedExpiry": seconds, "Forward": 2000.0, "ForwardConfidence": confidence,
            "Rate": rate, "RateConfidence": 1.0, "OptionVolConfidences": 1.0}  # fmt: skip


def test_perpetual_only_account() -> None:
    """Long 1 perp at 2,000: P&L +200 at +10 %, 0 at +0 %, 1·(0.5 − 1)·2,000·0.1 = −100 in the
    dampened tail, 0 in skews. Max loss −100. MtM = 1,000 cash. MM = 1,000 − 0.8·100 −
    1.5 %·2,000 = 890; IM = 1,000 − 100 − (1.5 % + 0.5 %)·2,000 = 860."""
    result = evaluate_case(_case(NumPerps=1.0))
    assert [s["pnl"] for s in result["scenarios"]] == pytest.approx([200, 0, -100, 0, 0])
    assert result["max_loss"] == pytest.approx(-100.0)
    assert result["worst_scenario"]["class"] == "tail"
    assert result["mm"] == pytest.approx(890.0)
    assert result["im"] == pytest.approx(860.0)


def test_static_discounts_by_hand() -> None:
    """τ = 0.5, r = 10 %: pos = 0.95·e^{−0.5·(0.1·1 + 0.08)} = 0.95·e^{−0.09};
    neg = min(e^{0.05}, 1.04·e^{0.5·(0.1·0.5 + 0.08)}) = min(1.05127, 1.10987) = e^{0.05}."""
    evaluation = run_case(_case(Options=[_option(2000, -1)], OptionFeeds=[_feed()]))
    shocks = evaluation.scenarios.expiry
    assert shocks.static_discount_pos[0] == pytest.approx(0.95 * math.exp(-0.09))
    assert shocks.static_discount_neg[0] == pytest.approx(math.exp(0.05))


def test_naked_shorts_net_per_strike() -> None:
    """Strike 2,000: call −2, put +1 → 1 naked; strike 2,200: call −1, put −1 → 2; strike 1,800:
    call +3 → 0. MM option contingency = 3·2,000·0.3 % = 18, IM adds 3·2,000·0.2 % = 12."""
    options = [_option(2000, -2), _option(2000, 1, False), _option(2200, -1),
               _option(2200, -1, False), _option(1800, 3)]  # fmt: skip
    result = evaluate_case(_case(Options=options, OptionFeeds=[_feed()]))
    assert result["contingencies"]["mm_option"] == pytest.approx(-18.0)
    assert result["contingencies"]["im_option"] == pytest.approx(-12.0)


def test_oracle_confidence_contingency() -> None:
    """Spot confidence 0.5 < 0.55: the perp notional 2,000 costs (1 − 0.5)·1·2,000 = 1,000; an
    expiry fully confident on its own feeds still inherits the account's 0.5: 2 options held →
    (1 − 0.5)·2·2,000 = 2,000."""
    options = [_option(2000, -1), _option(2200, 1)]
    result = evaluate_case(
        _case(SpotConfidence=0.5, NumPerps=1.0, Options=options, OptionFeeds=[_feed()])
    )
    assert result["contingencies"]["oracle_perp"] == pytest.approx(-1000.0)
    assert result["contingencies"]["oracle_option"] == pytest.approx(-2000.0)


def test_stablecoin_depeg_raises_the_im_factor_only() -> None:
    """Stable price 0.9 < 0.98: IM factor 1 + (0.98 − 0.9)·2 = 1.16; MM factor stays 0.8."""
    result = evaluate_case(_case(StablePrice=0.9, NumPerps=1.0))
    assert result["im_loss_factor"] == pytest.approx(1.16)
    assert result["mm_loss_factor"] == 0.8


def test_cash_only_ties_go_to_the_forward_contingency() -> None:
    """Nothing moves: every scenario and the forward contingency are 0; Derive keeps the forward
    contingency as the worst (a scenario must be strictly worse). IM = MM = cash."""
    result = evaluate_case(_case())
    assert result["worst_scenario"]["class"] == "forward_contingency"
    assert result["im"] == result["mm"] == 1000.0


def test_risk_cancelling_collateral_moves_with_the_spot() -> None:
    """10 ETH at 2,000 (stable 1), risk-cancelling, against short 10 perps: every scenario nets
    to 0; contingencies: base 10·2,000·(1.5 % MM, 0.5 % IM) and perp 10·2,000·(1.5 %, 0.5 %)."""
    collateral = {"Name": "ETH", "Amount": 10.0, "Price": 2000.0, "Confidence": 1.0,
                  "IsRiskCancelling": True, "IMHaircut": 0.005, "MMHaircut": 0.015}  # fmt: skip
    result = evaluate_case(_case(Collaterals=[collateral], NumPerps=-10.0))
    assert [s["pnl"] for s in result["scenarios"]] == pytest.approx([0.0] * 5, abs=1e-9)
    assert result["mm"] == pytest.approx(1000 + 20000 - 300 - 300)
    assert result["im"] == pytest.approx(1000 + 20000 - 400 - 400)


def test_skew_scenario_with_a_spot_move_is_noted() -> None:
    """Derive's contract accepts skew scenarios only at spot shock 1; another is evaluated as its
    arithmetic would (the perpetual moves: +0.2·2,000 = +400, counted as is — only an expiry's
    P&L takes −|·| in a skew scenario), and the result says so."""
    case = _case(NumPerps=1.0)
    case["Parameters"]["Scenarios"][3]["SpotShock"] = 1.2
    result = evaluate_case(case)
    assert result["scenarios"][3]["pnl"] == pytest.approx(400.0)
    assert any("spot shock 1.2" in note for note in result["notes"])


def test_scenario_classes_follow_derive_ordering() -> None:
    """Regular until the first dampened scenario, tail from there on (even at dampening 1),
    skew for LINEAR/ABS."""
    scenarios = tuple(
        DeriveScenario(spot_shock=s, vol_shock=v, dampening=d)
        for s, v, d in [(1.1, VolShock.UP, 1.0), (0.5, VolShock.UP, 0.2),
                        (1.5, VolShock.UP, 1.0), (1.0, VolShock.ABS, 1.0)]
    )  # fmt: skip
    assert scenario_classes(scenarios) == (
        ScenarioClass.REGULAR, ScenarioClass.TAIL, ScenarioClass.TAIL, ScenarioClass.SKEW
    )  # fmt: skip


def test_bad_case_fields_are_named() -> None:
    """A missing or non-numeric field, or an out-of-range parameter, names its path."""
    case = _case()
    del case["Scenario"]["SpotPrice"]
    with pytest.raises(InputError, match=r"Scenario\.SpotPrice"):
        run_case(case)
    with pytest.raises(InputError, match=r"Scenario\.Options\[0\]\.Strike"):
        run_case(_case(Options=[{**_option(2000, 1), "Strike": "abc"}], OptionFeeds=[_feed()]))
    bad = _case()
    bad["Parameters"]["BasisContingency"]["SCENARIO_SPOT_UP"] = 0.9
    with pytest.raises(InputError, match=r"basis_contingency\.scenario_spot_up"):
        parameters_from_case(bad)
    twice = _case()
    twice["Parameters"]["Scenarios"].append(dict(twice["Parameters"]["Scenarios"][3]))
    with pytest.raises(InputError, match="LINEAR"):
        parameters_from_case(twice)


def test_option_without_a_feed_is_rejected() -> None:
    """Every option's expiry needs an OptionFeeds entry."""
    with pytest.raises(InputError, match="OptionFeeds"):
        run_case(_case(Options=[_option(2000, 1)]))


def test_near_expiry_forward_is_partly_fixed() -> None:
    """600 s to expiry: (1800 − 600)/1800 = 2/3 of the forward is fixed, so a +10 % spot move
    moves an option's forward by 10 %·1/3."""
    seconds = 600
    evaluation = run_case(
        _case(Options=[_option(2000, 1, seconds=seconds)], OptionFeeds=[_feed(seconds)])
    )
    assert evaluation.book.expiries[0].fixed_forward_fraction == pytest.approx(2 / 3)
    scales = evaluation.scenarios.margin_set.price_move_scales
    assert scales is not None and scales[0, 0] == pytest.approx(1 / 3)


def test_svi_smile_by_hand() -> None:
    """a = 0.04, b = 0: flat total variance 0.04 over τ = 0.25 → vol 0.4 at every strike;
    a negative total variance is rejected."""
    vols = svi_vol([1500, 2000, 2500], a=0.04, b=0.0, rho=0.0, m=0.0, sigma=0.1,
                   forward=2000, tau=0.25)  # fmt: skip
    assert vols == pytest.approx([0.4, 0.4, 0.4])
    with pytest.raises(InputError, match="total variance"):
        svi_vol(2000, a=-1.0, b=0.1, rho=0.0, m=0.0, sigma=0.1, forward=2000, tau=0.25)


def test_shipped_parameters_are_derives_mainnet_script() -> None:
    """config/derive_pmrm.toml: 23 regular + 8 tail + 2 skew scenarios, IM/MM factors 1 / 0.8."""
    parameters = load_derive_parameters()
    classes = parameters.scenario_classes
    assert [classes.count(c) for c in ScenarioClass] == [23, 8, 2]
    assert (parameters.margin.im_loss_factor, parameters.margin.mm_loss_factor) == (1.0, 0.8)
    assert np.isclose(parameters.scenarios[23].dampening, 0.21)
