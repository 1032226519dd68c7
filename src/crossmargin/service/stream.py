"""Fan-out of margin triggers to WebSocket subscribers (one process, one event loop).

Every account write the service posts (trade, deposit, withdrawal) triggers that account's
subscribers; every market update triggers all of them. A subscriber owns a queue of triggers;
its connection task takes everything queued at once, margins the account once, and sends one
message naming every trigger it covers — a slow client gets fewer, fresher messages, never a
backlog, and no trigger goes unreported. All methods run on the event loop's thread.

Amplification is bounded twice: a key may hold at most ``max_per_key`` subscriptions (and the
process ``max_total``); and an account's margin under one model is computed once per change
(:meth:`MarginStream.shared`) — every subscriber waiting for the same account, model, account
revision and market revision awaits the same computation and sends the same bytes.

An account's holdings are read from the ledger once per account revision (:meth:`MarginStream.
holdings`, :meth:`MarginStream.keep_holdings`): a market update re-margins the holdings read
last (every write the service posts for the account — trade, deposit, withdrawal, liquidation —
bumps its revision, so the next message reads them again). A tick then costs each moved account
its margin run and rendering, not a ledger read.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

__all__ = ["EVENT_KEY", "MarginStream", "Subscription", "Trigger"]

#: What caused an update: ``{"kind": "trade", "entry_id": 7}``, ``{"kind": "market",
#: "market_version": 3}``, ``{"kind": "subscribed"}``.
Trigger = dict[str, Any]

#: The key of a trigger that carries a message to send as is, before the margin update (a
#: liquidation event, rendered once and shared by every subscriber of the account).
EVENT_KEY = "_event"


class Subscription:
    """One connection's queue of triggers for one account and model."""

    def __init__(self, account_id: int, model: str, owner: str = "") -> None:
        self.account_id = account_id
        self.model = model
        self.owner = owner
        self._queue: asyncio.Queue[Trigger | None] = asyncio.Queue()

    def push(self, trigger: Trigger | None) -> None:
        """Queue a trigger (``None`` ends the subscription)."""
        self._queue.put_nowait(trigger)

    async def next_batch(self) -> list[Trigger] | None:
        """Wait for a trigger and return it with every other one queued; ``None`` once the
        stream is closed."""
        first = await self._queue.get()
        batch = [first]
        while not self._queue.empty():
            batch.append(self._queue.get_nowait())
        if any(trigger is None for trigger in batch):
            return None
        return [trigger for trigger in batch if trigger is not None]


class MarginStream:
    """Subscribers by account (see the module docstring for the bounds)."""

    def __init__(self, max_per_key: int = 8, max_total: int = 10_000) -> None:
        self.max_per_key = max_per_key
        self.max_total = max_total
        self._subscribers: defaultdict[int, set[Subscription]] = defaultdict(set)
        self._per_owner: Counter[str] = Counter()
        self._closed = False
        self._account_revisions: Counter[int] = Counter()
        self._market_revision = 0
        self._computations: dict[tuple[int, str], tuple[tuple[int, int], asyncio.Future[str]]] = {}
        self._holdings: dict[int, tuple[int, Any]] = {}

    def subscribe(self, account_id: int, model: str, owner: str = "") -> Subscription | None:
        """A new subscription for the key ``owner`` (already closed when the stream is), or
        ``None`` when the key or the process holds the most subscriptions allowed."""
        if self._per_owner[owner] >= self.max_per_key or self.subscriber_count() >= self.max_total:
            return None
        subscription = Subscription(account_id, model, owner)
        if self._closed:
            subscription.push(None)
        else:
            self._subscribers[account_id].add(subscription)
            self._per_owner[owner] += 1
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget ``subscription``."""
        group = self._subscribers.get(subscription.account_id)
        if group is not None and subscription in group:
            group.discard(subscription)
            self._per_owner[subscription.owner] -= 1
            if self._per_owner[subscription.owner] <= 0:
                del self._per_owner[subscription.owner]
            if not group:
                del self._subscribers[subscription.account_id]
                self._computations = {
                    k: v for k, v in self._computations.items() if k[0] != subscription.account_id
                }
                self._holdings.pop(subscription.account_id, None)

    async def shared(
        self, account_id: int, model: str, compute: Callable[[], Awaitable[str]]
    ) -> str:
        """The account's margin message body under ``model`` at the current revisions:
        computed by the first caller, awaited by every other one."""
        revision = (self._account_revisions[account_id], self._market_revision)
        found = self._computations.get((account_id, model))
        if found is not None and found[0] == revision:
            return await asyncio.shield(found[1])
        future: asyncio.Future[str] = asyncio.ensure_future(compute())
        self._computations[(account_id, model)] = (revision, future)
        return await asyncio.shield(future)

    def account_revision(self, account_id: int) -> int:
        """How many writes of the account the stream has been told of (0 at first)."""
        return self._account_revisions[account_id]

    def holdings(self, account_id: int) -> Any | None:
        """The account's holdings kept at its current revision, or ``None`` (read them)."""
        found = self._holdings.get(account_id)
        if found is None or found[0] != self._account_revisions[account_id]:
            return None
        return found[1]

    def keep_holdings(self, account_id: int, revision: int, holdings: Any) -> None:
        """Keep ``holdings`` read at ``revision`` (:meth:`account_revision` taken before the
        read, so a write told of meanwhile makes them stale) while the account has
        subscribers."""
        if account_id in self._subscribers and revision == self._account_revisions[account_id]:
            self._holdings[account_id] = (revision, holdings)

    def subscriber_count(self) -> int:
        """How many subscriptions are open."""
        return sum(len(group) for group in self._subscribers.values())

    def publish_account(self, account_id: int, trigger: Trigger) -> None:
        """Trigger the subscribers of one account."""
        self._account_revisions[account_id] += 1
        for subscription in self._subscribers.get(account_id, ()):
            subscription.push(trigger)

    def publish_event(self, account_id: int, message: str, trigger: Trigger) -> None:
        """Send ``message`` (JSON text, built once: every subscriber gets the same bytes) to the
        subscribers of one account, followed by a margin update naming ``trigger``."""
        self._account_revisions[account_id] += 1
        for subscription in self._subscribers.get(account_id, ()):
            subscription.push({**trigger, EVENT_KEY: message})

    def publish_all(self, trigger: Trigger) -> None:
        """Trigger every subscriber (a market update)."""
        self._market_revision += 1
        for group in self._subscribers.values():
            for subscription in group:
                subscription.push(trigger)

    def publish_market(self, account_ids: Iterable[int], trigger: Trigger) -> None:
        """A market update that changed only ``account_ids``' margin: every account's cached
        margin is stale, but only their subscribers are triggered (one computation per account,
        shared by its subscribers)."""
        self._market_revision += 1
        for account_id in account_ids:
            for subscription in self._subscribers.get(account_id, ()):
                subscription.push(trigger)

    def close(self) -> None:
        """End every subscription (server shutdown)."""
        self._closed = True
        for group in self._subscribers.values():
            for subscription in group:
                subscription.push(None)
        self._subscribers.clear()
