"""The ledger's initial-margin rule shown with the live desk's book engine
(:mod:`crossmargin.service.margin_screen`), against the enforced single-account model.

A ledger is seeded with the example portfolios and 40 synthetic accounts (options, futures,
perpetuals, spot; USDC, BTC and ETH balances) at the synthetic market of 2024-03-11 and loaded
into a :class:`BookState`. For what-ifs of every shape the ledger would margin — a trade of each
account's instruments and of instruments it does not hold, both ways, at the mark and away from
it, options bought with coin premium; withdrawals of part of a balance —:

* the engine's initial margin of the account after (:meth:`BookState.initial_margin_of`) equals
  the ``pm`` model's on the same holdings to a relative 1e-9 plus the model's rounding up of
  each component to 1e-6 USD — coin-settled futures entered away from the engine's entry price
  included (their USD P&L scales with 1/entry; the engine carries the entry offset);
* the screen shows an operation to pass only when the model passes it, and is not fooled at
  the limit: a withdrawal leaving equity 0.5 cent above the IM is left to the model (which
  passes it), one leaving 1 USD above is shown;
* in the ledger, an operation the screen shows is posted without a model run; a refused one is
  refused by the model with the model's numbers, exactly as without a screen.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from crossmargin.core.numeric import STABLECOINS
from crossmargin.instruments import InstrumentKind, parse_instrument
from crossmargin.ledger import (
    AccountHoldings,
    InsufficientMarginError,
    Ledger,
    MarginModelRiskCheck,
    position_operations,
)
from crossmargin.ledger.risk import MarginCheck, holdings_portfolio
from crossmargin.margin.pm.model import PortfolioMargin
from crossmargin.margin.result import MarginResult
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio, value_portfolio
from crossmargin.pricing import instrument_arrays, unit_values_usd
from crossmargin.service.book_state import BookState
from crossmargin.service.margin_screen import EngineMarginScreen
from crossmargin.service.seed import seed_demo_ledger
from crossmargin.shared_data import shared_data_dir
from crossmargin.simulation.synthetic import synthetic_market

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.toml"))
COMPONENTS = 8
MODEL = PortfolioMargin()


def _close(value: float, expected: float) -> bool:
    return abs(value - expected) <= 1e-9 * abs(expected) + 1e-6 * COMPONENTS + 1e-9


def _off_entry_inverse(holdings: AccountHoldings, entries: dict[str, float]) -> bool:
    for held in holdings.positions:
        instrument = parse_instrument(held.instrument)
        if instrument.is_inverse and instrument.kind is not InstrumentKind.OPTION:
            price = held.average_price
            if price is None or float(price) != entries[held.instrument]:
                return True
    return False


def _requirement(holdings: AccountHoldings, market: MarketSnapshot) -> MarginResult:
    return MODEL.requirement(holdings_portfolio(holdings), market)


def _price(name: str, market: MarketSnapshot, shift: float) -> Decimal:
    """A trade price near the mark: USD per coin to 0.5 (delta-one), the premium per unit in the
    settlement currency to 1e-4 (options, at least 1e-4); ``shift`` moves it by that share."""
    instrument = parse_instrument(name)
    arrays = instrument_arrays([instrument], market)
    if instrument.kind is InstrumentKind.OPTION:
        premium = float(unit_values_usd(arrays)[0] / arrays.settlement_usd[0]) * (1 + shift)
        return max(Decimal(repr(round(premium, 4))), Decimal("0.0001"))
    return Decimal(repr(round(float(arrays.forward_usd[0]) * (1 + shift) * 2) / 2))


def _size(name: str, scale: float) -> Decimal:
    instrument = parse_instrument(name)
    if instrument.is_inverse and instrument.kind is not InstrumentKind.OPTION:
        return Decimal(round(scale * 1_000) * 10 or 10)
    return Decimal(repr(round(scale, 4))) or Decimal("0.0001")


def _what_ifs(ledger: Ledger, book: BookState, market: MarketSnapshot) -> list[AccountHoldings]:
    """Holdings after each what-if the ledger would margin (see the module docstring)."""
    rng = random.Random(7)
    names = sorted({p.instrument for a in book.account_ids for p in ledger.holdings(a).positions})
    afters: list[AccountHoldings] = []
    for account_id in book.account_ids:
        holdings = ledger.holdings(account_id)
        own = [p.instrument for p in holdings.positions]
        for name in own[:2] + rng.sample(names, 2):
            size = _size(name, rng.choice([-1.0, 1.0]) * rng.uniform(0.05, 3.0))
            shift = rng.choice([0.0, 0.01, -0.02])
            preview = ledger.preview_trade(account_id, name, size, _price(name, market, shift))
            if not preview.uncovered:
                afters.append(preview.after)
        for currency, amount in holdings.balances.items():
            if amount > 0:
                kept = {**holdings.balances, currency: amount / 2}
                afters.append(AccountHoldings(holdings.account, kept, holdings.positions, 0))
    return afters


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> tuple[Ledger, BookState, MarketSnapshot]:
    data_dir = shared_data_dir()
    market = synthetic_market(data_dir)
    ledger = Ledger(f"sqlite:///{tmp_path_factory.mktemp('screen') / 'ledger.db'}")
    seed_demo_ledger(ledger, market, data_dir, EXAMPLES, 40, seed=5)
    book = BookState(market)
    book.load(ledger)
    assert book.margins() is not None  # the engine is built, as the live desk does at start
    return ledger, book, market


def test_engine_initial_margin_equals_the_model_on_every_what_if(
    desk: tuple[Ledger, BookState, MarketSnapshot],
) -> None:
    ledger, book, market = desk
    entries = book.entry_prices_usd()
    checked = off_entry = 0
    for after in _what_ifs(ledger, book, market):
        initial = book.initial_margin_of(after.positions, after.balances, market)
        assert initial is not None
        assert _close(initial, float(_requirement(after, market).initial_margin))
        checked += 1
        off_entry += _off_entry_inverse(after, entries)
    assert checked >= 150 and off_entry >= 20


def test_an_inverse_perpetual_entered_off_the_engine_entry_keeps_its_own_entry(
    desk: tuple[Ledger, BookState, MarketSnapshot],
) -> None:
    """A coin-settled perpetual's USD scenario P&L scales with 1/entry: bought 5 % below the
    engine's entry, the model's IM differs from the one at the engine's entry by far more than
    1e-9 — and the engine, carrying the entry offset, gives the model's own number."""
    ledger, book, market = desk
    account_id = book.account_ids[0]
    engine_entry = book.entry_prices_usd()["BTC-PERPETUAL"]
    entry = Decimal(repr(engine_entry * 0.95)).quantize(Decimal("0.5"))
    after = ledger.preview_trade(account_id, "BTC-PERPETUAL", Decimal("200000"), entry).after
    actual = float(_requirement(after, market).initial_margin)
    at_engine_entry = AccountHoldings(
        after.account,
        after.balances,
        tuple(
            replace(p, average_price=Decimal(repr(engine_entry)))
            if p.instrument == "BTC-PERPETUAL"
            else p
            for p in after.positions
        ),
        0,
    )
    assert abs(float(_requirement(at_engine_entry, market).initial_margin) - actual) > 1e-6 * actual
    initial = book.initial_margin_of(after.positions, after.balances, market)
    assert initial is not None and _close(initial, actual)


