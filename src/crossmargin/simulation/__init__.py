"""Simulation: synthetic books for the book engine (more to come: price paths, backtests).

* :func:`synthetic_book` — a venue's accounts on the real Deribit 2024-03-11 expiries and strikes;
* :func:`synthetic_market`, :func:`synthetic_instruments` — its market and instruments.
"""

from crossmargin.simulation.synthetic import (
    ACCOUNT_KINDS,
    SyntheticBook,
    synthetic_book,
    synthetic_instruments,
    synthetic_market,
)

__all__ = [
    "ACCOUNT_KINDS",
    "SyntheticBook",
    "synthetic_book",
    "synthetic_instruments",
    "synthetic_market",
]
