"""The delivery loop of `pressekit send`: which messages a run sends, and sending them one by one.

Every state change is committed to the ledger before the next SMTP step; deferred messages are tried
again after an exponential backoff, a dropped connection is reopened, and a rate limiter spaces the
transactions. Time comes from a `Clock` (the CLI passes the real one; tests a fake).
"""

from __future__ import annotations

import hashlib
import heapq
import random
import smtplib
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Protocol

from ..errors import PressekitError
from ..ledger import Delivery, Ledger, NewDelivery
from ..model import Release
from ..progress import Report as Progress
from ..recipients import Recipient, Suppressions
from .composer import Composer
from .options import Selection, SendOptions, SendReport
from .smtp import Outcome, SmtpFatal, SmtpSession


@dataclass(frozen=True)
class RetryPolicy:
    """How often a deferred recipient is tried within one run, and the first backoff wait."""

    attempts: int = 4
    backoff: float = 5.0        # seconds; doubles after each try (5, 10, 20 s)
    reconnects: int = 3         # tries to reach the server again after the connection broke


class Clock(Protocol):
    """Where the loop reads the time and waits: send.SystemClock in a real run, a fake one in tests."""

    def monotonic(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...
    def now(self) -> datetime: ...


class RateLimiter:
    """At most `per_minute` transactions a minute, evenly spaced; 0 means no limit."""

    def __init__(self, per_minute: float, clock: Clock):
        self.interval = 60.0 / per_minute if per_minute > 0 else 0.0
        self.clock = clock
        self.next: float | None = None

    def wait(self) -> None:
        if not self.interval:
            return
        now = self.clock.monotonic()
        if self.next is not None and now < self.next:
            self.clock.sleep(self.next - now)
            now = self.next
        self.next = now + self.interval


@dataclass
class Job:
    """One message to send in this run."""

    recipient: Recipient
    message_id: str
    round: int
    tries: int = 0           # SMTP transactions tried in this run
    reconnected: bool = False

    def new_delivery(self) -> NewDelivery:
        return NewDelivery(self.recipient.key, self.recipient.address, self.recipient.name, self.message_id)


@dataclass(frozen=True)
class Plan:
    """What a run sends, from the ledger: the round, and the messages not yet sent in it."""

    round: int
    new_round: bool
    already: int                  # sent by an earlier run of this round
    jobs: tuple[Job, ...]


@dataclass(frozen=True)
class LoopResult:
    """What the delivery loop did beyond the ledger's rows: who was skipped while it ran, why it stopped."""

    sent: int = 0
    suppressed: int = 0           # unsubscribed while the run was under way
    left: int = 0                 # subscribers who left while the run went on: not sent
    stopped: str = ""             # why the run stopped early (server unreachable)


def make_report(selection: Selection, plan: Plan, loop: LoopResult = LoopResult(), *, recovered: int = 0,
                set_aside: str = "", open: Mapping[str, Delivery] | None = None,
                outbox: tuple[Path, ...] = ()) -> SendReport:
    """The report of a run from what each step returned and the ledger's open rows at its end."""
    return SendReport(selection.release, plan.round, listed=len(selection.recipients), sent=loop.sent,
                      already=plan.already, suppressed=selection.suppressed + loop.suppressed,
                      other_tags=selection.other_tags, new_round=plan.new_round, recovered=recovered,
                      outbox=outbox, warnings=selection.warnings, open=open or {}, stopped=loop.stopped,
                      set_aside=set_aside, left=loop.left)


def plan_jobs(ledger: Ledger | None, release: Release, recipients: Sequence[Recipient], composer: Composer,
              options: SendOptions) -> Plan:
    """The messages this run sends: new, pending and deferred rows (and unknown when asked), in the round's order."""
    latest = ledger.latest_round(release.id) if ledger else 0
    rows = ledger.deliveries(release.id, latest) if ledger and latest else {}
    keys = {r.key for r in recipients}
    unfinished = any(d.state in ("pending", "deferred") for k, d in rows.items() if k in keys)
    round, new_round = max(latest, 1), False
    if options.resend and latest and not unfinished:
        round, new_round, rows = latest + 1, True, {}
    # `suppressed` rows: suppressed during an earlier run, but no longer on the suppression list.
    wanted = {"pending", "deferred", "suppressed"} | ({"unknown"} if options.retry_unknown else set())
    jobs, already = [], 0
    for r in shuffled(recipients, shuffle_seed(release.id, round)):
        row = rows.get(r.key)
        # `sending` is only seen read-only (dry run): the next real run turns it into `unknown`.
        state = None if row is None else "unknown" if row.state == "sending" else row.state
        if row is None:
            jobs.append(Job(r, composer.message_id(r, round), round))
        elif state in wanted:
            jobs.append(Job(r, row.message_id, round))
        elif state == "sent":
            already += 1
    return Plan(round, new_round, already, tuple(jobs))


def shuffle_seed(release_id: str, round: int) -> str:
    """The seed of a round's recipient order: fixed per release and round, so the order can be shown again."""
    return hashlib.sha256(f"{release_id}\0{round}".encode("utf-8")).hexdigest()[:16]


def shuffled(recipients: Sequence[Recipient], seed: str) -> list[Recipient]:
    """The recipients in a random order drawn from `seed`: no outlet is always first because of its place in the list."""
    order = sorted(recipients, key=lambda r: r.key)  # independent of the list's order
    random.Random(seed).shuffle(order)
    return order


class DeliveryLoop:
    """The loop: one job at a time, retries due by backoff, every state committed before the next step."""

    def __init__(self, ledger: Ledger, session: SmtpSession, sender: str, composer: Composer, key: str,
                 clock: Clock, retry: RetryPolicy, rate: float, progress: Progress | None,
                 suppressions: Suppressions | None = None):
        self.ledger, self.session, self.sender, self.composer = ledger, session, sender, composer
        self.suppressions = suppressions or Suppressions(None)
        self.key, self.clock, self.retry, self.progress = key, clock, retry, progress
        self.result = LoopResult()
        self.limiter = RateLimiter(rate, clock)
        self.waiting: list[tuple[float, int, Job]] = []   # (due, order, job) of deferred jobs
        self.done = self.total = 0

    def run(self, jobs: Sequence[Job]) -> LoopResult:
        """Send every job (the ledger holds each outcome); return who was skipped and why the run stopped."""
        queue, self.total = deque(jobs), len(jobs)
        self._progress()
        while queue or self.waiting:
            if self.waiting and (not queue or self.waiting[0][0] <= self.clock.monotonic()):
                due, _, job = heapq.heappop(self.waiting)
                if due > self.clock.monotonic():
                    self.clock.sleep(due - self.clock.monotonic())
            else:
                job = queue.popleft()
            if not self._attempt(job):
                self._give_up([job, *queue, *(j for _, _, j in self.waiting)])
                break
        return self.result

    def _attempt(self, job: Job) -> bool:
        """Send one job and record the outcome; False when the server cannot be reached any more."""
        if job.recipient.key in self.suppressions.current():  # unsubscribed while this run was under way
            self._mark(job, "suppressed", f"on {self.suppressions.shown} since the run began")
            self.result = replace(self.result, suppressed=self.result.suppressed + 1)
            self.done += 1
            self._progress()
            return True
        if self.session.smtp is None and not self._reconnect():
            return False
        self.limiter.wait()
        if not self.composer.still_wanted(job.recipient):  # asked after the wait: a subscriber may just have left
            self.ledger.withdraw(self.key, job.round, job.recipient.key)
            self.result = replace(self.result, left=self.result.left + 1)
            self.done += 1
            self._progress()
            return True
        try:  # built now: its Date is the moment it is handed to the server
            message = self.composer.message(job.recipient, job.message_id, self.clock.now())
        except PressekitError as exc:  # the header guard of mail.build_message
            self._record(job, Outcome("failed", f"message not built: {exc}", "build"), final=True)
            return True
        outcome = self.session.deliver(self.sender, job.recipient.address, message,
                                       lambda: self._mark(job, "sending", "", attempt=True))
        if outcome.state == "lost" and not job.reconnected:
            job.reconnected = True  # a server closing idle or full connections: reconnect, try at once
            return self._attempt(job)
        if outcome.stage == "mail" and outcome.state == "failed":
            raise SmtpFatal(f"the SMTP server {self.session.where} refuses the sender {self.sender}: {outcome.reply}")
        job.tries, job.reconnected = job.tries + 1, False
        if outcome.state in ("deferred", "lost") and job.tries < self.retry.attempts:
            self._record(job, outcome, final=False)
            delay = self.retry.backoff * 2 ** (job.tries - 1)
            heapq.heappush(self.waiting, (self.clock.monotonic() + delay, id(job), job))
        else:
            self._record(job, outcome, final=True)
        return True

    def _record(self, job: Job, outcome: Outcome, final: bool) -> None:
        state = "deferred" if outcome.state == "lost" else outcome.state
        # A transaction that reached the body was counted when it was marked `sending`.
        self._mark(job, state, outcome.reply, attempt=outcome.stage not in ("body", "build"))
        if state == "sent":
            self.result = replace(self.result, sent=self.result.sent + 1)
        if final:
            self.done += 1
            self._progress()

    def _mark(self, job: Job, state: str, reply: str, attempt: bool = False) -> None:
        self.ledger.mark(self.key, job.round, job.recipient.key, state, self.clock.now(), reply, attempt)

    def _reconnect(self) -> bool:
        for n in range(self.retry.reconnects):
            try:
                self.session.connect()
                self.result = replace(self.result, stopped="")
                return True
            except (smtplib.SMTPException, OSError) as exc:
                self.result = replace(self.result, stopped=f"cannot reach the SMTP server {self.session.where}: {exc}")
                if n + 1 < self.retry.reconnects:
                    self.clock.sleep(self.retry.backoff * 2 ** n)
        return False

    def _give_up(self, jobs: list[Job]) -> None:
        """The server stays unreachable: leave every remaining job deferred for the next run."""
        for job in jobs:
            self._mark(job, "deferred", f"not sent: {self.result.stopped}")
        self.done += len(jobs)
        self._progress()

    def _progress(self) -> None:
        if self.progress:
            self.progress("Versand", self.done, self.total)
