"""A backtest run as a report folder: CSV tables, PNG plots and an ``index.html`` that links
only to files beside it.

* ``summary.csv`` — one row per (portfolio, model): :class:`~crossmargin.backtest.ModelSummary`;
* ``stress.csv`` — one row per (stress day, portfolio, model): :class:`StressOutcome`;
* ``series_<portfolio>.csv`` — per moment: index and vol per asset, gross notional, realised P&L,
  and each model's initial margin and exception flag;
* ``<portfolio>.png`` — :func:`~crossmargin.backtest.plots.plot_book`.

Numbers are written with fixed decimals (USD to the cent, ratios to 1e-6) and NaN as an empty
cell, so the same run writes the same bytes.
"""

from __future__ import annotations

import csv
import html
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from crossmargin.backtest.measures import ModelSummary, StressOutcome
from crossmargin.backtest.plots import plot_book
from crossmargin.backtest.run import BacktestRun, BookPath

__all__ = [
    "STRESS_HEADER",
    "SUMMARY_HEADER",
    "slug",
    "stress_rows",
    "summary_rows",
    "write_report",
]

SUMMARY_HEADER = (
    "portfolio",
    "model",
    "windows",
    "exceptions",
    "exception_rate",
    "tested_windows",
    "tested_exceptions",
    "kupiec_lr",
    "kupiec_p_value",
    "independence_lr",
    "independence_p_value",
    "conditional_lr",
    "conditional_p_value",
    "zone",
    "probability",
    "type1",
    "mean_margin_usd",
    "efficiency",
    "peak_to_trough",
    "max_increase_1d",
    "max_increase_5d",
    "worst_shortfall_usd",
    "failed_moments",
)

STRESS_HEADER = (
    "day",
    "portfolio",
    "model",
    "window_start",
    "margin_usd",
    "loss_usd",
    "shortfall_usd",
    "lost_money",
)


def slug(name: str) -> str:
    """A file-name-safe form of ``name`` (letters, digits, ``_`` and ``-``)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or "book"


def _usd(value: float) -> str:
    return "" if not math.isfinite(value) else f"{value:.2f}"


def _ratio(value: float | None) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.6f}"


def summary_rows(summaries: Iterable[ModelSummary]) -> list[list[str]]:
    """Cells of ``summary.csv`` in :data:`SUMMARY_HEADER` order (USD to the cent, ratios,
    statistics and probabilities to 1e-6; empty where undefined)."""
    rows = []
    for s in summaries:
        p = s.procyclicality
        rows.append(
            [
                s.portfolio,
                s.model,
                str(s.windows),
                str(s.exceptions),
                _ratio(s.exception_rate),
                str(s.tested_windows),
                str(s.tested_exceptions),
                _ratio(s.kupiec.lr if s.kupiec else None),
                _ratio(s.kupiec.p_value if s.kupiec else None),
                _ratio(s.independence.lr if s.independence else None),
                _ratio(s.independence.p_value if s.independence else None),
                _ratio(s.conditional.lr if s.conditional else None),
                _ratio(s.conditional.p_value if s.conditional else None),
                s.light.zone.value if s.light else "",
                _ratio(s.light.probability if s.light else None),
                _ratio(s.light.type1 if s.light else None),
                _usd(s.mean_margin_usd),
                _ratio(s.efficiency),
                _ratio(p.peak_to_trough if p else None),
                _ratio(p.max_increase_1d if p else None),
                _ratio(p.max_increase_5d if p else None),
                _usd(s.worst_shortfall_usd),
                str(s.failed_moments),
            ]
        )
    return rows


def stress_rows(outcomes: Iterable[StressOutcome]) -> list[list[str]]:
    """Cells of ``stress.csv`` in :data:`STRESS_HEADER` order (USD to the cent)."""
    return [
        [
            o.day.isoformat(),
            o.portfolio,
            o.model,
            "" if o.window_start is None else o.window_start.isoformat(),
            _usd(o.margin_usd),
            _usd(o.loss_usd),
            _usd(o.shortfall_usd),
            "yes" if o.lost_money else "no",
        ]
        for o in outcomes
    ]


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _write_series(run: BacktestRun, book: BookPath, path: Path) -> None:
    header = ["moment"]
    header += [f"index_usd_{a}" for a in book.assets] + [f"vol_annual_{a}" for a in book.assets]
    header += ["gross_notional_usd", "pnl_usd"]
    header += [f"im_usd_{m}" for m in run.models] + [f"exception_{m}" for m in run.models]
    exceptions = {m: book.exceptions(m) for m in run.models}
    rows = []
    for row, k in enumerate(book.moments):
        cells = [str(run.path.moments[k])]
        cells += [_usd(float(run.path.index_usd[a][k])) for a in book.assets]
        cells += [_ratio(float(run.path.vol_annual[a][k])) for a in book.assets]
        cells += [_usd(float(book.gross_notional_usd[row])), _usd(float(book.pnl_usd[row]))]
        cells += [_usd(float(book.initial_margin_usd[m][row])) for m in run.models]
        cells += ["1" if exceptions[m][row] else "0" for m in run.models]
        rows.append(cells)
    _write_csv(path, header, rows)


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_report(
    run: BacktestRun,
    summaries: Sequence[ModelSummary],
    outcomes: Sequence[StressOutcome],
    directory: Path,
    title: str = "Margin backtest",
    notes: Sequence[str] = (),
) -> Path:
    """Write the report folder (module docstring) and return the path of ``index.html``.

    ``notes`` are printed under the title (the command line that made the run, the data set).
    """
    directory.mkdir(parents=True, exist_ok=True)
    summary = summary_rows(summaries)
    stress = stress_rows(outcomes)
    _write_csv(directory / "summary.csv", SUMMARY_HEADER, summary)
    _write_csv(directory / "stress.csv", STRESS_HEADER, stress)
    sections = []
    for book in run.books:
        name = slug(book.name)
        _write_series(run, book, directory / f"series_{name}.csv")
        plot_book(run, book, directory / f"{name}.png")
        failures = "".join(
            f"<li>{html.escape(key)}: {book.failures.get(key, 0)} moment(s) failed, e.g. "
            f"{html.escape('; '.join(messages))}</li>"
            for key, messages in sorted(book.errors.items())
        )
        sections.append(
            f"<h3>{html.escape(book.name)}</h3>"
            f'<p><img src="{name}.png" alt="{html.escape(book.name)} margin through time">'
            f'</p><p><a href="series_{name}.csv">series_{name}.csv</a></p>'
            + (f"<ul>{failures}</ul>" if failures else "")
        )
    first = run.path.moment(int(run.books[0].moments[0])).isoformat()
    last = run.path.moment(int(run.books[0].moments[-1])).isoformat()
    note_items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    page = (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:sans-serif;margin:1em 2em}table{border-collapse:collapse;font-size:12px}"
        "td,th{border:1px solid #ccc;padding:2px 5px;text-align:right}img{max-width:100%}"
        "</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(run.path.bars.value)} bars, moments {html.escape(first)} … "
        f"{html.escape(last)}, loss horizon {run.horizon_days} day(s); an exception is a window "
        "whose loss exceeded the initial margin held at its start.</p>"
        f"<ul>{note_items}</ul>"
        '<h2>Summary (<a href="summary.csv">summary.csv</a>)</h2>'
        + _html_table(SUMMARY_HEADER, summary)
        + '<h2>Stress days (<a href="stress.csv">stress.csv</a>)</h2>'
        + _html_table(STRESS_HEADER, stress)
        + "<h2>Portfolios</h2>"
        + "".join(sections)
        + "</body></html>\n"
    )
    index = directory / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
