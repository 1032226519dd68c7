"""The blocking work behind the endpoints: read the ledger, margin with the current market.

Each function runs on a worker thread (the handlers call them through ``run_in_threadpool``) and
returns a JSON-ready dict; library errors propagate to the handlers of
:mod:`crossmargin.service.errors`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from crossmargin.core.numeric import decimal_to_float
from crossmargin.ledger import (
    AccountHoldings,
    AccountKind,
    InsufficientMarginError,
    canonical_decimal,
)
from crossmargin.ledger.money import parse_price, parse_size
from crossmargin.ledger.risk import MarginCheck, enforce_initial_margin, holdings_portfolio
from crossmargin.margin.result import MarginResult
from crossmargin.market import MarketSnapshot
from crossmargin.portfolio import Portfolio, apply_trade
from crossmargin.service import oracle_guard
from crossmargin.service.context import ServiceContext
from crossmargin.service.errors import json_bytes
from crossmargin.service.render import render_entry, render_holdings, render_margin
from crossmargin.service.schemas import OrderCheck
from crossmargin.service.trading import check_order

__all__ = [
    "account_document",
    "book_engine_check",
    "ledger_page",
    "margin_document",
    "margin_message",
    "margin_message_tail",
    "order_check_document",
    "probe_market",
]


def account_document(context: ServiceContext, account_id: int) -> dict[str, Any]:
    """``GET /accounts/{id}``: balances and positions."""
    return render_holdings(context.ledger.holdings(account_id))


def margin_document(context: ServiceContext, account_id: int, model_name: str) -> dict[str, Any]:
    """``GET /accounts/{id}/margin``: the account's MarginResult under ``model_name``, plus
    ``oracle``: the view of every oracle-driven asset the account holds (a position on it or a
    balance of it; ``{}`` when none), so a margin taken at a last good price is flagged."""
    model = context.model(model_name)
    portfolio = context.ledger.portfolio(account_id)
    document = render_margin(model.margin(portfolio, context.market.current()))
    held = set(portfolio.collateral)
    for position in portfolio.positions:
        held |= oracle_guard.instrument_assets(position.instrument)
    views = context.oracle.views(held, datetime.now(UTC))
    document["oracle"] = {asset: view.to_json() for asset, view in views.items()}
    return document


def ledger_page(
    context: ServiceContext, account_id: int, limit: int, offset: int
) -> dict[str, Any]:
    """``GET /accounts/{id}/ledger``: a page of entries, oldest first."""
    entries = context.ledger.entries(account_id, limit, offset)
    return {
        "account_id": account_id,
        "limit": limit,
        "offset": offset,
        "next_offset": offset + len(entries) if len(entries) == limit else None,
        "entries": [render_entry(entry, account_id) for entry in entries],
    }


def _passes_initial_margin(
    account_id: int,
    before: tuple[Portfolio, MarginResult],
    after: tuple[Portfolio, MarginResult],
) -> bool:
    """Whether the ledger's initial-margin rule for trades lets this one through under the
    model that produced the two results (the rule itself, from the ledger)."""
    known = {id(before[0]): before[1], id(after[0]): after[1]}

    def margined(portfolio: Portfolio) -> MarginResult:
        return known[id(portfolio)]

    try:
        enforce_initial_margin(margined, account_id, MarginCheck.TRADE, before[0], after[0])
    except InsufficientMarginError:
        return False
    return True


def order_check_document(
    context: ServiceContext, account_id: int, order: OrderCheck
) -> dict[str, Any]:
    """``POST /accounts/{id}/orders/check``: margin before and after the order (see
    :class:`~crossmargin.service.schemas.OrderCheck` for how it is priced)."""
    model = context.model(order.model)
    version, market = context.market.versioned()
    uncovered: list[dict[str, str]] = []
    size = parse_size(order.size)
    price = None if order.price is None else parse_price(order.price)
    instrument = check_order(context.trading, market, order.instrument, size, price)
    oracle_guard.check_trade(context, account_id, instrument, size, "order_check")
    if order.price is None:
        before_portfolio = context.ledger.portfolio(account_id)
        after_portfolio = apply_trade(before_portfolio, instrument, decimal_to_float(size), market)
    else:
        preview = context.ledger.preview_trade(
            account_id, order.instrument, order.size, order.price, order.fee
        )
        before_portfolio, after_portfolio = preview.portfolio_before, preview.portfolio_after
        uncovered = [
            {
                "currency": debit.currency,
                "balance": canonical_decimal(debit.balance),
                "required": canonical_decimal(debit.required),
            }
            for debit in preview.uncovered
            if debit.account_id == account_id
        ]
    before = model.margin(before_portfolio, market)
    after = model.margin(after_portfolio, market)
    return {
        "account_id": account_id,
        "model": order.model,
        "instrument": order.instrument,
        "size": canonical_decimal(Decimal(order.size)),
        "price": None if order.price is None else canonical_decimal(Decimal(order.price)),
        "market_version": version,
        "before": render_margin(before),
        "after": render_margin(after),
        "initial_margin_change": canonical_decimal(after.initial_margin - before.initial_margin),
        "maintenance_margin_change": canonical_decimal(
            after.maintenance_margin - before.maintenance_margin
        ),
        "passes_initial_margin": _passes_initial_margin(
            account_id, (before_portfolio, before), (after_portfolio, after)
        ),
        "uncovered": uncovered,
        "enforced_model": context.risk_model,
        "book_engine": book_engine_check(
            context, account_id, instrument.name, decimal_to_float(size)
        ),
    }


def book_engine_check(
    context: ServiceContext, account_id: int, instrument: str, size: float
) -> dict[str, Any] | None:
    """The live desk's book-engine what-if (``pm``, at the mark): initial and maintenance margin
    before and after, equity (USD floats, not rounded) and ``accepted`` (equity ≥ IM after, or
    the trade does not raise IM); ``None`` when no live desk holds the account and instrument."""
    book = context.live.book
    if book is None:
        return None
    check = book.pre_trade(account_id, instrument, size)
    if check is None:
        return None
    return {
        "model": "pm",
        "initial_margin_before_usd": check.initial_margin_before,
        "initial_margin_after_usd": check.initial_margin,
        "maintenance_margin_before_usd": check.maintenance_margin_before,
        "maintenance_margin_after_usd": check.maintenance_margin,
        "equity_usd": check.equity,
        "accepted": bool(check.accepted),
    }


def margin_message_tail(context: ServiceContext, account_id: int, model_name: str) -> str:
    """The part of a WebSocket margin message every subscriber of the account and model shares:
    ``"market_version":…,"as_of_account_sequence":…,"margin":{…}}`` (JSON, closing brace
    included; the caller prefixes its own type, account, model and triggers)."""
    return margin_message(context, account_id, model_name)[0]


def margin_message(
    context: ServiceContext,
    account_id: int,
    model_name: str,
    holdings: AccountHoldings | None = None,
) -> tuple[str, AccountHoldings]:
    """:func:`margin_message_tail` on ``holdings`` (read from the ledger when ``None``) at the
    current market, and the holdings it margined (for the stream to keep until the account's
    next write)."""
    model = context.model(model_name)
    version, market = context.market.versioned()
    if holdings is None:
        holdings = context.ledger.holdings(account_id)
    result = model.margin(holdings_portfolio(holdings), market)
    shared = {
        "market_version": version,
        "as_of_account_sequence": holdings.account_sequence,
        "margin": render_margin(result),
    }
    return json_bytes(shared).decode("ascii")[1:], holdings


def probe_market(context: ServiceContext, market: MarketSnapshot) -> None:
    """Margin every open position (the settlement account's mirror of the whole book) under
    the enforced model at ``market``; raises when that fails or is not finite."""
    settlement = context.ledger.system_account_id(AccountKind.SETTLEMENT)
    holdings = context.ledger.holdings(settlement)
    if not holdings.positions:
        return
    portfolio = holdings_portfolio(replace(holdings, balances={}))
    context.model(context.risk_model).margin(portfolio, market)
