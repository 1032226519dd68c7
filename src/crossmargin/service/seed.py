"""Demo accounts for the live desk: the example portfolios and a synthetic book, in the ledger.

:func:`seed_demo_ledger` opens one account per example portfolio file and one per synthetic
account (:func:`~crossmargin.simulation.synthetic_book`), deposits their collateral and books
their positions as trades at the market's mark (futures, perpetuals and spot at the forward,
rounded to 0.5 USD; options at the model premium in their settlement currency, rounded to its
quantum), so their risk is the example's or the synthetic book's. It is a one-off set-up of a
demo database: the trades are posted without the enforced margin check (the seeded books are
given, as a venue's existing book would be), through :meth:`Ledger.post_batch`, about 4,096
per transaction; the synthetic accounts are opened in one transaction
(:meth:`Ledger.open_accounts`), so the writer's cache knows them empty and reads none of them
back. A ledger that already holds user accounts is left alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from crossmargin.core.errors import CrossmarginError
from crossmargin.core.numeric import STABLECOINS
from crossmargin.instruments import Instrument, InstrumentKind
from crossmargin.ledger import AccountKind, Ledger, cash_operations, position_operations
from crossmargin.ledger.operations import Operation
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import load_portfolio_file
from crossmargin.pricing import instrument_arrays, unit_values_usd
from crossmargin.simulation import synthetic_book

__all__ = ["SeedError", "SeedReport", "seed_demo_ledger"]

_BATCH = 4096
_FUTURE_TICK = Decimal("0.5")
_INSURANCE_SEED_USDC = Decimal("5000000")


class SeedError(CrossmarginError):
    """A seeded entry was refused (names its idempotency key)."""


@dataclass(frozen=True)
class SeedReport:
    """What :func:`seed_demo_ledger` did: accounts opened, entries posted (0, 0 when the ledger
    already held user accounts)."""

    accounts: int
    entries: int


def _marks(instruments: Sequence[Instrument], market: MarketSnapshot) -> list[Decimal]:
    """Trade price per instrument at ``market``: USD per coin (delta-one, to 0.5 USD), premium
    per unit in the settlement currency (options, to 1e-4; at least 1e-4)."""
    arrays = instrument_arrays(list(instruments), market)
    values = unit_values_usd(arrays) / arrays.settlement_usd
    prices = []
    for k, instrument in enumerate(instruments):
        if instrument.kind is InstrumentKind.OPTION:
            coin = instrument.settlement_currency not in STABLECOINS
            step = Decimal("0.0001") if coin else Decimal("0.1")
            premium = Decimal(repr(float(values[k]))).quantize(step, ROUND_HALF_UP)
            prices.append(max(premium, step))
        else:
            forward = Decimal(repr(float(arrays.forward_usd[k])))
            prices.append((forward / _FUTURE_TICK).quantize(Decimal(1)) * _FUTURE_TICK)
    return prices


def _size(value: float, instrument: Instrument) -> Decimal:
    inverse_face = instrument.is_inverse and instrument.kind is not InstrumentKind.OPTION
    places = Decimal("1") if inverse_face else Decimal("0.00000001")
    return Decimal(repr(float(value))).quantize(places, ROUND_HALF_UP)


def _cash_needed(trades: Sequence[tuple[Instrument, Decimal, Decimal]]) -> dict[str, Decimal]:
    """What booking ``trades`` (instrument, size, price) debits per currency: the premium of
    bought options, the quote of bought spot, the coin of sold spot."""
    needed: dict[str, Decimal] = {}
    for instrument, size, price in trades:
        if instrument.kind is InstrumentKind.OPTION and size > 0:
            currency, amount = instrument.settlement_currency, size * price
        elif instrument.kind is InstrumentKind.SPOT:
            if size > 0:
                currency, amount = instrument.settlement_currency, size * price
            else:
                currency, amount = instrument.underlying, -size
        else:
            continue
        needed[currency] = needed.get(currency, Decimal(0)) + amount
    return needed


def _account_operations(
    account_id: int,
    collateral: dict[str, Decimal],
    trades: Sequence[tuple[Instrument, Decimal, Decimal]],
) -> Iterator[tuple[Operation, str]]:
    """Deposits (the collateral plus what the trades debit, rounded up to the currency's
    quantum) and then the trades of one seeded account."""
    cash = dict(collateral)
    for currency, amount in _cash_needed(trades).items():
        cash[currency] = cash.get(currency, Decimal(0)) + amount
    for currency, amount in sorted(cash.items()):
        if amount <= 0:
            continue
        step = Decimal("0.000001") if currency in STABLECOINS else Decimal("0.00000001")
        rounded = (amount / step).to_integral_value(rounding="ROUND_CEILING") * step
        key = f"seed-{account_id}-deposit-{currency}"
        yield cash_operations.deposit(account_id, currency, rounded), key
    for instrument, size, price in trades:
        key = f"seed-{account_id}-{instrument.name}"
        yield position_operations.trade(account_id, instrument.name, size, price, 0), key


def _post_all(ledger: Ledger, accounts: Iterator[list[tuple[Operation, str]]]) -> int:
    """Post whole accounts' operations, several accounts per transaction (up to the batch
    size, an account never split)."""
    posted = 0
    batch: list[tuple[Operation, str]] = []
    for operations in accounts:
        if batch and len(batch) + len(operations) > _BATCH:
            posted += _post(ledger, batch)
            batch = []
        batch.extend(operations)
    if batch:
        posted += _post(ledger, batch)
    return posted


def _post(ledger: Ledger, batch: list[tuple[Operation, str]]) -> int:
    outcomes = ledger.post_batch(batch)
    for (_, key), outcome in zip(batch, outcomes, strict=True):
        if isinstance(outcome, Exception):
            raise SeedError(f"{key}: {outcome}") from outcome
    return len(outcomes)


def seed_demo_ledger(
    ledger: Ledger,
    market: MarketSnapshot,
    data_dir: Path,
    example_files: Sequence[Path],
    synthetic_accounts: int = 10_000,
    *,
    seed: int = 0,
) -> SeedReport:
    """Seed ``ledger`` for the demo (see the module docstring).

    Parameters
    ----------
    ledger:
        A ledger without a risk check (the seeded books are given, not traded into).
    market:
        The market whose marks the positions are booked at (it must price every instrument).
    data_dir:
        The shared data directory (the synthetic book's instruments come from its Deribit chain).
    example_files:
        Portfolio files; each becomes an account named after the file.
    synthetic_accounts:
        Accounts of the synthetic book (about 3 positions each).

    Returns
    -------
    SeedReport
        Accounts opened and entries posted.
    """
    state = ledger.state()
    if any(r.kind is AccountKind.USER for r in state.accounts.values()):
        return SeedReport(0, 0)
    operations: list[list[tuple[Operation, str]]] = []
    ledger.insurance_fund_deposit("USDC", _INSURANCE_SEED_USDC, "seed-insurance")
    opened = 0
    for path in example_files:
        loaded = load_portfolio_file(path)
        account_id = ledger.open_account(f"example-{path.stem}")
        opened += 1
        instruments = [p.instrument for p in loaded.portfolio.positions]
        prices = _marks(instruments, market) if instruments else []
        trades = [
            (p.instrument, _size(p.size, p.instrument), price)
            for p, price in zip(loaded.portfolio.positions, prices, strict=True)
        ]
        collateral = {c: a for c, a in loaded.portfolio.collateral.items() if a > 0}
        operations.append(list(_account_operations(account_id, collateral, trades)))
    book = synthetic_book(
        synthetic_accounts, 120, seed, data_dir=data_dir, positions_per_account=3.0, market=market
    )
    prices = _marks(book.instruments, market)
    ids = ledger.open_accounts([f"synthetic-{a:06d}" for a in range(book.account_count)])
    opened += book.account_count
    by_account: list[list[tuple[Instrument, Decimal, Decimal]]] = [
        [] for _ in range(book.account_count)
    ]
    for a, i, size in zip(book.account_index, book.instrument_index, book.size, strict=True):
        instrument = book.instruments[int(i)]
        amount = _size(float(size), instrument)
        if amount != 0:
            by_account[int(a)].append((instrument, amount, prices[int(i)]))
    for a, trades in enumerate(by_account):
        usdc = Decimal(repr(float(book.collateral_usd[a]))).quantize(Decimal("0.01"))
        operations.append(list(_account_operations(ids[a], {"USDC": usdc}, trades)))
    return SeedReport(opened, _post_all(ledger, iter(operations)))
