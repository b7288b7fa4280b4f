"""What `send` and `send-followup` share: the command-line options, the clock and the report of a run."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..errors import PressekitError, SourceError
from ..ledger import Delivery
from ..recipients import Recipient

EX_TEMPFAIL = 75


# --- options, clock, report ---------------------------------------------------------------------

@dataclass(frozen=True)
class SendOptions:
    """The command-line switches of `pressekit send`."""

    dry_run: bool = False
    embargo: bool = False         # allow sending before the embargo lifts (the message carries the Sperrfrist)
    resend: bool = False          # start a new round: everyone again, with new Message-IDs
    retry_unknown: bool = False   # send `unknown` rows again, with their Message-ID
    rate: float | None = None     # messages per minute; None: [send] rate; 0: unlimited
    new_ledger: bool = False      # move a damaged ledger aside and start a new one


class SystemClock:
    """The real clock: ledger timestamps, rate limit and backoff waits."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def now(self) -> datetime:
        return datetime.now(timezone.utc).replace(microsecond=0)


@dataclass(frozen=True)
class Selection:
    """Whom a run is for: the recipients chosen, and how many of the list were left out and why."""

    release: str
    recipients: tuple[Recipient, ...]
    suppressed: int = 0           # on the suppression list
    other_tags: int = 0           # no tag in common with the release
    warnings: tuple[SourceError, ...] = ()


@dataclass(frozen=True)
class SendReport:
    """What a run did and where the round stands, for the summary and the exit status: made once, at the end."""

    release: str
    round: int = 1
    listed: int = 0               # recipients of this release after tags and suppression
    sent: int = 0                 # sent in this run
    already: int = 0              # sent by an earlier run of this round
    suppressed: int = 0
    other_tags: int = 0
    new_round: bool = False
    recovered: int = 0            # rows a dead run left in flight, now `unknown`
    outbox: tuple[Path, ...] = ()
    warnings: tuple[SourceError, ...] = ()
    open: Mapping[str, Delivery] = field(default_factory=dict)   # deferred/failed/unknown rows at the end
    stopped: str = ""             # why the run stopped early (server unreachable)
    set_aside: str = ""           # where --new-ledger moved the damaged ledger
    left: int = 0                 # subscribers who left while the run went on: not sent

    def count(self, state: str) -> int:
        return sum(1 for d in self.open.values() if d.state == state)

    @property
    def skipped(self) -> int:
        return self.suppressed + self.other_tags + self.already

    @property
    def exit_code(self) -> int:
        """0 all delivered; 1 failed or unknown (a person must decide); 75 deferred (run again later)."""
        if self.count("failed") or self.count("unknown"):
            return 1
        return EX_TEMPFAIL if self.count("deferred") or self.count("pending") else 0


class SendDeferred(PressekitError):
    """The server could not be reached before anything was sent: try again later (exit 75)."""
