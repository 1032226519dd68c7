"""One cascade on a large synthetic book: time per round against one full book-engine recompute.

Each cascade round margins the book once (``update_market`` + incremental ``margin_all``) and
touches only the liquidated accounts' positions, so a round should cost about one recompute,
not a rebuild. Measured side by side, interleaved: a full ``margin_all(incremental=False)`` and
one cascade round (a round of the cascade run whose total time is divided by its rounds), the
median of ``--repeats`` (≥ 9) each, reported as a ratio.

    .venv/bin/python benchmarks/cascade.py --accounts 1000000
"""

from __future__ import annotations

import argparse
import statistics
import time

from crossmargin.shared_data import shared_data_dir
from crossmargin.simulation import (
    CascadeConfig,
    EngineMargin,
    PositionTable,
    run_cascade,
    shock_moves,
    synthetic_book,
)
from crossmargin.simulation.sweep import book_depth_usd


def main() -> None:
    """Print the book size, the two medians and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--instruments", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--shock", type=float, default=-0.15)
    args = parser.parse_args()
    book = synthetic_book(args.accounts, args.instruments, seed=0, data_dir=shared_data_dir())
    table = PositionTable.build(book.instruments, book.market, book.account_index,
                                book.instrument_index, book.size, book.account_count)  # fmt: skip
    source = EngineMargin(table, "pm")
    depth = book_depth_usd(table)
    markets = ("BTC", "ETH")
    config = CascadeConfig(markets, shock_moves(markets, {"BTC": args.shock}), depth,
                           fund_usd=1e7, max_rounds=40)  # fmt: skip
    full: list[float] = []
    per_round: list[float] = []
    rounds = 0
    liquidated = 0
    for _ in range(args.repeats):
        start = time.perf_counter()
        source.engine.margin_all(incremental=False)
        full.append(time.perf_counter() - start)
        start = time.perf_counter()
        result = run_cascade(source, book.collateral_usd, config)
        elapsed = time.perf_counter() - start
        rounds = result.round_count
        liquidated = result.accounts_liquidated
        per_round.append(elapsed / (rounds + 2))  # + the start and end margin calls
    full_median = statistics.median(full)
    round_median = statistics.median(per_round)
    print(f"book: {book.account_count:,} accounts, {book.position_count:,} positions, "
          f"{len(book.instruments)} instruments")  # fmt: skip
    print(f"cascade: {rounds} rounds, {liquidated:,} accounts liquidated, "
          f"BTC {result.price_move('BTC'):+.2%}")  # fmt: skip
    print(f"full recompute (median of {args.repeats}): {full_median * 1e3:,.1f} ms")
    print(f"cascade round  (median of {args.repeats}): {round_median * 1e3:,.1f} ms")
    print(f"ratio round / full recompute: {round_median / full_median:.2f}")


if __name__ == "__main__":
    main()