def _equity(holdings: AccountHoldings, market: MarketSnapshot) -> Decimal:
    return value_portfolio(holdings_portfolio(holdings), market, MODEL.haircuts).equity_usd


def test_screen_shows_only_what_the_model_passes_and_defers_at_the_limit(
    desk: tuple[Ledger, BookState, MarketSnapshot],
) -> None:
    ledger, book, market = desk
    screen = EngineMarginScreen(book, lambda: market, MODEL.haircuts)
    shown = 0
    for after in _what_ifs(ledger, book, market):
        if screen(MarginCheck.TRADE, after):
            result = _requirement(after, market)
            assert result.equity >= result.initial_margin
            shown += 1
    assert shown >= 100 and screen.deferred >= 20
    # a USDC withdrawal leaving equity 0.5 cent, then 1 USD, above the IM (the IM does not move)
    usdc = next(
        a for a in book.account_ids
        if ledger.holdings(a).balances.get("USDC", Decimal(0)) > 0
        and ledger.holdings(a).positions
        and not _off_entry_inverse(ledger.holdings(a), book.entry_prices_usd())
    )  # fmt: skip
    holdings = ledger.holdings(usdc)
    excess = _equity(holdings, market) - _requirement(holdings, market).initial_margin
    haircut = Decimal(repr(1.0 - MODEL.haircuts.haircut_for("USDC")))
    for headroom, expected in ((Decimal("0.005"), False), (Decimal("1"), True)):
        withdrawn = ((excess - headroom) / haircut).quantize(Decimal("0.000001"))
        balances = {**holdings.balances, "USDC": holdings.balances["USDC"] - withdrawn}
        after = AccountHoldings(holdings.account, balances, holdings.positions, 0)
        left = _equity(after, market) - _requirement(after, market).initial_margin
        assert Decimal(0) < left < headroom + Decimal("0.01")  # the model passes both
        assert screen(MarginCheck.WITHDRAWAL, after) is expected


