"""Printing a margin result must cost far less than computing it (issue 12, finding 7).

Builds one account of N distinct option positions (default 1,000,000), margins it under standard
cross margin, then times what `crossmargin margin` does to print it: the verdict, the components
and the top-20 positions with the Greek totals over all N (tables), and the JSON document with
``--top 20`` and with every position (rows encoded column-wise, as `margin --json` does).
Each is the median of ``--runs`` runs (default 9), reported
as a ratio to the median margin computation. No speed is asserted anywhere; this only measures.

    .venv/bin/python benchmarks/printing.py [--positions 1000000] [--runs 9]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from rich.console import Console

from crossmargin.cli.jsonout import dumps_strict
from crossmargin.cli.margin_json import margin_document
from crossmargin.cli.positions_view import ranked_positions, render_positions
from crossmargin.cli.render_margin import render_margin_result, render_verdict
from crossmargin.instruments import parse_instrument
from crossmargin.margin import CrossMargin
from crossmargin.market import MarketSnapshot, VolSurface
from crossmargin.portfolio import Portfolio, Position

EXPIRIES = ("28JUN24", "27SEP24")


def _book(count: int) -> Portfolio:
    positions: list[Position] = []
    per_expiry_type = -(-count // (2 * len(EXPIRIES)))
    for expiry in EXPIRIES:
        for kind in "CP":
            for k in range(per_expiry_type):
                if len(positions) == count:
                    break
                instrument = parse_instrument(f"BTC-{expiry}-{20_000 + k}-{kind}")
                size = (1.0 + k % 5) * (-1.0 if k % 3 else 1.0)
                positions.append(Position(instrument, size))
    return Portfolio(tuple(positions), {"USDC": Decimal(10**12)})


def _median_seconds(action: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    market = MarketSnapshot(
        datetime(2024, 3, 11, 15, 17, tzinfo=UTC),
        {"BTC": 72_000.0},
        0.0,
        {"BTC": VolSurface.flat(0.6)},
    )
    started = time.perf_counter()
    portfolio = _book(args.positions)
    print(f"built {len(portfolio.positions):,} positions in {time.perf_counter() - started:.1f} s")
    model = CrossMargin()
    result = model.margin(portfolio, market)

    def tables() -> None:
        console = Console(file=io.StringIO(), width=160, force_terminal=False)
        render_verdict(console, "book", result)
        render_margin_result(console, result, portfolio)
        render_positions(console, result.positions, portfolio, market, 20, 1.0)

    def json_top() -> None:
        dumps_strict(margin_document(result, ranked_positions(result.positions, 20)))

    def json_all() -> None:
        dumps_strict(margin_document(result))

    margin_s = _median_seconds(lambda: model.margin(portfolio, market), args.runs)
    rows = [
        ("tables (--top 20, totals over all)", _median_seconds(tables, args.runs)),
        ("--json --top 20", _median_seconds(json_top, args.runs)),
        ("--json, every position", _median_seconds(json_all, args.runs)),
    ]
    print(f"positions: {args.positions:,}; median of {args.runs} runs each")
    print(f"{'margin (cross)':40s} {margin_s:8.3f} s   1.000")
    for name, seconds in rows:
        print(f"{name:40s} {seconds:8.3f} s   {seconds / margin_s:.3f} × margin")


if __name__ == "__main__":
    main()
