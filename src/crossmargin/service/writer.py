"""Group commit: one thread posts every queued ledger write in one transaction.

Handlers validate a request on the event loop, build the ledger
:class:`~crossmargin.ledger.operations.Operation` and ``await`` :meth:`LedgerWriter.post`. The
writer thread takes everything queued (up to :data:`~crossmargin.ledger.batch.MAX_BATCH`),
posts it with :meth:`Ledger.post_batch` — one lock, one idempotency query, one statement per
table, one commit and fsync for the lot — and answers each request on the event loop. Under load
the batches grow by themselves; alone, a request is a batch of one. A request is answered only
after its batch committed, so a crash never loses an acknowledged posting.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from crossmargin.ledger import EntryRecord, Ledger
from crossmargin.ledger.batch import MAX_BATCH, Outcome
from crossmargin.ledger.operations import Operation

__all__ = ["LedgerWriter"]

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Pending:
    operation: Operation
    idempotency_key: str
    future: asyncio.Future[Outcome]
    loop: asyncio.AbstractEventLoop


def _resolve(answers: list[tuple[asyncio.Future[Outcome], Outcome]]) -> None:
    for future, outcome in answers:
        if not future.done():
            future.set_result(outcome)


class LedgerWriter:
    """The writer thread of one ledger (see the module docstring)."""

    def __init__(self, ledger: Ledger, max_batch: int = MAX_BATCH) -> None:
        self._ledger = ledger
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        #: Called on the writer thread after each commit with the entries it posted (idempotent
        #: replays left out), before any request is answered: the live desk's risk state
        #: (:mod:`crossmargin.service.book_state`) follows the ledger through it.
        self.on_commit: Callable[[list[EntryRecord]], None] | None = None
        self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)
        self._thread.start()

    async def post(self, operation: Operation, idempotency_key: str) -> EntryRecord:
        """Post ``operation``; returns its entry (the original one for a retry) or raises what
        refused it."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        self._queue.put(_Pending(operation, idempotency_key, future, loop))
        outcome = await future
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def _next_batch(self) -> tuple[list[_Pending], bool]:
        first = self._queue.get()
        if first is None:
            return [], True
        batch = [first]
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch, stopping = self._next_batch()
            if not batch:
                continue
            items = [(pending.operation, pending.idempotency_key) for pending in batch]
            outcomes: list[Outcome]
            try:
                outcomes = self._ledger.post_batch(items)
            except Exception as error:  # the whole transaction failed: nothing was written
                outcomes = [error] * len(batch)
            self._committed(outcomes)
            by_loop: defaultdict[
                asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Outcome], Outcome]]
            ] = defaultdict(list)
            for pending, outcome in zip(batch, outcomes, strict=True):
                by_loop[pending.loop].append((pending.future, outcome))
            for loop, answers in by_loop.items():
                if not loop.is_closed():
                    loop.call_soon_threadsafe(_resolve, answers)

    def _committed(self, outcomes: list[Outcome]) -> None:
        hook = self.on_commit
        posted = [o for o in outcomes if isinstance(o, EntryRecord) and not o.idempotent_replay]
        if hook is None or not posted:
            return
        try:
            hook(posted)
        except Exception:  # the ledger committed: a risk-view failure must not fail the writes
            _LOG.exception("live desk: applying committed entries failed")

    def close(self) -> None:
        """Finish what is queued, then stop the thread."""
        self._queue.put(None)
        self._thread.join(timeout=30)
