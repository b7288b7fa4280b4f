"""The SMTP side of `pressekit send`: one reusable session (TLS, AUTH, timeouts), one transaction at a time.

A transaction ends in an `Outcome`: sent, deferred (4xx), failed (5xx), lost (the connection broke
before the body: safe to try again) or unknown (no reply after the body: the server may have it).
Lasting problems (login refused, untrusted certificate, no STARTTLS) raise `SmtpFatal`.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..config import Smtp
from ..errors import PressekitError


@dataclass(frozen=True)
class Outcome:
    """The result of one SMTP transaction: sent, deferred, failed, unknown or lost (before the body)."""

    state: str
    reply: str
    stage: str    # where it ended: mail, rcpt, data, body (after `sending` was recorded), build


class SmtpFatal(PressekitError):
    """A problem that stops the run at once: authentication, TLS, a refused sender."""


class SmtpSession:
    """One reusable SMTP connection (reopened after a drop), speaking smtplib one command at a time."""

    def __init__(self, settings: Smtp, password: str | None):
        self.settings, self.password = settings, password
        self.smtp: smtplib.SMTP | None = None
        self.context: ssl.SSLContext | None = None

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def connect(self) -> None:
        """Open, EHLO, STARTTLS and AUTH; raise SmtpFatal for lasting problems, OSError/SMTPException else."""
        s = self.settings
        if (s.tls or s.starttls) and self.context is None:
            self.context = ssl.create_default_context()  # system CAs; slow to load, so made once
        context = self.context
        try:
            if s.tls:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            self.smtp = smtp
            smtp.ehlo_or_helo_if_needed()
            if s.starttls:
                if not smtp.has_extn("starttls"):
                    raise SmtpFatal(f"the SMTP server {self.where} does not offer STARTTLS ([smtp] starttls = true)")
                smtp.starttls(context=context)
                smtp.ehlo()
            if s.username:
                self._login(smtp)
        except ssl.SSLCertVerificationError as exc:
            self.close()
            raise SmtpFatal(f"the TLS certificate of {self.where} cannot be trusted: {exc.verify_message}") from exc
        except BaseException:
            self.close()
            raise

    def _login(self, smtp: smtplib.SMTP) -> None:
        try:
            smtp.login(self.settings.username, self.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise SmtpFatal(f"the SMTP server {self.where} refused the login of {self.settings.username!r}: "
                            f"{_reply(exc.smtp_code, exc.smtp_error)}") from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise SmtpFatal(f"the SMTP server {self.where} offers no AUTH here"
                            + ("" if self.settings.starttls or self.settings.tls else
                               " (it may want TLS first: [smtp] starttls = true)")) from exc

    def supports(self, extension: str) -> bool:
        return self.smtp is not None and self.smtp.has_extn(extension)

    def deliver(self, sender: str, recipient: str, message: bytes, on_body: Callable[[], None]) -> Outcome:
        """One transaction; `on_body` runs after the server's 354, just before the body goes out."""
        smtp = self.smtp
        assert smtp is not None
        options = ["SMTPUTF8", "BODY=8BITMIME"] if not recipient.isascii() else []
        steps: list[tuple[str, Callable[[], tuple[int, bytes]], tuple[int, ...]]] = [
            ("mail", lambda: smtp.mail(sender, options), (250,)),
            ("rcpt", lambda: smtp.rcpt(recipient), (250, 251)),
            ("data", lambda: _data_command(smtp), (354,))]
        stage = "mail"
        try:
            for stage, command, accepted in steps:
                code, text = command()
                if code not in accepted:
                    return self._refused(code, text, stage)
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            return Outcome("lost", f"connection lost: {exc}", stage)
        on_body()
        try:
            smtp.send(_dot_stuff(message))
            code, text = smtp.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            return Outcome("unknown", f"no reply after the message was sent: {exc}", "body")
        if code == 421:
            self.close()
        return Outcome("sent" if code == 250 else _classify(code), _reply(code, text), "body")

    def _refused(self, code: int, text: bytes, stage: str) -> Outcome:
        if code == 421:
            self.close()
            return Outcome("lost", _reply(code, text), stage)
        try:
            assert self.smtp is not None
            self.smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.close()
        return Outcome(_classify(code), _reply(code, text), stage)

    def close(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.smtp.quit() if self.smtp.sock else None
            with contextlib.suppress(OSError):
                self.smtp.close()
        self.smtp = None


def _data_command(smtp: smtplib.SMTP) -> tuple[int, bytes]:
    smtp.putcmd("data")
    return smtp.getreply()


def _dot_stuff(message: bytes) -> bytes:
    """CRLF line ends, leading dots doubled, the terminating `.` line (RFC 5321 4.5.2)."""
    body = re.sub(rb"(?m)^\.", b"..", re.sub(rb"\r?\n", b"\r\n", message))
    return body + (b"" if body.endswith(b"\r\n") else b"\r\n") + b".\r\n"


def _classify(code: int) -> str:
    return "deferred" if 400 <= code < 500 else "failed"


def _reply(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(text.split())}".strip()


def smtp_password(settings: Smtp, environ: Mapping[str, str]) -> str | None:
    """The password from the environment variable [smtp] password_env names; None without a username."""
    if settings.tls and settings.starttls:
        raise PressekitError("pressekit.toml: [smtp] tls (implicit TLS) and starttls exclude each other; set one")
    if not settings.username:
        return None
    password = environ.get(settings.password_env)
    if password is None:
        raise PressekitError(f"[smtp] username is {settings.username!r}, but the environment variable "
                             f"{settings.password_env} ([smtp] password_env) that holds the password is not set")
    return password
