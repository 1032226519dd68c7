"""``crossmargin compat derive-pmrm CASE.json [--json]`` on Derive's real case files.

The sub-app is mounted on a throwaway Typer app here (the lead registers it as
``crossmargin compat``). Source of the cases: shared/data/vectors/derive_pmrm (derivexyz/v2-core
PMRM_2 portfolio cases).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from crossmargin.cli.compat_command import compat_app
from support.shared_data import require_shared_data


def _case(name: str) -> Path:
    path = require_shared_data("vectors", "derive_pmrm", name)
    return path


def _app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(compat_app, name="compat")
    return app


def test_json_output_matches_the_case_result() -> None:
    """--json prints im/mm on the case's sign convention, mtm, the worst scenario and each
    contingency; the general test case's IM and MM reproduce to 1e-9."""
    path = _case("test_61_general_general_test_1.json")
    expected = json.loads(path.read_text(encoding="utf-8"))["Result"]
    run = CliRunner().invoke(_app(), ["compat", "derive-pmrm", str(path), "--json"])
    assert run.exit_code == 0, run.output
    document = json.loads(run.stdout)
    assert {"im", "mm", "mtm", "worst_scenario", "contingencies"} <= set(document)
    assert document["im"] == pytest.approx(expected["IM"], rel=1e-9)
    assert document["mm"] == pytest.approx(expected["MM"], rel=1e-9)
    assert document["mtm"] == pytest.approx(expected["PortfolioMTM"], rel=1e-9)
    assert document["worst_scenario"]["class"] == expected["worst_all_scenarios"]
    assert document["contingencies"]["oracle"] == pytest.approx(expected["OracleCont"])


def test_tables_name_the_balances_and_contingencies() -> None:
    """Without --json the balances, the worst scenario and the contingencies are tabulated."""
    path = _case("test_29_perps_basic_perp.json")
    run = CliRunner().invoke(_app(), ["compat", "derive-pmrm", str(path)])
    assert run.exit_code == 0, run.output
    for text in ("initial margin balance (IM)", "worst scenario", "mm_perp", "-608.00"):
        assert text in run.stdout


def test_unreadable_and_malformed_cases_fail_with_a_message(tmp_path: Path) -> None:
    """A missing file, invalid JSON or a case missing a field exits 2 naming the problem."""
    runner = CliRunner()
    missing = runner.invoke(_app(), ["compat", "derive-pmrm", str(tmp_path / "none.json")])
    assert missing.exit_code == 2 and "none.json" in missing.output
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    invalid = runner.invoke(_app(), ["compat", "derive-pmrm", str(broken)])
    assert invalid.exit_code == 2 and "not valid JSON" in invalid.output
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"Scenario": {}, "Parameters": {}}), encoding="utf-8")
    incomplete = runner.invoke(_app(), ["compat", "derive-pmrm", str(partial)])
    assert incomplete.exit_code == 2 and "is missing" in incomplete.output
