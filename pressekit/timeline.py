"""`pressekit timeline`: what goes live when, and the rebuild schedule that makes it happen.

A static site only changes when it is built: an embargoed release goes online with the first
build after its embargo lifts. `--cron` and `--systemd` print schedules that build at exactly
those moments.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from .config import Config
from .dates import weekday_time
from .errors import PressekitError
from .model import Release, age_order
from .text import NOT_IN_LINE

# Whatever could end a line of a crontab or unit file, or hide text on a terminal.


def one_line(value: object) -> str:
    """`value` as text that cannot start a new line: line breaks and control characters become \\uXXXX."""
    return NOT_IN_LINE.sub(lambda m: f"\\u{ord(m.group()):04x}", str(value))


def _site_path(site: Path) -> str:
    """The site folder for a schedule; raise PressekitError when its name would break the schedule's lines."""
    if NOT_IN_LINE.search(str(site)):
        raise PressekitError(f"the site folder {one_line(site)} has a line break or control character in its "
                             "path; a schedule cannot name it", "rename the folder")
    return str(site)


@dataclass(frozen=True)
class Timeline:
    """The releases still to come at `now`: scheduled ones by lift time, and drafts."""

    now: datetime
    scheduled: tuple[Release, ...]   # not drafts, published > now; earliest first
    drafts: tuple[Release, ...]      # by id
    later: tuple[Change, ...] = ()   # photo expiries, withdrawals, corrections, press dates ending; earliest first


@dataclass(frozen=True)
class Change:
    """A moment after publication at which a release's output changes."""

    moment: datetime
    release: Release
    what: str        # "Foto läuft ab: kinder.jpg", "Rückruf"


def plan_timeline(releases: list[Release], now: datetime) -> Timeline:
    """Return the releases that go live after `now` (by lift time), the drafts, and the later changes still to
    come: photo expiries, withdrawals, corrections dated ahead, and press dates ending (they move to the archive
    of /termine/). Every moment at which a build changes output/ by itself is in it."""
    scheduled = sorted((r for r in releases if not r.draft and r.published > now), key=age_order)
    drafts = sorted((r for r in releases if r.draft), key=lambda r: r.id)
    later = [Change(p.expires, r, f"Foto läuft ab: {p.file}") for r in releases if not r.draft
             for p in r.photos if p.expires is not None and p.expires > now]
    later += [Change(r.withdrawn.date, r, "Rückruf") for r in releases
              if not r.draft and r.withdrawn is not None and r.withdrawn.date > now]
    later += [Change(c.date, r, "Korrektur erscheint") for r in releases if not r.draft
              for c in r.corrections if c.date > now]
    later += [Change(r.event.until, r, "Termin vorbei: rückt auf /termine/ ins Archiv") for r in releases
              if not r.draft and r.event is not None and r.event.until > now]
    return Timeline(now, tuple(scheduled), tuple(drafts),
                    tuple(sorted(later, key=lambda c: (c.moment, c.release.id, c.what))))


def reason(release: Release) -> str:
    """Why a scheduled release is not online yet: 'Sperrfrist' or 'Meldungsdatum'."""
    return "Sperrfrist" if release.embargo is not None and release.embargo >= release.date else "Meldungsdatum"


def format_timeline(timeline: Timeline, config: Config) -> str:
    """The human listing, in German."""
    tz = config.site.tz
    out = [f"Zeitplan, Stand {weekday_time(timeline.now, tz)} ({one_line(config.site.timezone)})", ""]
    if timeline.scheduled:
        out.append("Geht online (mit dem ersten Build ab diesem Zeitpunkt):")
        out.extend(f"  {weekday_time(r.published, tz)}  {reason(r):<13}  {one_line(r.id)}  {one_line(r.title)}"
                   for r in timeline.scheduled)
    else:
        out.append("Keine Meldung mit Sperrfrist oder künftigem Datum.")
    if timeline.later:
        out += ["", "Ändert sich (mit dem ersten Build ab diesem Zeitpunkt):"]
        out.extend(f"  {weekday_time(c.moment, tz)}  {c.release.id}  {c.what}" for c in timeline.later)
    if timeline.drafts:
        out += ["", "Entwürfe (erscheinen erst mit draft: false):"]
        out.extend(f"  {one_line(r.id)}  {one_line(r.title)}" for r in timeline.drafts)
    return "\n".join(out) + "\n"


