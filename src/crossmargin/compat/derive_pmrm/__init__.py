"""Derive's PMRM case files (a foreign format): parse a case into the profile's inputs and
evaluate it with :mod:`crossmargin.margin.derive`.

* :func:`evaluate_case` — a Derive case file's contents in, the balances and their parts out.
"""

from crossmargin.compat.derive_pmrm.case import book_from_case, parameters_from_case
from crossmargin.compat.derive_pmrm.report import (
    evaluate_case,
    evaluation_notes,
    evaluation_to_dict,
    run_case,
)

__all__ = [
    "book_from_case",
    "evaluate_case",
    "evaluation_notes",
    "evaluation_to_dict",
    "parameters_from_case",
    "run_case",
]
