"""The live risk desk: the book engine as the service's risk state, market ticks, the overview.

:func:`install` (called once by :func:`crossmargin.service.create_app`) loads every user account
of the ledger into a :class:`~crossmargin.service.book_state.BookState`, hooks it to the ledger
writer (every committed trade, deposit and withdrawal re-reads the accounts it touched), mounts
the dashboard (:mod:`crossmargin.service.dashboard`), gives the ledger the engine's margin
screen when the enforced model is the engine's (:mod:`crossmargin.service.margin_screen`: a
withdrawal or trade the engine shows to pass is not margined again by the model) and, when
``CROSSMARGIN_REPLAY_DAYS`` is set and the shared data set is found, starts replaying the real
BTC/ETH history (:mod:`crossmargin.service.replay`) at ``CROSSMARGIN_REPLAY_PACE`` seconds per
4-hour bar.

A tick (:meth:`LiveDesk.tick`): the new market becomes current; the engine moves to it
(:meth:`BookEngine.update_market` rebuilds only the moved underlyings' rows) and re-margins the
accounts holding them; health states are counted; the accounts the engine finds liquidatable or
bankrupt are liquidated (most underwater first, at most ``max_liquidations`` per tick) by the
service's liquidation desk and re-read; then every account WebSocket and the overview WebSocket
are pushed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from fastapi import FastAPI

from crossmargin.core.numeric import STABLECOINS
from crossmargin.ledger import AccountKind, EntryRecord, UnknownAccountError
from crossmargin.margin.health import HEALTH_STATES, HealthState, health_codes, health_state
from crossmargin.service import routes_liquidations
from crossmargin.service.book_liquidations import fund_of, plan_liquidations, post_liquidations
from crossmargin.service.book_state import BookState
from crossmargin.service.context import ServiceContext
from crossmargin.service.errors import json_bytes
from crossmargin.service.margin_screen import EngineMarginScreen, engine_matches
from crossmargin.service.replay import ReplayTape, Tick, load_tape
from crossmargin.shared_data import find_shared_data_dir

__all__ = [
    "REPLAY_DAYS_ENV",
    "REPLAY_PACE_ENV",
    "LiveDesk",
    "Overview",
    "desk_of_app",
    "install",
]

#: Days of history to replay when the service starts (unset: no replay).
REPLAY_DAYS_ENV = "CROSSMARGIN_REPLAY_DAYS"
#: Seconds of wall-clock time per replayed 4-hour bar (default 1.0).
REPLAY_PACE_ENV = "CROSSMARGIN_REPLAY_PACE"

_LOG = logging.getLogger(__name__)


@dataclass
class Overview:
    """What the overview shows (see :meth:`LiveDesk.overview`)."""

    last_tick: dict[str, Any] | None = None
    ticks: list[dict[str, Any]] = field(default_factory=list)


class LiveDesk:
    """The desk of one service process (see the module docstring).

    Parameters
    ----------
    context:
        The service context.
    liquidations:
        The service's liquidation desk (parameters and event log).
    max_liquidations:
        At most this many accounts are liquidated per tick (the most underwater first).
    """

    def __init__(
        self,
        context: ServiceContext,
        liquidations: routes_liquidations.LiquidationDesk,
        max_liquidations: int = 25,
    ) -> None:
        self.context = context
        self.liquidations = liquidations
        self.max_liquidations = max_liquidations
        self.book = BookState(context.market.current())
        self.book.load(context.ledger)
        self.book.margins()  # the engine exists from the start: the ledger's screen can answer
        self.state = Overview()
        self._lock = threading.Lock()
        self._subscribers: set[asyncio.Queue[str]] = set()
        self.tick_latencies_s: list[float] = []
        self.tick_applied_at: list[tuple[int, float, float]] = []
        self._count_lock = threading.Lock()
        self._last_account_id = 0
        self._user_accounts = 0
        enforced = context.model(context.risk_model)
        #: The ledger's margin screen on this desk's engine (``None`` when the enforced model is
        #: not the engine's: then the model margins every withdrawal and trade).
        self.margin_screen: EngineMarginScreen | None = None
        if engine_matches(enforced):
            self.margin_screen = EngineMarginScreen(
                self.book,
                context.market.current,
                enforced.haircuts,
            )

    # ------------------------------------------------------------------ ledger hook

    def on_commit(self, entries: list[EntryRecord]) -> None:
        """Re-read every user account the committed ``entries`` touched (writer thread)."""
        touched = {p.account_id for e in entries for p in e.postings}
        touched |= {c.account_id for e in entries for c in e.position_changes}
        self.book.refresh(self.context.ledger, touched)

    # ------------------------------------------------------------------ ticks

    def tick(self, tick: Tick) -> list[dict[str, Any]]:
        """Apply one replayed tick (blocking; a worker thread): returns the liquidation events
        it produced (already recorded in the liquidation desk)."""
        context = self.context
        version = context.market.replace(tick.market)
        result = self.book.move_market(tick.market)
        events: list[dict[str, Any]] = []
        if result is not None:
            events = self._liquidate_due(version)
        with self._lock:
            point = {
                "tick": tick.number,
                "time": tick.time.isoformat().replace("+00:00", "Z"),
                "market_version": version,
                "index_usd": {a: tick.market.index(a) for a in sorted(tick.close_usd)},
                "close_usd": dict(tick.close_usd),
                "dvol_pct": dict(tick.dvol_pct),
            }
            self.state.last_tick = point
            self.state.ticks.append(point)
            del self.state.ticks[:-500]
        return events

    def _liquidate_due(self, version: int) -> list[dict[str, Any]]:
        """The whole-book pass over the engine at the current market, posted in one batch
        (:mod:`crossmargin.service.book_liquidations`); the liquidated accounts are re-read and
        their events recorded with the engine's health and equity after."""
        ledger, parameters = self.context.ledger, self.liquidations.parameters
        fund = fund_of(ledger)
        planned = self.book.with_engine(
            lambda engine, margins, ids: plan_liquidations(
                engine, margins, ids, parameters, fund, version, self.max_liquidations
            )
        )
        if not planned:
            return []
        events = post_liquidations(ledger, planned, version, self.book.market)
        self.book.refresh(ledger, [p.account_id for p in planned])
        after = self.book.margins()
        index = {account_id: a for a, account_id in enumerate(self.book.account_ids)}
        recorded = []
        for event in events:
            a = index[event["account_id"]]
            if after is not None:
                equity = float(after.equity[a])
                maintenance = float(after.maintenance_margin[a])
                event["health_after"] = health_state(equity, maintenance, parameters.health).value
                event["equity_after_usd"] = equity
            recorded.append(self.liquidations.record(event))
        return recorded

    async def apply_tick(self, tick: Tick) -> None:
        """:meth:`tick` off the event loop, then push the WebSockets: the account streams of the
        accounts the tick re-margined (the market trigger; each account's margin is computed
        once for all its subscribers) and of the liquidated accounts (their event), and the
        overview stream (its document). ``tick_applied_at`` keeps (market version, arrival, applied)
        of the last 1,000 ticks: Unix times in seconds when this call began and when the tick's
        state (market, engine, liquidations) was in place, before any push."""
        started, arrived = time.perf_counter(), time.time()
        context = self.context
        async with context.market_update_lock:
            events = await asyncio.to_thread(self.tick, tick)
            moved = await asyncio.to_thread(self.book.moved_accounts)
        version = context.market.versioned()[0]
        self.tick_applied_at.append((version, arrived, time.time()))
        del self.tick_applied_at[:-1000]
        context.stream.publish_market(moved, {"kind": "market", "market_version": version})
        for event in events:
            message = json_bytes({"type": "liquidation", **event}).decode("ascii")
            trigger = {"kind": "liquidation", "liquidation_id": event["liquidation_id"]}
            context.stream.publish_event(event["account_id"], message, trigger)
        document = await asyncio.to_thread(self.overview)
        text = json_bytes({"type": "overview", **document}).decode("ascii")
        for queue in list(self._subscribers):
            if queue.qsize() < 4:
                queue.put_nowait(text)
        self.tick_latencies_s.append(time.perf_counter() - started)

    async def replay(self, tape: ReplayTape, pace_s: float) -> None:
        """Play ``tape`` over the start market, one tick every ``pace_s`` seconds."""
        base = self.context.market.current()
        for number in range(tape.length):
            began = time.monotonic()
            tick = tape.tick(base, number)
            try:
                await self.apply_tick(tick)
            except Exception:
                _LOG.exception("live desk: tick %d failed", number)
            await asyncio.sleep(max(0.0, pace_s - (time.monotonic() - began)))

    # ------------------------------------------------------------------ the overview

    def subscribe(self) -> asyncio.Queue[str]:
        """A queue receiving each overview document (JSON text) after every tick."""
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[str]) -> None:
        """Stop feeding ``queue``."""
        self._subscribers.discard(queue)

    def _user_account_count(self) -> int:
        """The ledger's user accounts: counted once, then only the accounts opened since (the
        ledger numbers accounts 1, 2, … without gaps, so the next id tells whether one was)."""
        ledger = self.context.ledger
        with self._count_lock:
            if self._last_account_id == 0:
                records = ledger.accounts()
                self._last_account_id = max((r.account_id for r in records), default=0)
                self._user_accounts = sum(1 for r in records if r.kind is AccountKind.USER)
            while True:
                try:
                    record = ledger.account(self._last_account_id + 1)
                except UnknownAccountError:
                    return self._user_accounts
                self._last_account_id = record.account_id
                self._user_accounts += record.kind is AccountKind.USER

    def _enforced_checks(self) -> dict[str, int | None]:
        screen = self.margin_screen
        return {
            "shown_by_engine": None if screen is None else screen.shown,
            "margined_by_model": None if screen is None else screen.deferred,
        }

    def overview(self) -> dict[str, Any]:
        """The venue at a glance (blocking: reads the ledger).

        Returns
        -------
        dict
            ``accounts_by_health`` (health state → user accounts, from the book engine at the
            current market), ``account_count`` (user accounts in the ledger),
            ``total_initial_margin_usd`` and ``total_maintenance_margin_usd`` (sums over the
            accounts, USD), ``insurance_fund_usd`` (the insurance fund's balances valued at the
            index, stablecoins at 1), ``last_tick`` (``time``, ``index_usd``, ``dvol_pct``;
            ``None`` before the first tick), ``liquidations`` (``count`` and the ``recent`` ten,
            newest first), ``price_history`` (the replayed ticks) and ``enforced_checks``: the
            withdrawals and trades the ledger held to its initial-margin rule since start,
            ``shown_by_engine`` (the book engine showed they pass) and ``margined_by_model``
            (the enforced model decided; ``None`` both when the desk has no margin screen).
        """
        context = self.context
        ledger = context.ledger
        user_accounts = self._user_account_count()
        result = self.book.margins()
        by_health = {state.value: 0 for state in HEALTH_STATES}
        im = mm = 0.0
        held = 0
        if result is not None:
            codes = health_codes(
                np.asarray(result.equity),
                np.asarray(result.maintenance_margin),
                self.liquidations.parameters.health,
            )
            for code, count in zip(*np.unique(codes, return_counts=True), strict=True):
                by_health[HEALTH_STATES[int(code)].value] = int(count)
            held = int(codes.shape[0])
            im = float(np.sum(result.initial_margin))
            mm = float(np.sum(result.maintenance_margin))
        by_health[HealthState.HEALTHY.value] += user_accounts - held  # nothing held: no margin
        market = context.market.current()
        fund = ledger.balances(ledger.system_account_id(AccountKind.INSURANCE))
        fund_usd = sum(
            (
                float(amount) * (1.0 if currency in STABLECOINS else market.index(currency))
                for currency, amount in fund.items()
            ),
            0.0,
        )
        total, recent = self.liquidations.page(10, 0)
        with self._lock:
            last = None if self.state.last_tick is None else dict(self.state.last_tick)
            history = [
                {"time": t["time"], "index_usd": t["index_usd"], "dvol_pct": t["dvol_pct"]}
                for t in self.state.ticks
            ]
        if last is None:
            last = {
                "time": market.valuation_time.isoformat().replace("+00:00", "Z"),
                "index_usd": {a: market.index(a) for a in sorted(market.index_usd)},
                "dvol_pct": None,
            }
        return {
            "accounts_by_health": by_health,
            "account_count": user_accounts,
            "total_initial_margin_usd": im,
            "total_maintenance_margin_usd": mm,
            "insurance_fund_usd": fund_usd,
            "insurance_fund": {c: str(a) for c, a in sorted(fund.items())},
            "market_version": context.market.versioned()[0],
            "last_tick": last,
            "enforced_checks": self._enforced_checks(),
            "liquidations": {
                "count": total,
                "recent": [
                    {
                        "liquidation_id": e["liquidation_id"],
                        "account_id": e["account_id"],
                        "health_before": e["health_before"],
                        "health_after": e["health_after"],
                        "market_version": e["market_version"],
                    }
                    for e in recent
                ],
            },
            "price_history": history,
        }