def lift_times(timeline: Timeline) -> list[tuple[datetime, list[str]]]:
    """Distinct moments at which something goes live or is removed, each with the ids concerned."""
    moments: dict[datetime, list[str]] = {}
    for release in timeline.scheduled:
        moments.setdefault(release.published, []).append(release.id)
    for change in timeline.later:
        if change.release.id not in moments.setdefault(change.moment, []):
            moments[change.moment].append(change.release.id)
    return sorted(moments.items())


def _ceil_minute(value: datetime) -> datetime:
    """cron counts in minutes: a build a little late publishes, a build a little early does not."""
    if value.second or value.microsecond:
        return value.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return value


def cron_lines(timeline: Timeline, config: Config, site: Path) -> str:
    """crontab lines (in the site's time zone) that build the site when each release goes live."""
    tz_name = one_line(config.site.timezone)
    # '%' ends the command in a crontab line unless escaped
    command = f"cd {shlex.quote(_site_path(site))} && pressekit publish".replace("%", "\\%")
    out = [
        f"# pressekit: publish {one_line(config.site.title)} when scheduled releases go live.",
        "# cron has no year: each line runs yearly; run `pressekit timeline --cron` again after changes.",
        "# If cron does not find pressekit, write its full path (see `command -v pressekit`).",
        f"CRON_TZ={tz_name}",
    ]
    for moment, ids in lift_times(timeline):
        local = _ceil_minute(moment.astimezone(config.site.tz))
        out.append(f"# {weekday_time(moment, config.site.tz)}: {one_line(', '.join(ids))}")
        out.append(f"{local.minute} {local.hour} {local.day} {local.month} * {command}")
    if not timeline.scheduled and not timeline.later:
        out.append("# nothing scheduled")
    return "\n".join(out) + "\n"


def systemd_timer(timeline: Timeline, config: Config, site: Path) -> str:
    """A systemd .timer unit with one OnCalendar= per lift time, and the .service it starts (as comments)."""
    tz_name = one_line(config.site.timezone)
    # systemd expands '%' specifiers in unit files; '%%' is a literal '%'
    folder = _site_path(site).replace("%", "%%")
    out = [
        "# pressekit-build.timer: publish (build and mail) when scheduled releases go live.",
        "# Save as ~/.config/systemd/user/pressekit-build.timer, next to pressekit-build.service:",
        "#   [Service]",
        "#   Type=oneshot",
        f"#   WorkingDirectory={folder}",
        "#   ExecStart=pressekit publish",
        "# then: systemctl --user daemon-reload && systemctl --user enable --now pressekit-build.timer",
        "[Unit]",
        f"Description=pressekit: build {one_line(config.site.title).replace('%', '%%')} when releases go live",
        "",
        "[Timer]",
    ]
    for moment, ids in lift_times(timeline):
        local = moment.astimezone(config.site.tz)
        stamp = f"{local:%Y-%m-%d %H:%M:%S}"
        out.append(f"# {one_line(', '.join(ids))}")
        out.append(f"OnCalendar={stamp} {tz_name}")
    if not timeline.scheduled and not timeline.later:
        out.append("# nothing scheduled")
    out += ["AccuracySec=1s", "Persistent=true", "Unit=pressekit-build.service", "",
            "[Install]", "WantedBy=timers.target"]
    return "\n".join(out) + "\n"


__all__ = ["Change", "Timeline", "plan_timeline", "format_timeline", "cron_lines", "systemd_timer",
           "lift_times", "reason"]
