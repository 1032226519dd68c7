"""Book engine, two source trees side by side: medians of interleaved runs and their ratio.

Runs ``benchmarks/book_engine.py`` of a baseline tree (e.g. a ``git worktree`` of an older commit)
and of this tree alternately, ``--rounds`` times each, each run in a fresh process with its own
tree's ``src`` on ``PYTHONPATH``, and prints the median of every timed row and the ratio
candidate / baseline (below 1 is faster). Interleaving spreads the load of a shared machine over
both trees; a median of 9 or more such runs is what the numbers in the notes quote.

    git worktree add ../base <old-commit>
    python benchmarks/compare_engine.py --baseline ../base --accounts 200000 --rounds 9
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

#: Table rows compared, by the start of their label, and the figure read from each.
ROWS = {
    "fused kernel, full recompute": "full recompute (ms)",
    "market move, BTC only": "market move BTC (ms)",
    "market move, ETH only": "market move ETH (ms)",
    "market move, BTC and ETH": "market move all (ms)",
    "scipy baseline": "scipy baseline (ms)",
    "bare fused kernel": "bare fused kernel (ms)",
    "full recompute, interleaved": "full recompute vs bare, interleaved (ms)",
}
PRE_TRADE = "pre_trade latency p50 / p99 / max"


def _milliseconds(cell: str) -> float:
    """The first figure of a time cell in milliseconds (``8.1 ms``, ``1.2 s``)."""
    match = re.match(r"\s*([\d.,]+)\s*(ms|s|us)", cell)
    if match is None:
        raise ValueError(f"no time in {cell!r}")
    value = float(match.group(1).replace(",", ""))
    return value * {"ms": 1.0, "s": 1000.0, "us": 0.001}[match.group(2)]


def parse_table(output: str) -> dict[str, float]:
    """The compared figures of one run of ``book_engine.py``."""
    figures: dict[str, float] = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 2:
            continue
        for prefix, name in ROWS.items():
            if cells[0].startswith(prefix):
                figures[name] = _milliseconds(cells[1])
        if cells[0].startswith(PRE_TRADE):
            p50, p99 = (float(part) for part in cells[1].split("us")[0].split("/")[:2])
            kind = " warm" if cells[0].endswith("warm") else ""
            figures[f"pre_trade{kind} p50 (us)"] = p50
            figures[f"pre_trade{kind} p99 (us)"] = p99
    return figures


def run_tree(tree: Path, arguments: list[str]) -> dict[str, float]:
    """One benchmark run of ``tree`` in a fresh process."""
    environment = dict(os.environ, PYTHONPATH=str(tree / "src"))
    completed = subprocess.run(
        [sys.executable, str(tree / "benchmarks" / "book_engine.py"), *arguments],
        cwd=tree,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return parse_table(completed.stdout)


def main() -> None:
    """Parse the options, run both trees interleaved and print the medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="the older source tree")
    parser.add_argument("--rounds", type=int, default=9, help="runs of each tree (interleaved)")
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--checks", type=int, default=2_000)
    options = parser.parse_args()
    arguments = [
        f"--accounts={options.accounts}",
        f"--checks={options.checks}",
        "--repeat=1",
        "--loop-sample=5",
        "--skip-twin",
    ]
    trees = {"baseline": options.baseline.resolve(), "candidate": HERE}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for round_index in range(options.rounds):
        order = list(trees) if round_index % 2 == 0 else list(reversed(trees))
        for name in order:
            runs[name].append(run_tree(trees[name], arguments))
        print(f"round {round_index + 1}/{options.rounds} done", file=sys.stderr)
    names = [name for name in runs["candidate"][0] if name in runs["baseline"][0]]
    print(f"{options.rounds} interleaved runs each, {options.accounts:,} accounts; medians\n")
    print("| measure | baseline | candidate | candidate / baseline |")
    print("|---|---|---|---|")
    for name in names:
        old = statistics.median(run[name] for run in runs["baseline"])
        new = statistics.median(run[name] for run in runs["candidate"])
        print(f"| {name} | {old:,.2f} | {new:,.2f} | {new / old:.2f} |")


if __name__ == "__main__":
    main()