def _small_desk(tmp_path: Path) -> tuple[Ledger, BookState, MarketSnapshot]:
    """12 synthetic accounts in a fresh ledger, loaded into a :class:`BookState` whose engine
    is built (as the live desk does at start); the synthetic market."""
    data_dir = shared_data_dir()
    market = synthetic_market(data_dir)
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    seed_demo_ledger(ledger, market, data_dir, [], 12, seed=9)
    book = BookState(market)
    book.load(ledger)
    assert book.margins() is not None
    return ledger, book, market


class _CountingCheck:
    def __init__(self, check: Callable[[Portfolio], MarginResult]) -> None:
        self.check = check
        self.calls = 0

    def __call__(self, portfolio: Portfolio) -> MarginResult:
        self.calls += 1
        return self.check(portfolio)


def test_ledger_posts_what_the_screen_shows_and_the_model_refuses_the_rest(
    tmp_path: Path,
) -> None:
    ledger, book, market = _small_desk(tmp_path)
    model_check = _CountingCheck(MarginModelRiskCheck(MODEL, market))
    screen = EngineMarginScreen(book, lambda: market, MODEL.haircuts)
    ledger.risk_check = model_check
    ledger.margin_screen = screen
    account_id = next(
        a for a in book.account_ids
        if not _off_entry_inverse(ledger.holdings(a), book.entry_prices_usd())
        and any(c in STABLECOINS for c in ledger.holdings(a).balances)
    )  # fmt: skip
    price = _price("BTC_USDC-PERPETUAL", market, 0.0)
    small = position_operations.trade(account_id, "BTC_USDC-PERPETUAL", Decimal("0.001"), price, 0)
    (posted,) = ledger.post_batch([(small, "screened-trade")])
    assert not isinstance(posted, Exception), posted
    assert (screen.shown, screen.deferred, model_check.calls) == (1, 0, 0)
    short = position_operations.trade(account_id, "BTC_USDC-PERPETUAL", Decimal("-5000"), price, 0)
    huge = position_operations.trade(account_id, "BTC_USDC-PERPETUAL", Decimal("5000"), price, 0)
    outcomes = ledger.post_batch([(short, "too-short"), (huge, "too-big")])
    assert screen.shown == 1 and screen.deferred == 2 and model_check.calls >= 2
    for outcome in outcomes:
        assert isinstance(outcome, InsufficientMarginError), outcome
        assert outcome.model == "pm" and outcome.equity_after < outcome.initial_margin_after
    refused = outcomes[1]
    assert isinstance(refused, InsufficientMarginError)
    assert (
        refused.initial_margin_after
        == _requirement(
            ledger.preview_trade(account_id, "BTC_USDC-PERPETUAL", Decimal("5000"), price).after,
            market,
        ).initial_margin
    )


def test_the_screen_never_loads_or_rebuilds_the_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ledger's writer calls the screen: an account opened since the engine was loaded (a
    reload pending) is still answered from the engine's tables without reloading every account,
    and a position in an instrument the engine does not list yet (a rebuild pending) is left to
    the model rather than rebuilt on the writer's thread."""
    ledger, book, market = _small_desk(tmp_path)
    engine = book.sync()
    assert engine is not None
    loads: list[object] = []
    monkeypatch.setattr(engine, "load_positions", lambda *a, **k: loads.append(a))
    newcomer = ledger.open_account("newcomer")
    ledger.deposit(newcomer, "USDC", "500000", "newcomer-usdc")
    price = _price("BTC_USDC-PERPETUAL", market, 0.0)
    ledger.trade(newcomer, "BTC_USDC-PERPETUAL", "2", price, "0", "newcomer-trade")
    book.refresh(ledger, [newcomer])
    after = ledger.holdings(newcomer)
    initial = book.initial_margin_of(after.positions, after.balances, market)
    assert initial is not None
    assert _close(initial, float(_requirement(after, market).initial_margin))
    assert loads == [] and book.sync() is engine and loads != []  # only the next sync reloads
    listed = len(engine.instruments)
    unlisted = "BTC_USDC-27DEC24"
    assert unlisted not in {i.name for i in engine.instruments}
    ledger.trade(newcomer, unlisted, "0.5", _price(unlisted, market, 0.0), "0", "newcomer-new")
    book.refresh(ledger, [newcomer])
    after = ledger.holdings(newcomer)
    assert book.initial_margin_of(after.positions, after.balances, market) is None
    assert len(engine.instruments) == listed
