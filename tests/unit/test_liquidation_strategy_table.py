"""The strategy comparison of docs/liquidation.md is what benchmarks/liquidation_strategies.py
prints (our own figures, frozen in the doc: a regression check kept beside the unit tests of the
liquidation package), and its reading holds: the partial planner loses the least collateral,
meets the target on every account and never raises MM; largest-first strips hedges."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

REPOSITORY = Path(__file__).resolve().parents[2]


def _benchmark() -> ModuleType:
    path = REPOSITORY / "benchmarks" / "liquidation_strategies.py"
    spec = importlib.util.spec_from_file_location("liquidation_strategies", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_table_is_the_benchmark_output_and_its_reading_holds() -> None:
    bench = _benchmark()
    rows = bench.comparison_rows(300, 15)
    doc = (REPOSITORY / "docs" / "liquidation.md").read_text(encoding="utf-8")
    assert bench.markdown_table(rows, 300) in doc
    assert bench.by_kind_table(300, 15) in doc
    partial, everything, largest = rows
    assert partial["collateral_lost_usd"] < largest["collateral_lost_usd"]
    assert largest["collateral_lost_usd"] < everything["collateral_lost_usd"]
    assert partial["target_met_share"] == 1.0 and partial["raised_mm_count"] == 0
    assert largest["raised_mm_count"] > 0 and everything["maintenance_after_usd"] == 0.0
