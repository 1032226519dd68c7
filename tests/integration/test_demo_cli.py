"""`crossmargin demo --days N`: the live desk's replay, headless, on a fresh demo ledger."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_demo_replays_headless_and_leaves_the_ledger_consistent(tmp_path: Path) -> None:
    """Seeds the examples and 30 synthetic accounts, replays one day (6 four-hour ticks) and
    prints the summary; the ledger's invariants hold afterwards (0 violations)."""
    command = [
        str(Path(sys.executable).parent / "crossmargin"), "demo", "--days", "1", "--accounts", "30",
        "--database", f"sqlite:///{tmp_path / 'demo.db'}",
    ]  # fmt: skip
    env_dir = tmp_path / "secrets"
    done = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "CROSSMARGIN_SECRETS_DIR": str(env_dir)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    examples = len(list((ROOT / "examples").glob("*.toml")))
    assert f"seeded {30 + examples} accounts" in done.stdout
    assert "replayed 6 4-hour ticks (1 days)" in done.stdout
    assert f"accounts {30 + examples}:" in done.stdout
    assert "ledger invariants: 0 violations" in done.stdout
