"""Tail measures of a scenario P&L vector: VaR and expected shortfall, and their Euler weights.

On the P&L vector X (n scenarios, α = 1 − c): VaR_c = −X_(⌈nα⌉), the lower empirical
α-quantile; ES_c = −(1/(nα))·[Σ_{i ≤ ⌊nα⌋} X_(i) + (nα − ⌊nα⌋)·X_(⌊nα⌋+1)] (Acerbi & Tasche 2002),
so ES ≥ VaR. Both are −Σ w_s·X_s for tail weights w ≥ 0 summing to 1.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.errors import InputError
from crossmargin.margin.var.parameters import VarMeasure

__all__ = ["expected_shortfall", "tail_measure", "tail_weights", "value_at_risk"]

FloatArray = NDArray[np.float64]


def tail_weights(pnl_usd: FloatArray, confidence: float, measure: VarMeasure) -> FloatArray:
    """Weights w ≥ 0 (sum 1) with measure = −Σ w·pnl.

    ES (Acerbi–Tasche): weight 1/(nα) on the ⌊nα⌋ worst scenarios and (nα − ⌊nα⌋)/(nα) on the
    next one; VaR: weight 1 on the ⌈nα⌉-th worst. Ties are broken by scenario order (stable sort).
    """
    count = pnl_usd.shape[0]
    if count == 0:
        raise InputError("scenarios", 0, "a tail measure needs at least one scenario")
    if not 0.0 < confidence < 1.0:
        raise InputError("confidence", confidence, "must be strictly between 0 and 1")
    tail = round(count * (1.0 - confidence), 9)
    order = np.argsort(pnl_usd, kind="stable")
    weights = np.zeros(count)
    if measure is VarMeasure.VALUE_AT_RISK:
        weights[order[max(int(np.ceil(tail)), 1) - 1]] = 1.0
        return weights
    whole = int(np.floor(tail))
    weights[order[:whole]] = 1.0 / tail
    if whole < count and tail > whole:
        weights[order[whole]] = (tail - whole) / tail
    return weights


def tail_measure(pnl_usd: FloatArray, confidence: float, measure: VarMeasure) -> float:
    """ES or VaR of the P&L vector ``pnl_usd`` (USD; positive = a loss at the tail)."""
    return float(-tail_weights(pnl_usd, confidence, measure) @ pnl_usd)


def expected_shortfall(pnl_usd: FloatArray, confidence: float) -> float:
    """Expected shortfall at ``confidence`` of a P&L vector (Acerbi–Tasche estimator, USD)."""
    return tail_measure(pnl_usd, confidence, VarMeasure.EXPECTED_SHORTFALL)


def value_at_risk(pnl_usd: FloatArray, confidence: float) -> float:
    """Value at risk at ``confidence``: −(⌈nα⌉-th smallest P&L), USD."""
    return tail_measure(pnl_usd, confidence, VarMeasure.VALUE_AT_RISK)


# ---------------------------------------------------------------------------- the model
