"""Fan-out of margin triggers to WebSocket subscribers (one process, one event loop).

Every account write the service posts (trade, deposit, withdrawal) triggers that account's
subscribers; every market update triggers all of them. A subscriber owns a queue of triggers;
its connection task takes everything queued at once, margins the account once, and sends one
message naming every trigger it covers — a slow client gets fewer, fresher messages, never a
backlog, and no trigger goes unreported. All methods run on the event loop's thread.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

__all__ = ["MarginStream", "Subscription", "Trigger"]

#: What caused an update: ``{"kind": "trade", "entry_id": 7}``, ``{"kind": "market",
#: "market_version": 3}``, ``{"kind": "subscribed"}``.
Trigger = dict[str, Any]


class Subscription:
    """One connection's queue of triggers for one account and model."""

    def __init__(self, account_id: int, model: str) -> None:
        self.account_id = account_id
        self.model = model
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
    """Subscribers by account."""

    def __init__(self) -> None:
        self._subscribers: defaultdict[int, set[Subscription]] = defaultdict(set)
        self._closed = False

    def subscribe(self, account_id: int, model: str) -> Subscription:
        """A new subscription (already closed when the stream is)."""
        subscription = Subscription(account_id, model)
        if self._closed:
            subscription.push(None)
        else:
            self._subscribers[account_id].add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget ``subscription``."""
        group = self._subscribers.get(subscription.account_id)
        if group is not None:
            group.discard(subscription)
            if not group:
                del self._subscribers[subscription.account_id]

    def subscriber_count(self) -> int:
        """How many subscriptions are open."""
        return sum(len(group) for group in self._subscribers.values())

    def publish_account(self, account_id: int, trigger: Trigger) -> None:
        """Trigger the subscribers of one account."""
        for subscription in self._subscribers.get(account_id, ()):
            subscription.push(trigger)

    def publish_all(self, trigger: Trigger) -> None:
        """Trigger every subscriber (a market update)."""
        for group in self._subscribers.values():
            for subscription in group:
                subscription.push(trigger)

    def close(self) -> None:
        """End every subscription (server shutdown)."""
        self._closed = True
        for group in self._subscribers.values():
            for subscription in group:
                subscription.push(None)
        self._subscribers.clear()
