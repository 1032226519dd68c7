"""A stress run's report folder: CSV tables, matplotlib PNGs and an ``index.html`` tying them
together. Same outcomes in, same bytes out (PNG metadata carries no date)."""

from __future__ import annotations

import csv
import html
from collections.abc import Sequence
from pathlib import Path

from crossmargin.simulation.cascade import ROUND_COLUMNS
from crossmargin.simulation.sweep import ScenarioOutcome

__all__ = ["SUMMARY_COLUMNS", "headline_table", "write_report"]

#: Columns of ``summary.csv`` after ``scenario``.
SUMMARY_COLUMNS = (
    "rounds", "cascade_rounds", "accounts_liquidated", "liquidated_notional_usd",
    "fund_drawdown_usd", "fund_change_usd", "bad_debt_usd", "unresolved_usd", "adl_events",
    "over_liquidation_usd",
)  # fmt: skip


def _slug(label: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in label).strip("_").lower()


def _summary_rows(outcomes: Sequence[ScenarioOutcome]) -> tuple[list[str], list[list[str]]]:
    markets = outcomes[0].result.markets if outcomes else ()
    header = ["scenario", *SUMMARY_COLUMNS, *(f"move_{m}" for m in markets)]
    rows = []
    for outcome in outcomes:
        summary = outcome.summary()
        rows.append([outcome.scenario.label] + [f"{summary[k]:.6f}" for k in header[1:]])
    return header, rows


def _plots(outcomes: Sequence[ScenarioOutcome], folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    specs = (
        ("cascade_rounds.png", "Liquidated notional per round (USD)", "liquidated_notional_usd"),
        ("cascade_fund.png", "Insurance fund (USD)", "fund_usd"),
    )
    for filename, title, column in specs:
        figure, axis = plt.subplots(figsize=(8, 4.5))
        for outcome in outcomes:
            axis.plot(outcome.result.rounds[column], label=outcome.scenario.label)
        axis.set_title(title)
        axis.set_xlabel("round")
        axis.legend(fontsize=7)
        figure.tight_layout()
        figure.savefig(folder / filename, metadata={"Software": None})
        plt.close(figure)
        names.append(filename)
    markets = outcomes[0].result.markets if outcomes else ()
    figure, axes = plt.subplots(1, max(1, len(markets)), figsize=(8, 4.5), squeeze=False)
    for k, market in enumerate(markets):
        for outcome in outcomes:
            path = outcome.result.prices[:, k] / outcome.result.prices[0, k]
            axes[0, k].plot(path, label=outcome.scenario.label)
        axes[0, k].set_title(f"{market} price / start")
        axes[0, k].set_xlabel("round")
    axes[0, 0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(folder / "cascade_prices.png", metadata={"Software": None})
    plt.close(figure)
    names.append("cascade_prices.png")
    return names


def write_report(outcomes: Sequence[ScenarioOutcome], folder: str | Path, title: str) -> Path:
    """Write ``summary.csv``, ``rounds_<scenario>.csv``, three PNGs and ``index.html`` into
    ``folder`` (created); returns the index path. Amounts in the files are USD."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    header, rows = _summary_rows(outcomes)
    with (out / "summary.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    links = []
    for outcome in outcomes:
        name = f"rounds_{_slug(outcome.scenario.label)}.csv"
        result = outcome.result
        with (out / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["round", *ROUND_COLUMNS, *(f"price_{m}" for m in result.markets)])
            for r in range(result.round_count):
                values = [result.rounds[c][r] for c in ROUND_COLUMNS]
                prices = result.prices[r + 1]
                writer.writerow([r, *(f"{v:.6f}" for v in values),
                                 *(f"{p:.6f}" for p in prices)])  # fmt: skip
        links.append(name)
    images = _plots(outcomes, out)
    table = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = (
        f"<h1>{html.escape(title)}</h1><table border='1'><tr>{head}</tr>{table}</table>"
        + "".join(f"<p><img src='{name}' alt='{name}'></p>" for name in images)
        + "<ul>" + "".join(f"<li><a href='{n}'>{n}</a></li>" for n in ["summary.csv", *links])
        + "</ul>"
    )  # fmt: skip
    index = out / "index.html"
    index.write_text(f"<!doctype html><html><body>{body}</body></html>\n", encoding="utf-8")
    return index


def headline_table(outcomes: Sequence[ScenarioOutcome]) -> str:
    """The summary as a Markdown table (docs/cascades.md's headline)."""
    header, rows = _summary_rows(outcomes)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [row[0]] + [f"{float(v):,.4f}" if abs(float(v)) < 10 else f"{float(v):,.0f}"
                            for v in row[1:]]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
