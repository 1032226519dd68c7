"""Golden: Derive's PMRM version 2 portfolio cases, reproduced case for case.

Source: derivexyz/v2-core at 7736900d395703c4f675376caa4c315402943831,
``test/risk-managers/unit-tests/PMRM_2/portfolio_cases/`` (Derive's reference model; its Solidity
harness asserts the contract reproduces ``Result.IM`` and ``Result.MM``), copied to
``shared/data/vectors/derive_pmrm/``. Every case in that folder is run.

Tolerance: relative error ≤ 1e-6, or, for a value within 1e-6 of the case's notional of zero, an
absolute error ≤ 1e-6 of that notional. Besides IM and MM, the intermediates are compared in the
order the method computes them (feeds and vol shocks, mark-to-market, contingencies, scenario
losses, worst scenario), so a mismatch names the first term that differs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from crossmargin.compat.derive_pmrm import evaluate_case, run_case
from crossmargin.margin.derive import DeriveEvaluation, ScenarioClass, svi_vol
from support.shared_data import require_shared_data, shared_data_params

#: One parameter per case file (or one that fails the test when the folder holds none).
CASES = shared_data_params(
    lambda folder: sorted(folder.glob("*.json")), "vectors", "derive_pmrm", ids=lambda p: p.stem
)
CASE_PATHS = [param.values[0] for param in CASES if isinstance(param.values[0], Path)]

#: Total variance at which Derive's reference model caps its SVI smiles when it marks vols (the
#: on-chain library caps at 144; see test_mark_vols_are_the_svi_smile).
REFERENCE_SVI_VARIANCE_CAP = 20.0


@cache
def _load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


@cache
def _evaluate(path: Path) -> DeriveEvaluation:
    return run_case(_load(path))


def _notional(case: dict[str, Any]) -> float:
    """Scale of the account: |options|, |perp| at spot, collateral, |cash|."""
    s = case["Scenario"]
    spot = float(s["SpotPrice"])
    options = sum(abs(float(o["Amount"])) for o in s["Options"]) * spot
    collateral = sum(float(c["Amount"]) * float(c["Price"]) for c in s["Collaterals"])
    return max(options + abs(float(s["NumPerps"])) * spot + collateral + abs(float(s["Cash"])), 1.0)


def _mismatches(checks: Sequence[tuple[str, Any, Any]], notional: float) -> Iterator[str]:
    """Each ``(name, ours, theirs)`` that is not within tolerance, as a line of text."""
    for name, ours, theirs in checks:
        actual = np.atleast_1d(np.asarray(ours, dtype=np.float64))
        expected = np.atleast_1d(np.asarray(theirs, dtype=np.float64))
        if actual.shape != expected.shape:
            yield f"{name}: shape {actual.shape} != {expected.shape}"
            continue
        error = np.abs(actual - expected)
        near_zero = np.abs(expected) <= 1e-6 * notional
        ok = (error <= 1e-6 * np.abs(expected)) | (near_zero & (error <= 1e-6 * notional))
        for index in np.flatnonzero(~ok):
            yield f"{name}[{index}]: ours {actual[index]!r} != case {expected[index]!r}"


def _assert_all(checks: Sequence[tuple[str, Any, Any]], case: dict[str, Any]) -> None:
    problems = list(_mismatches(checks, _notional(case)))
    assert not problems, "first differing term: " + "; ".join(problems[:8])


def _skew_with_spot_move(case: dict[str, Any]) -> list[int]:
    """Indices of skew scenarios that also move the spot (Derive's contract rejects them)."""
    return [
        i
        for i, s in enumerate(case["Parameters"]["Scenarios"])
        if s["VolShockDirection"] in ("LINEAR", "ABS") and float(s["SpotShock"]) != 1.0
    ]


@pytest.mark.parametrize("path", CASES)
def test_im_and_mm_balances(path: Path) -> None:
    """IM and MM balances (mark-to-market less the requirement) equal the case's Result."""
    case, result = _load(path), evaluate_case(_load(path))
    _assert_all(
        [("IM", result["im"], case["Result"]["IM"]), ("MM", result["mm"], case["Result"]["MM"])],
        case,
    )


@pytest.mark.parametrize("path", CASES)
def test_feeds_and_vol_shocks(path: Path) -> None:
    """Per option: discount, log-moneyness, vol shock multipliers and shocked vols, skew caps and
    k*; per expiry: the static discounts (positive, negative)."""
    case, evaluation = _load(path), _evaluate(path)
    book, shocks, r = evaluation.book, evaluation.scenarios.expiry, case["Result"]
    options = case["Scenario"]["Options"]
    expiry = book.expiry_of[book.option_columns]
    vol = book.arrays.vol_annual[book.option_columns]
    min_vol_up = float(case["Parameters"]["VolShock"]["MIN_VOL_EVAL_SHOCKED"])
    forward = np.array([book.expiries[e].forward for e in expiry])
    checks: list[tuple[str, Any, Any]] = [
        (
            "MarkDiscount",
            [book.expiries[e].discount for e in expiry],
            [o["MarkDiscount"] for o in options],
        ),
        (
            "k",
            np.log(book.arrays.strike_usd[book.option_columns] / forward),
            [o["k"] for o in options],
        ),
        ("k_star", shocks.k_star[expiry], [o["k_star"] for o in options]),
        ("linear_mult_cap", shocks.linear_cap[expiry], [o["linear_mult_cap"] for o in options]),
        ("abs_mult_cap", shocks.abs_cap[expiry], [o["abs_mult_cap"] for o in options]),
        ("VolShockUpMultiplier", shocks.vol_up[expiry], r["VolShockUpMultiplier"]),
        ("VolShockDownMultiplier", shocks.vol_down[expiry], r["VolShockDownMultiplier"]),
        (
            "VolShockUpEvaluated",
            np.maximum(vol * shocks.vol_up[expiry], min_vol_up),
            r["VolShockUpEvaluated"],
        ),
        ("VolShockDownEvaluated", vol * shocks.vol_down[expiry], r["VolShockDownEvaluated"]),
    ]
    if r["discount_factors"]:
        factors = np.array(r["discount_factors"], dtype=np.float64)
        checks += [
            ("discount_factors[pos]", shocks.static_discount_pos, factors[:, 0]),
            ("discount_factors[neg]", shocks.static_discount_neg, factors[:, 1]),
        ]
    _assert_all(checks, case)


@pytest.mark.parametrize("path", CASES)
def test_mark_to_market(path: Path) -> None:
    """Option MtM per expiry (plain and statically discounted), collateral, perp, portfolio."""
    case, evaluation = _load(path), _evaluate(path)
    r, shocks, mtm = case["Result"], evaluation.scenarios.expiry, evaluation.expiry_mtm
    funding = float(case["Scenario"]["UnrealisedFunding"])
    discounted = np.where(
        mtm >= 0.0, mtm * shocks.static_discount_pos, mtm * shocks.static_discount_neg
    )
    _assert_all(
        [
            ("OptionMTMPerExpiry", mtm, r["OptionMTMPerExpiry"]),
            ("OptionMTMPerExpiryDiscounted", discounted, r["OptionMTMPerExpiryDiscounted"]),
            ("OptionMTM", evaluation.option_mtm, r["OptionMTM"]),
            ("CollateralMTM", evaluation.collateral_mtm, r["CollateralMTM"]),
            ("PerpMTM", evaluation.delta_one_mtm - funding, r["PerpMTM"]),
            ("PortfolioMTM", evaluation.mtm, r["PortfolioMTM"]),
        ],
        case,
    )


@pytest.mark.parametrize("path", CASES)
def test_contingencies_and_loss_factors(path: Path) -> None:
    """Forward, perpetual, option, base and oracle contingencies; IM and MM loss factors."""
    case, result = _load(path), evaluate_case(_load(path))
    r, c = case["Result"], result["contingencies"]
    _assert_all(
        [
            ("ForwardContingency", c["forward"], r["ForwardContingency"]),
            ("MMPerpCont", c["mm_perp"], r["MMPerpCont"]),
            ("IMPerpCont", c["im_perp"], r["IMPerpCont"]),
            ("IMPerpContNormal", c["mm_perp"] + c["im_perp"], r["IMPerpContNormal"]),
            ("MMOptionCont", c["mm_option"], r["MMOptionCont"]),
            ("IMOptionCont", c["im_option"], r["IMOptionCont"]),
            ("MMBaseCont", c["mm_base"], r["MMBaseCont"]),
            ("IMBaseCont", c["im_base"], r["IMBaseCont"]),
            ("OracleCont", c["oracle"], r["OracleCont"]),
            ("IMLossFactor", result["im_loss_factor"], r["IMLossFactor"]),
            ("MMLossFactor", result["mm_loss_factor"], r["MMLossFactor"]),
        ],
        case,
    )


def _expected_losses(case: dict[str, Any]) -> list[float]:
    r = case["Result"]
    return (
        [float(row[2]) for row in r["reg_losses"]]
        + [float(row[2]) for row in r["tail_losses"]]
        + [float(row[1]) for row in r["skew_losses"]]
    )


@pytest.mark.parametrize("path", CASES)
def test_scenario_losses(path: Path) -> None:
    """Every scenario's counted P&L (regular, tail, skew blocks in the case's order), except skew
    scenarios with a spot move (see test_skew_scenarios_with_a_spot_move_never_set_the_margin)."""
    case, evaluation = _load(path), _evaluate(path)
    r = case["Result"]
    classes = list(evaluation.parameters.scenario_classes)
    assert classes.count(ScenarioClass.REGULAR) == len(r["reg_losses"])
    assert classes.count(ScenarioClass.TAIL) == len(r["tail_losses"])
    assert classes.count(ScenarioClass.SKEW) == len(r["skew_losses"])
    excluded = set(_skew_with_spot_move(case))
    labels = evaluation.scenarios.margin_set.labels
    _assert_all(
        [
            (f"loss {i} ({labels[i]})", evaluation.scenario_pnl[i], expected)
            for i, expected in enumerate(_expected_losses(case))
            if i not in excluded
        ],
        case,
    )


@pytest.mark.parametrize("path", CASES)
def test_worst_scenarios(path: Path) -> None:
    """The worst loss of each block and the block of the overall worst scenario."""
    case, evaluation = _load(path), _evaluate(path)
    r = case["Result"]
    pnl = evaluation.scenario_pnl
    classes = np.array([c.value for c in evaluation.parameters.scenario_classes])
    excluded = _skew_with_spot_move(case)
    checks: list[tuple[str, Any, Any]] = [
        ("worst_reg_loss", pnl[classes == "regular"].min(), r["worst_reg_loss"]),
        ("worst_tail_loss", pnl[classes == "tail"].min(), r["worst_tail_loss"]),
    ]
    if not excluded:
        checks.append(("worst_skew_loss", pnl[classes == "skew"].min(), r["worst_skew_loss"]))
    _assert_all(checks, case)
    if not excluded:
        assert classes[int(np.argmin(pnl))] == r["worst_all_scenarios"]


@pytest.mark.parametrize("path", CASES)
def test_mark_vols_are_the_svi_smile(path: Path) -> None:
    """Each option's MarkVol is its expiry's SVI smile at the strike, with total variance capped
    at 20 as Derive's reference model does (Derive's on-chain SVI library caps at 144; the
    profile prices with MarkVol, so the case's numbers follow the reference model)."""
    case = _load(path)
    feeds = {f["FeedExpiry"]: f for f in case["Scenario"]["OptionFeeds"]}
    ours, theirs = [], []
    for option in case["Scenario"]["Options"]:
        a, b, rho, m, sigma, forward, tau = (float(v) for v in feeds[option["Expiry"]]["SVIparam"])
        smile = svi_vol(
            option["Strike"], a=a, b=b, rho=rho, m=m, sigma=sigma, forward=forward, tau=tau
        )
        capped = math.sqrt(min(float(smile) ** 2 * tau, REFERENCE_SVI_VARIANCE_CAP) / tau)
        ours.append(capped)
        theirs.append(option["MarkVol"])
    _assert_all([("MarkVol", ours, theirs)], case)


SPOT_MOVING_SKEW = [path for path in CASE_PATHS if _skew_with_spot_move(_load(path))]


@pytest.mark.parametrize("path", SPOT_MOVING_SKEW, ids=[p.stem for p in SPOT_MOVING_SKEW])
def test_skew_scenarios_with_a_spot_move_never_set_the_margin(path: Path) -> None:
    """A skew scenario that also moves the spot (the case's LINEAR_SPOT_SHOCK ≠ 1) is one Derive's
    contract rejects (PMRM_2.setScenarios) and its own harness skips as an invalid setup, so the
    case's loss for it comes from an unpublished rule of the reference model (case 67: −31.43)
    that we do not claim to reproduce; we apply the contract's arithmetic (options skewed at
    their unmoved forward, perpetual and risk-cancelling collateral moved by the shock, times the
    dampening: −174.45). What the case does fix, and what this holds: under both rules that
    scenario is milder than the worst regular scenario (−468.03 in both), so the worst
    scenario, IM and MM — matched to 1e-6 above — do not depend on the unpublished rule."""
    case, evaluation = _load(path), _evaluate(path)
    expected = _expected_losses(case)
    skew = _skew_with_spot_move(case)
    regular = [i for i in range(len(expected)) if i not in skew]
    worst_ours = min(float(evaluation.scenario_pnl[i]) for i in regular)
    worst_theirs = min(expected[i] for i in regular)
    assert worst_ours == pytest.approx(worst_theirs, rel=1e-6)
    for i in skew:
        assert evaluation.scenario_pnl[i] > worst_ours, f"our loss {i} would set the margin"
        assert expected[i] > worst_theirs, f"the case's loss {i} would set the margin"
    assert float(np.min(evaluation.scenario_pnl)) == pytest.approx(worst_theirs, rel=1e-6)


def test_every_case_in_the_folder_is_run() -> None:
    """The folder holds the 47 cases of the README, and each is parametrised above."""
    folder = require_shared_data("vectors", "derive_pmrm")
    assert len(CASE_PATHS) == 47
    assert sorted(folder.glob("*.json")) == CASE_PATHS
