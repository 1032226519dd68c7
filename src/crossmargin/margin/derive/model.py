"""Derive's portfolio margin (model ``derive-pmrm``) on crossmargin portfolios.

The profile of :mod:`crossmargin.compat.derive_pmrm` (which reproduces Derive's published cases)
applied to a :class:`~crossmargin.portfolio.Portfolio` at a
:class:`~crossmargin.market.MarketSnapshot`, with the parameters of ``config/derive_pmrm.toml``.
Derive margins each base asset in its own subaccount, so every underlying U becomes one book:

* U's options (each at the surface vol of its strike, its expiry's forward, discounted at the
  snapshot's rate floored at 0), its futures and perpetuals (revalued in full like Derive's
  perpetual, and charged the perpetual contingency on |coin|·S), and U held as spot or as a
  collateral balance (risk-cancelling base collateral, with U's base haircuts);
* cash (USD, USDC) and every other collateral balance (with its non-base haircuts) form one more,
  position-free book, so they are charged once.

Inverse (coin-settled) options and futures, which Derive does not list, are valued in USD by the
shared pricer (:func:`~crossmargin.portfolio.unit_values_usd`). Amounts are in USD; the
snapshot's USDC index (1 when absent) is the stablecoin price that drives the de-peg factor. The
snapshot has no oracle confidences, so every feed counts as fully confident (no oracle
contingency).

Requirements (USD, ≥ 0): IM = Σ_books (−im_factor·maxLoss + MM and IM contingencies),
MM = Σ_books (−mm_factor·maxLoss + MM contingencies); Derive's IM/MM *balances* are the mark-to-
market less these. Collateral haircuts are Derive contingencies, so by default equity is valued
without haircuts (pass a schedule to value it otherwise).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from crossmargin.collateral import HaircutSchedule
from crossmargin.core.errors import InputError
from crossmargin.core.numeric import decimal_to_float
from crossmargin.instruments import Instrument, InstrumentKind, KindCode
from crossmargin.margin.common import AccountView, assemble_result, view_account
from crossmargin.margin.derive.book import (
    SECONDS_PER_YEAR,
    BookColumns,
    CollateralHolding,
    DeriveBook,
    ExpiryFeed,
    fixed_forward_fraction,
)
from crossmargin.margin.derive.evaluation import DeriveEvaluation, evaluate_book
from crossmargin.margin.derive.parameters import DerivePmrmParameters, load_derive_parameters
from crossmargin.margin.result import MarginResult, ScenarioPnl
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio
from crossmargin.pricing import delta_one_coin_per_unit
from crossmargin.scenarios import scenario_vol_shocks

__all__ = ["ACCOUNT_BOOK", "CASH_CURRENCIES", "DerivePmrmMargin", "MappedBook", "map_portfolio"]

FloatArray = NDArray[np.float64]
#: Balances Derive holds as its cash asset.
CASH_CURRENCIES = ("USD", "USDC")
#: Name of the position-free book of cash and non-base collateral.
ACCOUNT_BOOK = "ACCOUNT"


@dataclass(frozen=True, eq=False)
class MappedBook:
    """A :class:`DeriveBook` and, per column, the portfolio position it holds (−1: collateral)."""

    book: DeriveBook
    position_of: NDArray[np.int64]


def _holding(
    currency: str, amount: float, market: MarketSnapshot, p: DerivePmrmParameters, *, base: bool
) -> CollateralHolding:
    rule = p.collateral.get(currency)
    if rule is None:
        raise InputError("collateral", currency, "has no Derive collateral parameters")
    if amount < 0.0:
        raise InputError(f"collateral.{currency}", amount, "Derive holds no negative balance")
    mm, im = rule.mm_haircut, rule.im_haircut
    if base and rule.base_mm_haircut is not None and rule.base_im_haircut is not None:
        mm, im = rule.base_mm_haircut, rule.base_im_haircut
    value = amount * market.index(currency)
    return CollateralHolding(currency, value, 1.0, mm, im, risk_cancelling=base)


def _book(
    underlying: str,
    spot: float,
    market: MarketSnapshot,
    columns: BookColumns,
    feeds: Sequence[ExpiryFeed] = (),
    collaterals: Sequence[CollateralHolding] = (),
    cash: float = 0.0,
) -> DeriveBook:
    if columns.underlying != underlying:
        raise InputError("columns.underlying", columns.underlying, f"must be {underlying}")
    return columns.book(
        spot_price=spot,
        stable_price=market.index("USDC"),
        cash=cash,
        expiries=feeds,
        collaterals=collaterals,
    )


def _expiry_feed(seconds: float, forward: float, rate: float) -> ExpiryFeed:
    return ExpiryFeed(
        seconds, forward, rate, fixed_forward_fraction=fixed_forward_fraction(seconds)
    )


def _underlying_book(view: AccountView, underlying: str, p: DerivePmrmParameters) -> MappedBook:
    arrays, market = view.valuation.arrays, view.market
    spot = market.index(underlying)
    coin = delta_one_coin_per_unit(arrays)
    columns = BookColumns(underlying)
    position_of: list[int] = []
    expiries: dict[object, int] = {}
    feeds: list[ExpiryFeed] = []
    base_held = 0.0
    for i, position in enumerate(view.portfolio.positions):
        instrument = position.instrument
        if instrument.underlying != underlying:
            continue
        if arrays.kind[i] == KindCode.SPOT:
            base_held += position.size
            continue
        forward, settlement = float(arrays.forward_usd[i]), float(arrays.settlement_usd[i])
        if arrays.kind[i] == KindCode.OPTION:
            t_years = float(arrays.t_years[i])
            if instrument.expiry not in expiries:
                expiries[instrument.expiry] = len(feeds)
                rate = max(market.rate_annual, 0.0)
                feeds.append(_expiry_feed(t_years * SECONDS_PER_YEAR, forward, rate))
            columns.add(
                instrument,
                position.size,
                index=spot,
                forward=forward,
                settlement=settlement,
                strike=float(arrays.strike_usd[i]),
                t_years=t_years,
                vol=float(arrays.vol_annual[i]),
                expiry=expiries[instrument.expiry],
            )
        else:
            columns.add(
                instrument,
                position.size,
                index=spot,
                forward=forward,
                settlement=settlement,
                entry=float(arrays.entry_usd[i]),
                coin_per_unit=float(coin[i]),
            )
        position_of.append(i)
    balance = view.portfolio.collateral.get(underlying)
    base_held += decimal_to_float(balance) if balance is not None else 0.0
    collaterals = []
    if base_held != 0.0:
        collaterals.append(_holding(underlying, base_held, market, p, base=True))
        base = Instrument(underlying, "USD", InstrumentKind.SPOT)
        columns.add(base, base_held, index=spot, forward=spot, collateral=0)
        position_of.append(-1)
    book = _book(underlying, spot, market, columns, feeds, collaterals)
    return MappedBook(book, np.array(position_of, dtype=np.int64))


def map_portfolio(view: AccountView, parameters: DerivePmrmParameters) -> list[MappedBook]:
    """The books of an account valued by :func:`view_account`: one per underlying of its
    positions (sorted), then the position-free book of cash and other collateral."""
    underlyings = view.portfolio.underlyings
    books = [_underlying_book(view, u, parameters) for u in underlyings]
    cash = 0.0
    others: list[CollateralHolding] = []
    for currency, balance in sorted(view.portfolio.collateral.items()):
        amount = decimal_to_float(balance)
        if currency in CASH_CURRENCIES:
            cash += amount * view.market.index(currency)
        elif currency not in underlyings:
            others.append(_holding(currency, amount, view.market, parameters, base=False))
    columns = BookColumns(ACCOUNT_BOOK)
    account = _book(ACCOUNT_BOOK, 1.0, view.market, columns, collaterals=others, cash=cash)
    books.append(MappedBook(account, np.zeros(0, dtype=np.int64)))
    return books


def _shares(weights: FloatArray, total: float) -> FloatArray:
    """``total`` split in proportion to ``weights`` ≥ 0 (evenly when they sum to 0)."""
    if weights.size == 0 or total == 0.0:
        return np.zeros(weights.shape[0])
    whole = float(weights.sum())
    if whole == 0.0:
        return np.full(weights.shape[0], total / weights.shape[0])
    return np.asarray(weights * (total / whole), dtype=np.float64)


def column_contributions(evaluation: DeriveEvaluation) -> FloatArray:
    """(n_i,) each column's share of the book's initial requirement, adding up to it.

    The loss part goes by each column's loss in the worst scenario (for the forward contingency:
    in the worse of its two scenarios), the perpetual contingency by |coin|, the option one by
    short size, the base one to the base collateral; the position-free book's charges go to no
    column."""
    book, c = evaluation.book, evaluation.contingencies
    if evaluation.worst_is_forward_contingency:
        pnl = np.minimum(*(evaluation.basis_matrix * book.sizes))
    else:
        pnl = evaluation.pnl_matrix[evaluation.worst_index] * book.sizes
    losses = np.maximum(-pnl, 0.0)
    loss = -evaluation.im_factor * evaluation.max_loss
    shares = _shares(losses if losses.sum() > 0.0 else np.abs(pnl), loss)
    shares += _shares(
        np.abs(book.delta_one_coin * book.sizes), c.mm_perp + c.im_perp + c.oracle_perp
    )
    shorts = np.where(book.expiry_of >= 0, np.maximum(-book.sizes, 0.0), 0.0)
    shares += _shares(shorts, c.mm_option + c.im_option + c.oracle_option)
    base = (book.collateral_of >= 0).astype(np.float64)
    shares += _shares(base, c.mm_base + c.im_base + c.oracle_collateral)
    return shares


def _components(evaluation: DeriveEvaluation) -> tuple[dict[str, float], dict[str, float]]:
    """Initial and maintenance components of one book (USD, ≥ 0), named ``part:BOOK``."""
    u, c, loss = evaluation.book.underlying, evaluation.contingencies, -evaluation.max_loss
    if u == ACCOUNT_BOOK:
        return (
            {"collateral": c.mm_base + c.im_base + c.oracle_collateral},
            {"collateral": c.mm_base},
        )
    base_factor = evaluation.parameters.margin.im_loss_factor
    initial = {
        f"max_loss:{u}": base_factor * loss,
        f"perp:{u}": c.mm_perp + c.im_perp + c.oracle_perp,
        f"option:{u}": c.mm_option + c.im_option + c.oracle_option,
        f"base:{u}": c.mm_base + c.im_base + c.oracle_collateral,
    }
    if evaluation.im_factor > base_factor and loss > 0.0:
        initial[f"depeg:{u}"] = (evaluation.im_factor - base_factor) * loss
    maintenance = {
        f"max_loss:{u}": evaluation.mm_factor * loss,
        f"perp:{u}": c.mm_perp,
        f"option:{u}": c.mm_option,
        f"base:{u}": c.mm_base,
    }
    return initial, maintenance


def _scenario_rows(evaluation: DeriveEvaluation) -> list[ScenarioPnl]:
    """Every margin scenario of a book as counted, then its forward contingency."""
    book, margin_set = evaluation.book, evaluation.scenarios.margin_set
    held = book.sizes != 0.0
    vol_shocks = scenario_vol_shocks(margin_set, book.arrays, held)
    rows = [
        ScenarioPnl(
            underlying=book.underlying,
            price_move=float(margin_set.price_moves[k]),
            vol_shock=vol_shocks[k],
            pnl_usd=float(evaluation.scenario_pnl[k]),
            label=margin_set.labels[k],
        )
        for k in range(margin_set.count)
    ]
    rows.append(
        ScenarioPnl(
            underlying=book.underlying,
            price_move=0.0,
            vol_shock=0.0,
            pnl_usd=evaluation.forward_contingency,
            label=f"{book.underlying} forward contingency",
        )
    )
    return rows


def _no_haircuts(parameters: DerivePmrmParameters) -> HaircutSchedule:
    currencies = {*CASH_CURRENCIES, "USDT", *parameters.collateral}
    return HaircutSchedule(
        version=f"{parameters.version}-no-haircuts",
        source="Derive takes collateral haircuts as contingencies of the requirement",
        haircuts={currency: 0.0 for currency in sorted(currencies)},
    )


class DerivePmrmMargin:
    """Derive's portfolio margin (``derive-pmrm``); see the module docstring for the mapping.

    Parameters
    ----------
    parameters:
        Defaults to the shipped ``config/derive_pmrm.toml`` (Derive's mainnet script).
    haircuts:
        Schedule for the account's equity; defaults to none (Derive's haircuts are contingencies
        of the requirement, in ``parameters.collateral``).
    """

    name = "derive-pmrm"

    def __init__(
        self,
        parameters: DerivePmrmParameters | None = None,
        haircuts: HaircutSchedule | None = None,
    ) -> None:
        self.parameters = parameters if parameters is not None else load_derive_parameters()
        self.haircuts = haircuts if haircuts is not None else _no_haircuts(self.parameters)

    def evaluations(self, view: AccountView) -> list[tuple[MappedBook, DeriveEvaluation]]:
        """Each book of the account (:func:`map_portfolio`) with the profile's evaluation."""
        return [
            (mapped, evaluate_book(mapped.book, self.parameters))
            for mapped in map_portfolio(view, self.parameters)
        ]

    def margin(self, portfolio: Portfolio, market: MarketSnapshot) -> MarginResult:
        """Initial and maintenance margin of ``portfolio`` at ``market`` (USD, rounded up)."""
        view = view_account(portfolio, market, self.haircuts)
        initial: dict[str, float] = {}
        maintenance: dict[str, float] = {}
        contributions = np.zeros(len(portfolio.positions))
        scenarios: list[ScenarioPnl] = []
        worst: ScenarioPnl | None = None
        largest = 0.0
        for mapped, evaluation in self.evaluations(view):
            book_initial, book_maintenance = _components(evaluation)
            initial.update(book_initial)
            maintenance.update(book_maintenance)
            shares = column_contributions(evaluation)
            held = mapped.position_of >= 0
            np.add.at(contributions, mapped.position_of[held], shares[held])
            if mapped.book.underlying == ACCOUNT_BOOK:
                continue
            rows = _scenario_rows(evaluation)
            scenarios += rows
            if -evaluation.max_loss > largest or worst is None:
                largest, worst = -evaluation.max_loss, rows[evaluation.worst_index]
        return assemble_result(
            self.name,
            view,
            initial,
            maintenance,
            contributions,
            self.parameters.version,
            scenarios=scenarios,
            worst_scenario=worst,
            notes=self._notes(),
        )

    def _notes(self) -> list[str]:
        margin = self.parameters.margin
        return [
            f"Derive PMRM v2 ({self.parameters.version}): one book per underlying; IM = "
            f"{margin.im_loss_factor:g} × max loss + contingencies, MM = "
            f"{margin.mm_loss_factor:g} × max loss + MM contingencies; max loss = worst of "
            f"{len(self.parameters.scenarios)} scenarios and the forward contingency",
            "no oracle confidences in the snapshot: feeds count as fully confident",
        ]
