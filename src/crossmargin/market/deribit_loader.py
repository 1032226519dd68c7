"""Load a Deribit option-chain CSV into a :class:`MarketSnapshot`.

Two layouts are recognised by their header:

* ``book_summary`` — a ``get_book_summary_by_currency`` dump (the 2024-03-11 BTC chain): the
  index is ``estimated_delivery_price``, the rate ``interest_rate``;
* ``ticker`` — per-instrument ticker fields (the 2026-03-01 BTC chain): the index is
  ``spot_ref``, the rate is 0 (Deribit marks options with r = 0).

In both, ``underlying_price`` is the forward of the option's expiry (the median over its rows
becomes the explicit forward) and ``mark_iv`` is the mark implied vol in **percent**. Each smile
node takes the out-of-the-money option at its strike: the call for ``K >= F``, the put for
``K < F`` (``F`` the expiry's forward); when that leg has no IV (missing or zero) the other leg is
used, and a strike with neither is skipped. Expiries at or before the valuation time are dropped.

Neither file stores its pricing time, so the defaults are inferred (see ``shared/data/README.md``
and the ``deribit_black76_consistency`` note of ``vectors/external_vectors.json``).
"""

from __future__ import annotations

import csv
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from crossmargin.core.errors import InputError
from crossmargin.core.timeutil import ensure_utc
from crossmargin.instruments import InstrumentKind, parse_instrument
from crossmargin.market.snapshot import MarketSnapshot
from crossmargin.market.surface import VolSmile, VolSurface

__all__ = [
    "DEFAULT_CHAIN_VALUATION_TIMES",
    "DERIBIT_CHAIN_2024_03_11",
    "DERIBIT_CHAIN_2026_03_01",
    "DeribitChainFormat",
    "detect_chain_format",
    "load_deribit_chain",
]

#: The two Deribit BTC option chains, relative to the shared data directory (the caller locates it).
DERIBIT_CHAIN_2024_03_11 = Path("options/deribit_btc_chain_2024-03-11/deribit_options.csv")
DERIBIT_CHAIN_2026_03_01 = Path("options/deribit_btc_chain_2026-03-01/deribit_options.csv")


class DeribitChainFormat(StrEnum):
    """Which Deribit CSV layout a chain file uses."""

    BOOK_SUMMARY = "book_summary"
    TICKER = "ticker"


#: Valuation time used when none is given: 2024 Black-76 fit (data README), 2026 inferred time.
DEFAULT_CHAIN_VALUATION_TIMES: Mapping[DeribitChainFormat, datetime] = MappingProxyType(
    {
        DeribitChainFormat.BOOK_SUMMARY: datetime(2024, 3, 11, 15, 17, tzinfo=UTC),
        DeribitChainFormat.TICKER: datetime(2026, 3, 1, 19, 54, tzinfo=UTC),
    }
)

_INDEX_COLUMN = {
    DeribitChainFormat.BOOK_SUMMARY: "estimated_delivery_price",
    DeribitChainFormat.TICKER: "spot_ref",
}
_COMMON_COLUMNS = ("instrument_name", "underlying_price", "mark_iv")


@dataclass(frozen=True)
class _Quote:
    """One option row: where it sits and what it says (prices USD, IV a fraction or None)."""

    underlying: str
    expiry: datetime
    strike: float
    is_call: bool
    forward_usd: float
    index_usd: float
    vol_annual: float | None


def detect_chain_format(header: Sequence[str], source: str = "header") -> DeribitChainFormat:
    """Tell the layout of a Deribit chain CSV from its column names.

    Raises :class:`InputError` naming ``source`` and the missing columns when it is neither.
    """
    columns = set(header)
    for chain_format, index_column in _INDEX_COLUMN.items():
        if index_column in columns and columns.issuperset(_COMMON_COLUMNS):
            return chain_format
    wanted = ", ".join(_COMMON_COLUMNS)
    raise InputError(
        source,
        sorted(columns),
        f"is not a Deribit chain: needs {wanted} and estimated_delivery_price or spot_ref",
    )


