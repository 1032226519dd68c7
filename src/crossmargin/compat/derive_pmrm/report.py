"""The profile's answer as a plain JSON-ready mapping, and the one-call case evaluation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crossmargin.compat.derive_pmrm.case import (
    DEFAULT_UNDERLYING,
    book_from_case,
    parameters_from_case,
)
from crossmargin.margin.derive.evaluation import DeriveEvaluation, evaluate_book

__all__ = ["evaluate_case", "evaluation_notes", "evaluation_to_dict", "run_case"]


def run_case(case: Mapping[str, Any], underlying: str = DEFAULT_UNDERLYING) -> DeriveEvaluation:
    """Parse a Derive case (its ``Scenario`` and ``Parameters``) and evaluate it."""
    return evaluate_book(book_from_case(case, underlying), parameters_from_case(case))


def evaluate_case(case: Mapping[str, Any]) -> dict[str, Any]:
    """Evaluate a Derive case file's contents; the mapping :func:`evaluation_to_dict` describes
    (``im``/``mm`` are margin balances, signed as the case's ``Result.IM``/``Result.MM``)."""
    return evaluation_to_dict(run_case(case))


def evaluation_notes(evaluation: DeriveEvaluation) -> list[str]:
    """What a reader should know about how the evaluation treated its inputs."""
    notes = []
    for scenario in evaluation.parameters.scenarios:
        if scenario.is_skew and scenario.spot_shock != 1.0:
            notes.append(
                f"{scenario.vol_shock.value} scenario has spot shock {scenario.spot_shock:g}: "
                "Derive's contract only accepts skew scenarios at spot shock 1; evaluated as its "
                "arithmetic would (options keep their forward, perpetual and risk-cancelling "
                "collateral move by the shock)"
            )
    return notes


def _scenario_entry(evaluation: DeriveEvaluation, index: int) -> dict[str, Any]:
    margin_set = evaluation.scenarios.margin_set
    if index == margin_set.count:
        return {
            "index": index,
            "class": "forward_contingency",
            "label": f"{evaluation.book.underlying} forward contingency",
            "spot_shock": None,
            "vol_shock": None,
            "dampening": None,
            "pnl": evaluation.forward_contingency,
        }
    scenario = evaluation.parameters.scenarios[index]
    return {
        "index": index,
        "class": evaluation.parameters.scenario_classes[index].value,
        "label": margin_set.labels[index],
        "spot_shock": scenario.spot_shock,
        "vol_shock": scenario.vol_shock.value,
        "dampening": scenario.dampening,
        "pnl": float(evaluation.scenario_pnl[index]),
    }


def evaluation_to_dict(evaluation: DeriveEvaluation) -> dict[str, Any]:
    """The evaluation as JSON-ready data, in the quote currency.

    ``im``, ``mm``: margin balances (mark-to-market less the requirement; negative = short of
    margin). ``contingencies``: amounts taken off a balance, negative as Derive's results print
    them (``forward`` is the forward contingency, a loss that competes with the scenarios;
    ``mm_*`` reduce both balances, ``im_*`` and ``oracle`` only IM). ``scenarios``: each margin
    scenario's P&L as counted; ``worst_scenario``: the one that set ``max_loss``.
    """
    c = evaluation.contingencies
    shocks = evaluation.scenarios.expiry
    book = evaluation.book
    return {
        "im": evaluation.im,
        "mm": evaluation.mm,
        "mtm": evaluation.mtm,
        "max_loss": evaluation.max_loss,
        "im_loss_factor": evaluation.im_factor,
        "mm_loss_factor": evaluation.mm_factor,
        "worst_scenario": _scenario_entry(evaluation, evaluation.worst_index),
        "contingencies": {
            "forward": evaluation.forward_contingency,
            "mm_perp": -c.mm_perp,
            "im_perp": -c.im_perp,
            "mm_option": -c.mm_option,
            "im_option": -c.im_option,
            "mm_base": -c.mm_base,
            "im_base": -c.im_base,
            "oracle": -c.oracle,
            "oracle_perp": -c.oracle_perp,
            "oracle_option": -c.oracle_option,
            "oracle_collateral": -c.oracle_collateral,
        },
        "mtm_parts": {
            "cash": book.cash,
            "options": evaluation.option_mtm,
            "perp": evaluation.delta_one_mtm,
            "collateral": evaluation.collateral_mtm,
        },
        "scenarios": [
            _scenario_entry(evaluation, i) for i in range(evaluation.scenarios.margin_set.count)
        ],
        "expiries": [
            {
                "sec_to_expiry": feed.sec_to_expiry,
                "mtm": float(evaluation.expiry_mtm[e]),
                "static_discount_pos": float(shocks.static_discount_pos[e]),
                "static_discount_neg": float(shocks.static_discount_neg[e]),
                "vol_up_multiplier": float(shocks.vol_up[e]),
                "vol_down_multiplier": float(shocks.vol_down[e]),
                "forward_contingency": float(evaluation.expiry_basis[e]),
            }
            for e, feed in enumerate(book.expiries)
        ],
        "notes": evaluation_notes(evaluation),
    }
