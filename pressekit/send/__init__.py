"""Sending releases to the editors over SMTP, never losing or doubling a message.

Entered only through this module. `command` checks the input and runs `pressekit send`, `followup`
sends corrections, withdrawals and takedowns to those who received a release, `composer` addresses
the e-mail to each recipient, `delivery` plans the jobs against the ledger and runs the loop,
`smtp` speaks to the server, `options` holds what they share (options, clock, report), `audience` the
shape of the recipients a caller passes in when there is no `--to` list (the site's subscribers: the
subscriptions package uses this one, never the other way round).
"""

from ..paths import OUTBOX
from .audience import Audience, AudienceOpener
from .command import find_release, format_status, format_summary, load_site_config, send_release
from .composer import Composer, envelope_sender
from .delivery import RetryPolicy, shuffle_seed
from .followup import send_followup
from .options import EX_TEMPFAIL, SendDeferred, SendOptions, SendReport, SystemClock
from .smtp import SmtpSession, smtp_password

__all__ = [
    "EX_TEMPFAIL", "OUTBOX", "Audience", "AudienceOpener", "Composer", "RetryPolicy", "SendDeferred", "SendOptions",
    "SendReport", "SmtpSession", "SystemClock", "envelope_sender", "find_release", "format_status", "format_summary",
    "load_site_config", "send_followup", "send_release", "shuffle_seed", "smtp_password",
]
