"""The Derive PMRM vs Deribit-style PM table in the docs is what the code computes.

Source of the table: docs/margin-models.md, section "Derive PMRM profile"; each row is
``crossmargin margin examples/FILE --model pm`` and ``--model derive-pmrm``.
"""

from __future__ import annotations

import pytest

from crossmargin.margin.derive.model import DerivePmrmMargin
from crossmargin.margin.pm.model import PortfolioMargin
from crossmargin.portfolio import load_portfolio_file
from support.markets import REPOSITORY

HEADER = "| portfolio | pm IM | derive-pmrm IM"


def _table_rows() -> list[list[str]]:
    for name in ("derive-pmrm.md", "margin-models.md"):
        path = REPOSITORY / "docs" / name
        if not path.exists():
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        starts = [i for i, line in enumerate(lines) if line.startswith(HEADER)]
        if starts:
            rows = []
            for line in lines[starts[0] + 2 :]:
                if not line.startswith("|"):
                    break
                rows.append([cell.strip() for cell in line.strip("|").split("|")])
            return rows
    return []


ROWS = _table_rows()


def _number(cell: str) -> float:
    return float(cell.split(" ")[0].replace(",", "").replace("−", "-"))


def test_the_docs_hold_the_comparison_table() -> None:
    """The table exists and covers every example portfolio: a table that disappears or loses
    rows fails here instead of leaving the row test with nothing to check."""
    examples = sorted(path.stem for path in (REPOSITORY / "examples").glob("*.toml"))
    assert sorted(row[0].strip("`") for row in ROWS) == examples


@pytest.mark.parametrize("row", ROWS, ids=[row[0].strip("`") for row in ROWS])
def test_table_row_matches_the_models(row: list[str]) -> None:
    """IM and MM of both models and the worst scenario labels, to the cent."""
    loaded = load_portfolio_file(REPOSITORY / "examples" / f"{row[0].strip('`')}.toml")
    pm = PortfolioMargin().margin(loaded.portfolio, loaded.market)
    derive = DerivePmrmMargin().margin(loaded.portfolio, loaded.market)
    assert _number(row[1]) == pytest.approx(float(pm.initial_margin), abs=0.006)
    assert _number(row[2]) == pytest.approx(float(derive.initial_margin), abs=0.006)
    assert _number(row[3]) == pytest.approx(float(pm.maintenance_margin), abs=0.006)
    assert _number(row[4]) == pytest.approx(float(derive.maintenance_margin), abs=0.006)
    assert pm.worst_scenario is not None and derive.worst_scenario is not None
    assert row[5].startswith(pm.worst_scenario.label.replace("-", "−"))
    assert row[6].startswith(derive.worst_scenario.label.replace("-", "−"))
