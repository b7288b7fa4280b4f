"""`pressekit publish`: build the site, then mail each newly public release to the subscribers, once.

Steps:
1. build output/ (a failed build sends nothing);
2. note every release public at `now` that no earlier `publish` has seen, with its decision:
   `send`, or why not (`archive` on the first publish of a site, `send: false`, older than
   `[send] max_age_days`), committed before anything is sent;
3. send each release still marked `send`; the ledger makes a killed or repeated run send only what
   is missing, and a finished release is marked `sent` and never looked at again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from ..build import build_site
from ..releases import load_site
from ..send import SendOptions, SendReport, send_release
from .audience import open_audience
from .site import load_service_site

START = ""   # the row that records the first publish of a site


@dataclass
class PublishReport:
    """What a publish run decided and sent."""

    decided: dict[str, str] = field(default_factory=dict)
    sends: list[SendReport] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return max((r.exit_code for r in self.sends), default=0)


def decide(release_published: datetime, send: bool, first: bool, now: datetime, max_age_days: float) -> str:
    """What publish does with a release it sees public for the first time."""
    if first:
        return "archive"
    if not send:
        return "send: false"
    if now - release_published > timedelta(days=max_age_days):
        return "too old"
    return "send"


def publish(root: Path, now: datetime) -> PublishReport:
    """Build, record newly public releases, send those due; raise BuildFailed/PressekitError on bad input."""
    build_site(root, root / "output", now)
    config, releases = load_site(root)
    report = PublishReport()
    if not config.subscriptions.url:   # no subscribers to mail: publishing is building
        return report
    site = load_service_site(root)
    store = site.open_store()
    try:
        known = store.published()
        first = START not in known
        fresh = [r for r in releases if r.is_public(now) and r.id not in known]
        report.decided = {r.id: decide(r.published, r.send, first, now, config.send.max_age_days) for r in fresh}
        store.record_published({**({START: "start"} if first else {}), **report.decided}, now)
        due = sorted(rid for rid, (decision, _) in store.published().items() if decision == "send")
    finally:
        store.close()
    for release_id in due:
        sent = send_release(root, release_id, None, "the subscribers", now, SendOptions(), audience=open_audience)
        report.sends.append(sent)
        if sent.exit_code == 0:
            store = site.open_store()
            try:
                store.publish_done(release_id, now)
            finally:
                store.close()
    return report
