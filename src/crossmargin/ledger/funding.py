"""Replaying real perpetual funding history through the ledger.

The shared data set holds Binance's BTCUSDT funding history every 8 hours
(``funding/binance_btcusdt_8h/btc_funding_rate.csv``: ``symbol,funding_date,funding_time,
fundingRate,markPrice``; rates are fractions per 8 h, ``markPrice`` is ``0.0`` on rows before
2023-10-31 because the API did not return it). :func:`load_binance_funding` reads it exactly
(rates and marks as ``Decimal`` from their text); :func:`replay_funding` posts one
:meth:`~crossmargin.ledger.Ledger.pay_funding` per row on an account's perpetual position, with
an idempotency key derived from the settlement time, so running it twice posts once.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from crossmargin.core.errors import FileInputError, InputError
from crossmargin.ledger.entries import EntryRecord
from crossmargin.ledger.ledger import Ledger
from crossmargin.ledger.money import DecimalInput, parse_price

__all__ = [
    "BINANCE_BTCUSDT_FUNDING_8H",
    "FundingRate",
    "funding_idempotency_key",
    "load_binance_funding",
    "replay_funding",
]

#: The 8-hourly Binance BTCUSDT funding file, relative to the shared data directory.
BINANCE_BTCUSDT_FUNDING_8H = Path("funding/binance_btcusdt_8h/btc_funding_rate.csv")

_COLUMNS = ("symbol", "funding_date", "funding_time", "fundingRate", "markPrice")


@dataclass(frozen=True, slots=True)
class FundingRate:
    """One funding settlement: UTC time, rate per period (0.0001 = 0.01 %, positive: longs
    pay), and the mark price (USD per coin) or ``None`` where the source has none."""

    funding_time: datetime
    rate: Decimal
    mark_price: Decimal | None


def _decimal(text: str, path: Path, field: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise FileInputError(str(path), field, text, "is not a decimal number") from None
    if not value.is_finite():
        raise FileInputError(str(path), field, text, "must be finite")
    return value


def load_binance_funding(path: str | Path) -> tuple[FundingRate, ...]:
    """Read the Binance 8-hourly funding history, oldest first.

    Parameters
    ----------
    path:
        The funding file (in the shared data set: :data:`BINANCE_BTCUSDT_FUNDING_8H` under its
        directory, which the caller locates).

    Returns
    -------
    tuple of FundingRate
        One settlement per row, oldest first; rates per 8 h as exact ``Decimal`` fractions.
        Raises :class:`FileInputError` naming the row and column of a malformed value.
    """
    source = Path(path)
    rates: list[FundingRate] = []
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != _COLUMNS:
            raise FileInputError(str(source), "header", reader.fieldnames, f"must be {_COLUMNS}")
        for number, row in enumerate(reader, start=2):
            stamp = f"{row['funding_date']}T{row['funding_time']}"
            try:
                moment = datetime.fromisoformat(stamp).replace(tzinfo=UTC)
            except ValueError:
                raise FileInputError(
                    str(source), f"row {number}.funding_time", stamp, "is not a date and time"
                ) from None
            rate = _decimal(row["fundingRate"], source, f"row {number}.fundingRate")
            mark = _decimal(row["markPrice"], source, f"row {number}.markPrice")
            if mark < 0:
                raise FileInputError(str(source), f"row {number}.markPrice", mark, "is negative")
            rates.append(FundingRate(moment, rate, mark if mark > 0 else None))
    return tuple(rates)


def funding_idempotency_key(instrument: str, funding_time: datetime) -> str:
    """The idempotency key of one funding settlement (``funding:BTC_USDC-PERPETUAL:<ISO time>``)."""
    return f"funding:{instrument}:{funding_time.isoformat()}"


def replay_funding(
    ledger: Ledger,
    account_id: int,
    rates: Iterable[FundingRate],
    *,
    instrument: str = "BTC_USDC-PERPETUAL",
    mark_price: DecimalInput | None = None,
) -> tuple[EntryRecord, ...]:
    """Settle each funding period of ``rates`` on the account's ``instrument`` position.

    Each row's own mark price is used; ``mark_price`` replaces it for every row (needed for the
    rows before 2023-10-31, which have none — those raise :class:`InputError` otherwise).
    Returns the entries in order (retries of already-posted periods return the originals).
    """
    fixed = None if mark_price is None else parse_price(mark_price, "mark_price")
    entries = []
    for index, period in enumerate(rates):
        mark = fixed if fixed is not None else period.mark_price
        if mark is None:
            raise InputError(
                f"rates[{index}].mark_price",
                None,
                f"the {period.funding_time.isoformat()} row has no mark price; pass mark_price",
            )
        entries.append(
            ledger.pay_funding(
                account_id,
                instrument,
                period.rate,
                mark,
                funding_idempotency_key(instrument, period.funding_time),
            )
        )
    return tuple(entries)
