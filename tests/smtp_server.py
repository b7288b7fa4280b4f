"""A real SMTP server for the send tests: aiosmtpd on 127.0.0.1, recording what it got, injecting faults.

`FaultyHandler` knows the faults the ledger must survive: a 550 on RCPT, a 451 on DATA (once), a
connection dropped after k messages, a reply that comes too late after the body, and a hook called
with each delivered message (the crash test kills the client from there).
"""

from __future__ import annotations

import asyncio
import datetime
import email
import email.policy
import ipaddress
import socket
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    """One message the server accepted: envelope and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


@dataclass
class FaultyHandler:
    """An aiosmtpd handler that records every message and injects the faults it is told to."""

    rcpt_replies: dict[str, str] = field(default_factory=dict)        # address -> reply to RCPT (e.g. 550)
    data_replies_once: dict[str, str] = field(default_factory=dict)   # address -> reply to the body, first time
    slow_once: dict[str, float] = field(default_factory=dict)         # address -> delay before replying to the body
    drop_after: int | None = None                                     # close each connection after k messages
    on_message: Callable[[Received], None] | None = None
    received: list[Received] = field(default_factory=list)
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(self, server: Any, session: Session, envelope: Envelope, hostname: str,
                          responses: list[str]) -> list[str]:
        session.host_name = hostname
        if not getattr(session, "counted", False):
            session.counted = True  # type: ignore[attr-defined]
            session.messages = 0  # type: ignore[attr-defined]
            with self.lock:
                self.connections += 1
        return responses

    async def handle_RCPT(self, server: Any, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        rcpt = envelope.rcpt_tos[0]
        with self.lock:
            reply = self.data_replies_once.pop(rcpt, None)
        if reply:
            return reply
        got = Received(envelope.mail_from or "", tuple(envelope.rcpt_tos), envelope.original_content or b"")
        with self.lock:
            self.received.append(got)
            delay = self.slow_once.pop(rcpt, None)
        if self.on_message:
            self.on_message(got)
        if delay:
            await asyncio.sleep(delay)
        session.messages = getattr(session, "messages", 0) + 1  # type: ignore[attr-defined]
        if self.drop_after and session.messages % self.drop_after == 0:  # type: ignore[attr-defined]
            asyncio.get_running_loop().call_soon(server.transport.close)  # after the 250 is written
        return "250 OK"

    def counts(self) -> Counter[str]:
        """How often each recipient address received a message."""
        with self.lock:
            return Counter(r for got in self.received for r in got.rcpt_tos)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server(handler: FaultyHandler, **smtp_options: Any) -> Iterator[Controller]:
    """Run aiosmtpd on a free port of 127.0.0.1 for the duration of the block."""
    controller = Controller(handler, hostname=HOST, port=free_port(), **smtp_options)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


def password_authenticator(login: str, password: str) -> Callable[..., AuthResult]:
    """An aiosmtpd authenticator accepting exactly one login (anything else gets 535)."""
    def authenticate(server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login == login.encode() and data.password == password.encode()
        return AuthResult(success=ok, handled=ok)  # handled=False: aiosmtpd replies 535
    return authenticate


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """Write a certificate for 127.0.0.1 and its key; return (cert, key) paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def server_tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context