def load_deribit_chain(path: str | Path, valuation_time: datetime | None = None) -> MarketSnapshot:
    """Read a Deribit option-chain CSV into a market snapshot.

    Parameters
    ----------
    path:
        The CSV file (book-summary or ticker layout, told apart by the header).
    valuation_time:
        Timezone-aware pricing instant; by default 2024-03-11T15:17Z for the book-summary layout
        and 2026-03-01T19:54Z for the ticker layout.

    Returns
    -------
    MarketSnapshot
        Index per underlying (USD, median of the index column), one explicit forward (USD) and one
        smile (annual vols by log-moneyness) per live expiry, rate as described in the module
        docstring. Raises :class:`InputError` naming ``<path>:<line>.<column>`` for a bad row.
    """
    source = str(path)
    with Path(path).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        chain_format = detect_chain_format(reader.fieldnames or [], f"{source}:1")
        now = (
            DEFAULT_CHAIN_VALUATION_TIMES[chain_format]
            if valuation_time is None
            else ensure_utc(valuation_time, "valuation_time")
        )
        quotes: list[_Quote] = []
        rates: list[float] = []
        seen: set[str] = set()
        for row in reader:
            where = f"{source}:{reader.line_num}"
            name = row.get("instrument_name") or ""
            if name in seen:
                raise InputError(f"{where}.instrument_name", name, "duplicate instrument")
            seen.add(name)
            quotes.append(_parse_row(row, chain_format, where))
            if chain_format is DeribitChainFormat.BOOK_SUMMARY and row.get("interest_rate"):
                rates.append(_number(row, "interest_rate", where))
    if not quotes:
        raise InputError(source, None, "has no option rows")
    rate = statistics.median(rates) if rates else 0.0
    return _snapshot(quotes, now, rate)


def _number(row: Mapping[str, str | None], column: str, where: str) -> float:
    text = (row.get(column) or "").strip()
    try:
        number = float(text)
    except ValueError:
        raise InputError(f"{where}.{column}", text, "must be a number") from None
    if not math.isfinite(number):
        raise InputError(f"{where}.{column}", text, "must be finite")
    return number


def _positive(row: Mapping[str, str | None], column: str, where: str) -> float:
    number = _number(row, column, where)
    if number <= 0.0:
        raise InputError(f"{where}.{column}", row.get(column), "must be > 0")
    return number


def _parse_row(
    row: Mapping[str, str | None], chain_format: DeribitChainFormat, where: str
) -> _Quote:
    name = (row.get("instrument_name") or "").strip()
    try:
        instrument = parse_instrument(name)
    except InputError as error:
        raise InputError(f"{where}.instrument_name", name, error.reason) from None
    if instrument.kind is not InstrumentKind.OPTION:
        raise InputError(f"{where}.instrument_name", name, "is not an option")
    assert instrument.expiry is not None and instrument.strike is not None
    iv_text = (row.get("mark_iv") or "").strip()
    vol: float | None = None
    if iv_text:
        iv_percent = _number(row, "mark_iv", where)
        if iv_percent < 0.0:
            raise InputError(f"{where}.mark_iv", iv_text, "must be >= 0 (percent)")
        vol = iv_percent / 100.0 if iv_percent > 0.0 else None
    return _Quote(
        underlying=instrument.underlying,
        expiry=instrument.expiry,
        strike=instrument.strike,
        is_call=instrument.is_call,
        forward_usd=_positive(row, "underlying_price", where),
        index_usd=_positive(row, _INDEX_COLUMN[chain_format], where),
        vol_annual=vol,
    )


def _snapshot(quotes: Sequence[_Quote], now: datetime, rate: float) -> MarketSnapshot:
    index: dict[str, list[float]] = {}
    by_expiry: dict[tuple[str, datetime], list[_Quote]] = {}
    for quote in quotes:
        index.setdefault(quote.underlying, []).append(quote.index_usd)
        if quote.expiry > now:
            by_expiry.setdefault((quote.underlying, quote.expiry), []).append(quote)
    forwards: dict[tuple[str, datetime], float] = {}
    smiles: dict[str, list[VolSmile]] = {}
    for key, group in sorted(by_expiry.items()):
        forward = statistics.median(quote.forward_usd for quote in group)
        forwards[key] = forward
        smile = _otm_smile(key[1], group, forward)
        if smile is not None:
            smiles.setdefault(key[0], []).append(smile)
    return MarketSnapshot(
        valuation_time=now,
        index_usd={asset: statistics.median(prices) for asset, prices in index.items()},
        rate_annual=rate,
        vol_surfaces={asset: VolSurface.from_smiles(group) for asset, group in smiles.items()},
        forwards_usd=forwards,
    )


def _otm_smile(expiry: datetime, quotes: Sequence[_Quote], forward: float) -> VolSmile | None:
    """Smile of one expiry from the out-of-the-money leg at each strike (the other leg if the OTM
    one has no IV); ``None`` when no strike has an IV."""
    legs: dict[float, dict[bool, float]] = {}
    for quote in quotes:
        if quote.vol_annual is not None:
            legs.setdefault(quote.strike, {})[quote.is_call] = quote.vol_annual
    strikes: list[float] = []
    vols: list[float] = []
    for strike, by_type in sorted(legs.items()):
        out_of_the_money = strike >= forward
        strikes.append(strike)
        leg = out_of_the_money if out_of_the_money in by_type else not out_of_the_money
        vols.append(by_type[leg])
    if not strikes:
        return None
    return VolSmile.from_strikes(expiry, strikes, vols, forward)
