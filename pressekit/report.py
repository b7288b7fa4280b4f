"""`pressekit status <id> --report`: when each outlet's server accepted a release, as a document.

Public bodies must inform all media alike. The report lists, per recipient of the latest round, in
the order the messages were accepted: the time of acceptance (the server's 250 after the message),
the Message-ID and the state, marks messages accepted before the embargo lifted (a pre-send under
`--embargo`), and gives the spread between the first and the last acceptance and the seed that
shuffled the order of sending.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from .ledger import Ledger


@dataclass(frozen=True)
class ReportRow:
    address: str
    name: str
    state: str
    accepted: datetime | None
    message_id: str
    before_embargo: bool


@dataclass(frozen=True)
class SendingReport:
    release: str
    round: int
    seed: str
    rows: tuple[ReportRow, ...]

    @property
    def first(self) -> datetime | None:
        return min((r.accepted for r in self.rows if r.accepted), default=None)

    @property
    def last(self) -> datetime | None:
        return max((r.accepted for r in self.rows if r.accepted), default=None)

    @property
    def spread(self) -> timedelta | None:
        return self.last - self.first if self.first and self.last else None


def sending_report(ledger: Ledger, release_id: str, embargo: datetime | None) -> SendingReport | None:
    """The latest round of the release as a report; None when nothing is recorded."""
    latest = ledger.latest_round(release_id)
    if not latest:
        return None
    rows = []
    for d in ledger.deliveries(release_id, latest).values():
        accepted = datetime.fromisoformat(d.accepted) if d.accepted else None
        state = "unknown" if d.state == "sending" else d.state
        rows.append(ReportRow(d.address, d.name, state, accepted, d.message_id,
                              bool(accepted and embargo and accepted < embargo)))
    # accepted first, in the order of acceptance; the rest after them by address
    rows.sort(key=lambda r: (r.accepted is None, r.accepted.timestamp() if r.accepted else 0.0, r.address))
    return SendingReport(release_id, latest, ledger.recorded_seed(release_id, latest), tuple(rows))


def _time(value: datetime | None, tz: tzinfo) -> str:
    return value.astimezone(tz).isoformat() if value else ""


def _duration(value: timedelta | None) -> str:
    if value is None:
        return "-"
    seconds = int(value.total_seconds())
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def format_csv(report: SendingReport, tz: tzinfo) -> str:
    """One row per recipient: position, accepted, address, name, state, message_id, before_embargo."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["position", "accepted", "address", "name", "state", "message_id", "before_embargo"])
    for n, r in enumerate(report.rows, 1):
        writer.writerow([n, _time(r.accepted, tz), r.address, r.name, r.state, r.message_id,
                         "yes" if r.before_embargo else ""])
    return out.getvalue()


def format_markdown(report: SendingReport, tz: tzinfo, embargo: datetime | None) -> str:
    """The report as a Markdown document: summary lines, then a table of every recipient."""
    accepted = sum(1 for r in report.rows if r.accepted)
    lines = [f"# Versandnachweis {report.release}", "",
             f"- Runde: {report.round}",
             f"- Empfänger: {len(report.rows)}, angenommen: {accepted}",
             f"- Erste Annahme: {_time(report.first, tz) or '-'}",
             f"- Letzte Annahme: {_time(report.last, tz) or '-'}",
             f"- Spanne: {_duration(report.spread)}",
             f"- Reihenfolge zufällig gemischt, Startwert: {report.seed or '-'}"]
    if embargo:
        lines.append(f"- Sperrfrist: {_time(embargo, tz)}")
    lines += ["", "| # | angenommen | Adresse | Name | Status | Message-ID | vor Sperrfrist |",
              "|---|---|---|---|---|---|---|"]
    for n, r in enumerate(report.rows, 1):
        cells = [str(n), _time(r.accepted, tz) or "-", r.address, r.name, r.state, r.message_id,
                 "ja" if r.before_embargo else ""]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
