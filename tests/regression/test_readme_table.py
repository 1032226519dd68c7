"""The README's side-by-side table is what the models compute today (no stale numbers)."""

from __future__ import annotations

import re

import pytest

from crossmargin.collateral import default_haircuts
from crossmargin.margin import MODEL_NAMES, build_model
from crossmargin.portfolio import load_portfolio_file
from support.markets import REPOSITORY
from support.shared_data import history_for

ROW = re.compile(r"^\| `(\w+)` \| (.+) \|$")


def _readme_rows() -> dict[str, list[float]]:
    """The rows of the side-by-side table in the README's "Margin models" section only (other
    sections have tables keyed by model name too)."""
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    start = readme.index("## Margin models\n")
    section = readme[start : readme.index("\n## ", start + 1)]
    rows: dict[str, list[float]] = {}
    for line in section.splitlines():
        match = ROW.match(line)
        if match:
            cells = [cell.strip().split(" ")[0] for cell in match.group(2).split("|")]
            rows[match.group(1)] = [float(cell.replace(",", "")) for cell in cells]
    return rows


ROWS = _readme_rows()


def test_the_table_covers_every_example() -> None:
    assert set(ROWS) == {path.stem for path in (REPOSITORY / "examples").glob("*.toml")}


@pytest.mark.parametrize("example", sorted(ROWS))
def test_each_cell_matches_the_model_to_the_cent(example: str) -> None:
    loaded = load_portfolio_file(REPOSITORY / "examples" / f"{example}.toml")
    haircuts = default_haircuts()
    for model, expected in zip(MODEL_NAMES, ROWS[example], strict=True):
        result = build_model(model, haircuts, history=history_for(model)).margin(
            loaded.portfolio, loaded.market
        )
        assert float(result.initial_margin) == pytest.approx(expected, abs=0.005), model
