"""The delivery engine: claim due deliveries, send them, record what happened.

One loop claims batches (``queue.claim``, one short statement), one task per
delivery sends it outside any transaction under a per-endpoint semaphore (the
webhook call or e-mail made by ``calls``), and the outcomes are written in
batches, each taken as soon as it is due (``store.parallel_writes`` at once). A
slow endpoint only fills its own semaphore (``flow.FlowControl`` leaves it out
of claims while its queue is full; rows held too long, or whose lease the
renewals failed to keep, are released unsent), so the rest of the traffic keeps
flowing. A change committed in this process (``porthook serve``) wakes the
claim loop directly; PostgreSQL wakes it from other processes with
LISTEN/NOTIFY (a wake-up shortly after a claim waits ``worker_notify_gap_s``
for more commits; in a pool of worker processes only the first listens);
polling every ``worker_poll_interval_s`` is the fallback (and, across
processes, SQLite's only way): see ``wakeups``. Claims and outcomes go through
``store`` (held connections on PostgreSQL, sessions on SQLite).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import datetime

from porthook.clock import Clock
from porthook.config import Settings
from porthook.db import Database
from porthook.delivery import (
    calls,
    flow,
    formats,
    leases,
    listeners,
    metrics,
    notices,
    queue,
    rules,
    senders,
    service,
    store,
    wakeups,
)
from porthook.delivery.calls import Target
from porthook.delivery.models import Endpoint

log = logging.getLogger(__name__)

FLUSH_DELAY_S = 0.05  # outcomes wait up to this long to share a transaction with others
# ... unless this share of the unrecorded allowance (worker_concurrency) is
# already waiting: sends stop when the allowance is used up, so a fixed pause
# at a high rate would stall them. Half, not a quarter: each outcome statement
# is a commit, whose WAL flush cost PostgreSQL about a millisecond of CPU
# whatever its size (bench/pg_rows.py: 47 us per row in batches of 50, 31 in
# batches of 200), and the other half still leaves sends room meanwhile.
FLUSH_SHARE = 2
FLUSH_RETRIES = 3  # a failed outcome write is retried, then left to the lease expiry
# Beyond the request timeout, on stop: a call times out up to a second late
# (http_client.WATCH_SHARE), and its outcome still needs recording.
DRAIN_GRACE_S = 2.0
PROBE_BACKOFF_MAX_S = 5.0  # longest pause between probes for other endpoints that find nothing
# A claimed row waits in this worker (its lease renewed) at most this long
# before it is sent; after that it is given back (see rules.may_send).
HOLD_MAX_S = 60.0


# A webhook call's body and headers, made at claim time (None: made at send time).
_Prepared = calls.WebhookCall | None


class _Lane:
    """An endpoint's rows waiting in this worker, and the runners sending them.

    At most ``cap`` runner tasks per endpoint, each sending one row after
    another: no task, semaphore or wake-up per row.
    """

    __slots__ = ("cap", "rows", "running")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.rows: deque[tuple[queue.Claimed, formats.EventView, Target, _Prepared]] = deque()
        self.running = 0


class Dispatcher:
    def __init__(
        self, settings: Settings, *, database: Database, clock: Clock,
        random_source: Callable[[], float] = random.random,
        mail: senders.MailSender | None = None,
        contact_fallback: notices.ContactLookup | None = None,
        wake_role: wakeups.WakeRole = "alone",
    ) -> None:
        self.settings = settings
        self.database = database
        self.clock = clock
        self._random = random_source
        self._http = senders.HttpSender(settings)
        self._store = store.for_database(database)
        self._leases = leases.Leases(store=self._store, clock=clock,
                                     lease_s=settings.worker_lease_s)
        self._mail = mail or senders.mail_sender(settings)
        self._contact_fallback = contact_fallback
        self._wakeups = wakeups.Wakeups(
            database_url=database.url, notify=self._store.notify, role=wake_role,
            notify_gap_s=settings.worker_notify_gap_s,
            poll_interval_s=settings.worker_poll_interval_s)
        self._outcomes: list[queue.Outcome] = []
        self._writes: set[asyncio.Task[None]] = set()
        # Fires FLUSH_DELAY_S after the first outcome of a batch came.
        self._flush_timer: asyncio.TimerHandle | None = None
        self._overdue = False  # that timer fired: the waiting outcomes go at the next chance
        self._flush_at = max(1, min(settings.worker_batch_size,
                                    settings.worker_concurrency // FLUSH_SHARE))
        self._closing = False
        self._stopping = False  # runners take no new row
        self._tasks: set[asyncio.Task[None]] = set()
        # A token is held from the start of a send until its outcome is
        # written: at most worker_concurrency rows are ever sent-but-unrecorded,
        # which bounds what a kill -9 can make us send twice.
        self._tokens = asyncio.Semaphore(settings.worker_concurrency)
        self._unrecorded = 0
        self._writing = 0  # unrecorded rows whose outcomes are being written
        self._lanes: dict[uuid.UUID, _Lane] = {}
        # Token buckets of rate-limited endpoints (rules.take_token), by endpoint.
        self._buckets: dict[uuid.UUID, rules.Bucket] = {}
        self._flow = flow.FlowControl(batch_size=settings.worker_batch_size)
        self._watch: set[uuid.UUID] = set()  # endpoints left out of the last claim
        # The last claim was cut short by unrecorded rows or a full queue: the
        # next flush makes room, so it wakes the claim loop.
        self._starved = False
        # A lane ran dry since the last claim: its endpoint is no longer among
        # the wanted ones, and only a probe finds its next rows.
        self._emptied = False
        self._telnyx_key: bytes | None = None
        self._probe = flow.Backoff(base_s=settings.worker_poll_interval_s,
                                   max_s=PROBE_BACKOFF_MAX_S)
        self._monotonic: Callable[[], float] = time.monotonic  # the loop's, once running

    async def run(self, stop: asyncio.Event) -> None:
        # The loop's clock, looked up once: it is read twice per delivery.
        self._monotonic = asyncio.get_running_loop().time
        await self._http.start()
        # Changes committed in this process (porthook serve) wake it at once.
        unlisten = self.database.on_wake(self._wakeups.on_notify)
        # Until the last outcome is written (cancelled with the other helpers).
        helpers = [asyncio.create_task(self._wakeups.wake_on(stop)),
                   asyncio.create_task(self._leases.keep())]
        if self.database.is_postgres:
            helpers.append(asyncio.create_task(self._wakeups.listen(stop)))
        try:
            await self._claim_loop(stop)
        finally:
            unlisten()
            await self._drain()
            self._closing = True
            await self._write_the_rest()
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            await self._http.close()
            await self._store.close()

    async def _claim_loop(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            self._wakeups.rearm()
            room = self._room()
            now = loop.time()
            full = self._flow.full_endpoints(now)
            # With an endpoint held here full, a due-order claim leaving it out
            # would scan past its backlog: claims go endpoint by endpoint, for
            # the held ones with room and, through a probe, for others. Probes
            # are spaced out while they come back empty; a NOTIFY (new rows
            # somewhere) always probes.
            wanted = self._open_lanes(set(full), now) if full else []
            probe = (not full or self._wakeups.notified or self._emptied
                     or self._probe.allows(now))
            if full and not wanted and not probe:
                room = 0
            again = False
            if room > 0:
                # A NOTIFY and a lane run dry are kept until a claim runs: one
                # cut short by the allowance would otherwise lose them, and
                # nothing else wakes the loop.
                self._emptied = False
                self._wakeups.claiming(loop.time())
                try:
                    again, elsewhere = await self._claim_and_start(room, full, wanted, probe)
                except Exception:  # the database may be briefly away: poll again
                    log.exception("claiming deliveries failed")
                else:
                    # Only a probe's own yield says whether probing pays.
                    if full and probe and elsewhere == 0:
                        self._probe.barren(loop.time())
                    elif full and probe:
                        self._probe.reset()
            elif self._wakeups.notified:
                await self._wakeups.maybe_wake_siblings(claimed=0, room=0)
            if not again:
                await self._wakeups.sleep()
                await self._wakeups.gather_notifies()

    def _open_lanes(self, full: set[uuid.UUID], now: float) -> list[tuple[uuid.UUID, int]]:
        """The endpoints held here that are not full, and the rows each may take."""
        return [(endpoint_id, room) for endpoint_id in self._lanes if endpoint_id not in full
                and (room := self._flow.room(endpoint_id, now)) > 0]

    def _room(self) -> int:
        """A whole batch unless the rows waiting here are at their cap. Not cut
        by the unrecorded allowance: that bounds what is sent before its
        outcome is written, not what waits to be sent, and a worker whose
        claims shrank with it found its lanes empty when a flush gave the
        allowance back, every send then waiting for a claim's round trip (a
        third of the time in a drain, and half the claims' rows)."""
        batch = self.settings.worker_batch_size
        room = 0 if self._flow.queue_full() else batch
        self._starved = room < batch
        return room

    async def _claim_and_start(
        self, room: int, full: list[uuid.UUID], wanted: list[tuple[uuid.UUID, int]],
        probe: bool,
    ) -> tuple[bool, int]:
        """Claim and start a batch (see ``store.Store.claim``); whether to
        claim again at once, and how many rows came for endpoints not held here.

        Not again when the batch came short (nothing more is due), nor when
        every endpoint in it is now full: the next claim would leave them all
        out. Their draining, a NOTIFY, a flush that makes room, or the poll
        interval wakes the loop.
        """
        if self._telnyx_key is None:
            async with self.database.sessions() as session:
                self._telnyx_key = await service.signing_key(session, now=self.clock.now())
                await session.commit()
        now = self.clock.now()
        held = set(self._lanes)
        claimed, rows = await self._store.claim(
            now=now, limit=room, lease_s=self.settings.worker_lease_s, full=full,
            wanted=wanted, probe=probe)
        targets = {row["id"]: calls.target_of(row, now=now,
                                              default_cap=self.settings.endpoint_concurrency)
                   for row in rows}
        metrics.CLAIM_BATCH_SIZE.observe(len(claimed))
        kept = [(item, view, target) for item, view in claimed
                if (target := targets.get(item.endpoint_id)) is not None]
        self._leases.hold([item for item, _, _ in kept])
        for item, view, target in kept:
            self._start(item, view, target, self._prepare(item, view, target, now))
        # Whoever this claim left out as full, is full now, or got rows wakes
        # the loop once drained to half: an endpoint claimed for up to its
        # room only, or left out, may no longer be full by the time the claim
        # returns, and would otherwise run dry unnoticed with its backlog due.
        full_now = set(self._flow.full_endpoints(asyncio.get_running_loop().time()))
        self._watch = set(full) | full_now | set(targets)
        elsewhere = sum(1 for item, _ in claimed if item.endpoint_id not in held)
        # After the sends have started: they need not wait for this round trip.
        await self._wakeups.maybe_wake_siblings(claimed=len(claimed), room=room)
        return len(claimed) == room and bool(set(targets) - full_now), elsewhere

    def _prepare(
        self, item: queue.Claimed, view: formats.EventView, target: Target, now: datetime
    ) -> _Prepared:
        """Body and signed headers of a webhook call, for the whole batch in one
        go: formatting and signing cost two to three times as much when
        interleaved with the sends (measured). Signed at claim time, a call
        carries a timestamp at most HOLD_MAX_S old, well inside the verifiers'
        five-minute tolerance."""
        if (target.channel != "webhook" or not target.enabled
                or not formats.supports(target.format, view.type)):
            return None
        try:
            return calls.webhook_call(item, view, target, now=now, telnyx_key=self._telnyx_key)
        except Exception:  # made again at send time, where a failure is recorded
            return None

    def _start(self, item: queue.Claimed, view: formats.EventView, target: Target,
               prepared: _Prepared) -> None:
        lane = self._lanes.get(target.id)
        if lane is None:
            lane = self._lanes[target.id] = _Lane(target.cap)
        lane.cap = target.cap  # as last read: a changed max_concurrency applies at once
        lane.rows.append((item, view, target, prepared))
        self._flow.wait(target.id, target.cap, target.rate_limit_per_s)
        if lane.running < lane.cap:
            lane.running += 1
            task = asyncio.create_task(self._run_lane(target.id, lane))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run_lane(self, endpoint_id: uuid.UUID, lane: _Lane) -> None:
        try:
            while lane.rows and not self._stopping and lane.running <= lane.cap:
                # Checked here, not in _take_turn: no coroutine per row unless limited.
                if (lane.rows[0][2].rate_limit_per_s is not None
                        and not await self._take_turn(endpoint_id, lane)):
                    break
                item, view, target, prepared = lane.rows.popleft()
                self._flow.stop_waiting(endpoint_id)
                await self._tokens.acquire()  # released once its outcome is written
                self._unrecorded += 1
                self._record(await self._attempt_safely(item, view, target, prepared))
                self._finished(endpoint_id)
        finally:
            lane.running -= 1
            if lane.running == 0 and not lane.rows and self._lanes.get(endpoint_id) is lane:
                del self._lanes[endpoint_id]
                self._flow.forget(endpoint_id)
                # The wake-up its draining gave may find the lane gone (the
                # loop came late: a busy machine), and with another endpoint
                # full and the probes backed off, that claim would take
                # nothing and sleep a whole poll interval.
                self._emptied = True

    async def _take_turn(self, endpoint_id: uuid.UUID, lane: _Lane) -> bool:
        """Wait for the endpoint's rate limit, if it has one: whether a row is
        still there to send after the wait. The bucket outlives the lane, so a
        lane that empties and fills again does not start with a fresh burst."""
        rate = lane.rows[0][2].rate_limit_per_s
        assert rate is not None
        now = asyncio.get_running_loop().time()
        wait_s, self._buckets[endpoint_id] = rules.take_token(
            self._buckets.get(endpoint_id), now=now, rate_per_s=rate)
        if wait_s > 0:
            await asyncio.sleep(wait_s)
        return bool(lane.rows) and not self._stopping

    def _record(self, outcome: queue.Outcome) -> None:
        self._outcomes.append(outcome)
        if self._flush_due():
            self._start_write()
        elif self._flush_timer is None and not self._overdue:
            self._flush_timer = asyncio.get_running_loop().call_later(
                FLUSH_DELAY_S, self._flush_late)

    def _flush_due(self) -> bool:
        """Enough outcomes wait to share a commit, or no send is in flight
        whose outcome could join them: a batch's last outcome, or a quiet
        stream's only one, is not kept waiting for company that is not coming."""
        waiting = len(self._outcomes)
        return waiting >= self._flush_at or waiting == self._unrecorded - self._writing

    def _flush_late(self) -> None:
        self._flush_timer = None
        self._overdue = True
        self._start_write()

    def _start_write(self) -> None:
        """Take the waiting outcomes as one batch and write them, unless
        ``parallel_writes`` batches are being written: then the first of them
        to finish takes them. Taken here, when the outcome that makes them
        due is recorded: a flusher task woken through events came two or
        three turns of a busy event loop later (10 to 20 ms in a drain), while
        sends waited for the allowance its batch held."""
        if not self._outcomes or len(self._writes) >= self._store.parallel_writes:
            return
        batch, self._outcomes = self._outcomes, []
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        self._overdue = False
        self._writing += len(batch)
        write = asyncio.create_task(self._write_and_release(batch))
        self._writes.add(write)
        write.add_done_callback(self._written)

    def _written(self, write: asyncio.Task[None]) -> None:
        self._writes.discard(write)
        if self._outcomes and (self._overdue or self._closing or self._flush_due()):
            self._start_write()

    def _finished(self, endpoint_id: uuid.UUID) -> None:
        if endpoint_id in self._watch and self._flow.drained(
                endpoint_id, asyncio.get_running_loop().time()):
            self._watch.discard(endpoint_id)
            self._wakeups.wake_now()  # room again for an endpoint the last claim left out

    async def _attempt_safely(
        self, item: queue.Claimed, view: formats.EventView, target: Target, prepared: _Prepared
    ) -> queue.Outcome:
        try:
            return await self._attempt(item, view, target, prepared)
        except Exception as error:  # never lose the row: record the failure
            log.exception("delivery %s failed unexpectedly", item.id)
            return queue.Outcome(claimed=item, attempted_at=self.clock.now(),
                                 delivered_to=target.address, error=f"internal: {error}",
                                 event_type=view.type)

    async def _attempt(
        self, item: queue.Claimed, view: formats.EventView, target: Target, prepared: _Prepared
    ) -> queue.Outcome:
        now = self.clock.now()
        if not target.enabled:
            return queue.Outcome(claimed=item, attempted_at=now, skipped="held",
                                 event_type=view.type)
        if target.channel == listeners.CHANNEL:
            # Its stream claims it (delivery.listeners); a worker never calls it.
            return queue.Outcome(claimed=item, attempted_at=now, skipped="parked")
        if target.channel == "webhook" and not formats.supports(target.format, view.type):
            return queue.Outcome(claimed=item, attempted_at=now, skipped="unsupported",
                                 event_type=view.type)
        if not rules.may_send(claimed_at=self._leases.claimed_at(item),
                              lease_expires_at=self._leases.expires_at(item), now=now,
                              lease_s=self._leases.lease_s, hold_max_s=HOLD_MAX_S):
            return queue.Outcome(claimed=item, attempted_at=now, skipped="released")
        clock = self._monotonic
        self._flow.started(target.id, item.id, clock())
        try:
            if target.channel == "email":
                result = await calls.send_mail(item, view, target, mail=self._mail,
                                               sender=self.settings.mail_from, clock=self.clock)
            else:
                body, headers = prepared or calls.webhook_call(
                    item, view, target, now=now, telnyx_key=self._telnyx_key)
                result = await self._http.post(target.address, body, headers)
        finally:
            self._flow.finished(target.id, item.id, clock())
        self._observe(target, result)
        return queue.Outcome(
            claimed=item, attempted_at=now, duration_ms=result.duration_ms,
            delivered_to=target.address, status_code=result.status_code,
            response_excerpt=result.response_excerpt, error=result.error,
            retry_after=result.retry_after, endpoint_was_failing=target.failing,
            event_type=view.type,
        )

    def _observe(self, target: Target, result: senders.SendResult) -> None:
        metrics.ATTEMPT_SECONDS.observe(result.duration_ms / 1000)
        ok = rules.succeeded(result.status_code, result.error)
        metrics.attempts_counter(ok=ok, channel=target.channel).inc()

    async def _write_the_rest(self) -> None:
        """On stop, once no send is left: every outcome still waiting, written."""
        while self._outcomes or self._writes:
            self._start_write()
            await asyncio.wait(set(self._writes))

    async def _write_and_release(self, batch: list[queue.Outcome]) -> None:
        try:
            await self._write(batch)
        except Exception:  # telling an owner failed: the outcomes are written
            log.exception("after recording %d outcomes", len(batch))
        finally:
            # Written, or left to its lease's expiry.
            self._leases.let_go([outcome.claimed for outcome in batch])
            self._writing -= len(batch)
            self._unrecorded -= len(batch)
            for _ in batch:
                self._tokens.release()
            # Room for a claim that was cut short; a finished row may
            # also unblock the next of a strictly ordered subject.
            if self._starved or any(o.claimed.ordered for o in batch):
                self._wakeups.wake_now()

    async def _write(self, batch: list[queue.Outcome]) -> None:
        for attempt in range(FLUSH_RETRIES):
            try:
                disabled = await self._store.record(batch, now=self.clock.now(),
                                                    settings=self.settings, random=self._random)
                break
            except Exception:  # leases expire and the rows are sent again: at least once
                log.exception("recording %d outcomes failed (try %d)", len(batch), attempt + 1)
                await asyncio.sleep(0.1 * (attempt + 1))
        else:
            return
        for endpoint in disabled:
            await self._tell_owner(endpoint)

    async def _tell_owner(self, endpoint: Endpoint) -> None:
        await notices.tell_endpoint_disabled(database=self.database, mail=self._mail,
                                             settings=self.settings, endpoint=endpoint,
                                             fallback=self._contact_fallback)

    async def _drain(self) -> None:
        """Finish the sends under way; give back the rows not started yet."""
        self._stopping = True
        for lane in self._lanes.values():
            while lane.rows:
                item, _, target, _ = lane.rows.popleft()
                self._flow.stop_waiting(target.id)
                # Counted as unrecorded like a sent row; the write's token
                # release for it is harmless now that nothing claims any more.
                self._unrecorded += 1
                self._record(queue.Outcome(claimed=item, attempted_at=self.clock.now(),
                                           skipped="released"))
        if not self._tasks:
            return
        _, late = await asyncio.wait(set(self._tasks),
                                     timeout=self.settings.request_timeout_s + DRAIN_GRACE_S)
        for task in late:  # their leases expire and another worker sends them
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
