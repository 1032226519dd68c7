"""Derive's vol feed: a raw SVI smile per expiry.

Total variance w(k) = a + b·(ρ·(k − m) + √((k − m)² + σ²)) at k = ln(K/F), with k clamped to
±4·√(a + b·σ) and w capped at 144; the vol is √(w/τ) (facts from derivexyz's SVI library, which
Derive's mock vol feed evaluates in the PMRM_2 case harness). A case's ``MarkVol`` is this vol at
the option's strike; :func:`svi_vol` lets a test check the two agree.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossmargin.core.errors import InputError

__all__ = ["svi_vol"]

#: Bound on |k| in units of √(a + b·σ), and the cap on total variance.
K_BOUND_SCALE = 4.0
MAX_TOTAL_VARIANCE = 144.0


def svi_vol(
    strike: ArrayLike,
    *,
    a: float,
    b: float,
    rho: float,
    m: float,
    sigma: float,
    forward: float,
    tau: float,
) -> NDArray[np.float64]:
    """Annual vol of the SVI smile at ``strike`` (> 0), as Derive's feed evaluates it.

    Raises :class:`InputError` for a smile with a negative total variance at a strike, a
    non-positive forward or tau."""
    if forward <= 0.0 or tau <= 0.0:
        raise InputError("svi", (forward, tau), "forward and tau must be > 0")
    bound = K_BOUND_SCALE * np.sqrt(max(a + b * sigma, 0.0))
    k = np.clip(np.log(np.asarray(strike, dtype=np.float64) / forward), -bound, bound)
    shifted = k - m
    total = a + b * (rho * shifted + np.sqrt(shifted * shifted + sigma * sigma))
    if np.any(total < 0.0):
        raise InputError("svi", float(np.min(total)), "total variance must be >= 0")
    return np.asarray(np.sqrt(np.minimum(total, MAX_TOTAL_VARIANCE) / tau), dtype=np.float64)
