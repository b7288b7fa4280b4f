"""German dates and times as the press office writes them, always in the site's time zone.

One function per way of writing a moment: the short date of lists and e-mails, the long date of
pages, the Sperrfrist ("15.01.2027, 10:00 Uhr", also "Korrektur vom ..."), the subject prefix of an
embargoed e-mail, the schedule's weekday form and the long form of a press date.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

NEWS_WINDOW = timedelta(days=2)  # Google News lists articles of the last two days (the news sitemap)
WEEKDAYS = ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So")


def day(value: datetime, tz: tzinfo) -> str:
    """'15.01.2027'."""
    return value.astimezone(tz).strftime("%d.%m.%Y")


def day_span(first: datetime, last: datetime, tz: tzinfo) -> str:
    """'03.01.2019 – 28.02.2019', or one date when both fall on the same day."""
    a, b = first.astimezone(tz), last.astimezone(tz)
    return f"{a:%d.%m.%Y} – {b:%d.%m.%Y}" if a.date() != b.date() else f"{a:%d.%m.%Y}"


def clock(value: datetime, tz: tzinfo) -> str:
    """'10:00'."""
    return value.astimezone(tz).strftime("%H:%M")


def lift_time(value: datetime, tz: tzinfo) -> str:
    """A time as embargoes are written in German: '15.01.2027, 10:00 Uhr'."""
    return value.astimezone(tz).strftime("%d.%m.%Y, %H:%M Uhr")


def embargo_prefix(value: datetime, tz: tzinfo) -> str:
    """The subject prefix of an e-mail sent under embargo: 'Sperrfrist 15.01.2027 10:00 Uhr'."""
    return f"Sperrfrist {value.astimezone(tz):%d.%m.%Y %H:%M} Uhr"


def weekday_time(value: datetime, tz: tzinfo) -> str:
    """'Do 03.12.2026, 10:00 Uhr': the schedule of `pressekit plan`."""
    local = value.astimezone(tz)
    return f"{WEEKDAYS[local.weekday()]} {local:%d.%m.%Y, %H:%M} Uhr"


def day_long(value: datetime, tz: tzinfo) -> str:
    """'15. Januar 2027'."""
    from babel.dates import format_date  # babel's locale data loads slowly: only when a page asks

    return format_date(value.astimezone(tz), "d. MMMM y", locale="de_DE")


def time_long(value: datetime, tz: tzinfo) -> str:
    """'15. Januar 2027, 10:00 Uhr'."""
    from babel.dates import format_datetime

    return format_datetime(value.astimezone(tz), "d. MMMM y, HH:mm 'Uhr'", locale="de_DE")


def weekday_time_long(value: datetime, tz: tzinfo) -> str:
    """'Mittwoch, 9. April 2025, 11:30 Uhr': a press date."""
    from babel.dates import format_datetime

    return format_datetime(value.astimezone(tz), "EEEE, d. MMMM y, HH:mm 'Uhr'", locale="de_DE")