def desk_of_app(app: FastAPI) -> LiveDesk:
    """The live desk installed on ``app``."""
    desk = app.state.live_desk
    assert isinstance(desk, LiveDesk)
    return desk


def _replay_settings() -> tuple[float, float] | None:
    raw = os.environ.get(REPLAY_DAYS_ENV)
    if not raw:
        return None
    return float(raw), float(os.environ.get(REPLAY_PACE_ENV) or "1.0")


def install(app: FastAPI, context: ServiceContext, start: datetime | None = None) -> LiveDesk:
    """Install the live desk on ``app`` (see the module docstring); returns it."""
    from crossmargin.service.dashboard import mount_dashboard

    desk = LiveDesk(context, app.state.liquidations)
    app.state.live_desk = desk
    context.live.book = desk.book
    context.writer.on_commit = desk.on_commit
    context.ledger.margin_screen = desk.margin_screen
    mount_dashboard(app, context, desk)
    settings = _replay_settings()
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[Any]:
        task: asyncio.Task[None] | None = None
        async with inner(application) as state:
            data_dir = find_shared_data_dir()
            if settings is not None and data_dir is not None:
                moment = start or context.market.current().valuation_time
                tape = await asyncio.to_thread(load_tape, data_dir, moment, settings[0])
                task = asyncio.ensure_future(desk.replay(tape, settings[1]))
            try:
                yield state
            finally:
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    app.router.lifespan_context = lifespan
    return desk
