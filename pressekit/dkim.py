"""DKIM: loading the signing key, signing each sent message with dkimpy, and making a key pair.

RFC 8058 one-click unsubscribe counts only when a DKIM signature covers List-Unsubscribe and
List-Unsubscribe-Post, and large mailbox providers require DKIM of bulk senders. The private key
never lives in the site (which may be in version control): it comes from a file outside it that
only its owner can read, or from an environment variable.
"""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import dkim as dkimpy  # type: ignore[import-untyped]
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .config import Config, Dkim
from .errors import PressekitError, SourceError
from .paths import CONFIG_NAME

# relaxed/relaxed survives the re-folding and whitespace changes of relaying servers
CANONICALIZE = (b"relaxed", b"relaxed")
SIGNED_HEADERS = (b"from", b"to", b"subject", b"date", b"message-id", b"list-id", b"list-unsubscribe",
                  b"list-unsubscribe-post", b"auto-submitted", b"mime-version", b"content-type",
                  b"content-language")
KEY_BITS = 2048


@dataclass(frozen=True)
class Signer:
    """A loaded DKIM key: signs messages for `selector._domainkey.domain`."""

    domain: str
    selector: str
    key: bytes   # PEM

    @property
    def record_name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"

    def sign(self, message: bytes) -> bytes:
        """Return the message with a DKIM-Signature header in front; raise PressekitError when dkimpy cannot sign."""
        try:
            header = dkimpy.sign(message, self.selector.encode("ascii"), self.domain.encode("ascii"), self.key,
                                 canonicalize=CANONICALIZE, include_headers=list(SIGNED_HEADERS))
        except dkimpy.DKIMException as exc:
            raise PressekitError(f"DKIM: cannot sign with the key for {self.record_name}: {exc}") from exc
        return bytes(header) + message


def load_signer(config: Config, environ: Mapping[str, str]) -> tuple[Signer | None, list[SourceError]]:
    """The [dkim] key, checked: (signer, []) or (None, [the problem at the [dkim] table]); (None, []) without [dkim]."""
    if not config.dkim.enabled:
        return None, []
    try:
        return _signer(config.dkim, config.root, environ), []
    except DkimError as exc:
        return None, [exc.error]


def _signer(settings: Dkim, root: Path, environ: Mapping[str, str]) -> Signer:
    from .addresses import ascii_domain

    key = _read_key(settings, root, environ)
    try:
        loaded = serialization.load_pem_private_key(key, password=None)
    except (ValueError, TypeError):  # cryptography's message names its own FAQ, not the user's file
        raise _error(settings, f"{_source(settings)} is not an unencrypted PEM private key",
                     "pressekit dkim-keygen writes one; a key starts with -----BEGIN PRIVATE KEY-----") from None
    if not isinstance(loaded, rsa.RSAPrivateKey) or loaded.key_size < 1024:
        raise _error(settings, f"{_source(settings)} must be an RSA key of at least 1024 bits "
                               f"(pressekit dkim-keygen makes {KEY_BITS})")
    try:
        domain = ascii_domain(settings.domain)
    except ValueError as exc:
        raise _error(settings, f"[dkim] domain {exc}") from None
    return Signer(domain, settings.selector, key)


def _read_key(settings: Dkim, root: Path, environ: Mapping[str, str]) -> bytes:
    if settings.key_env:
        value = environ.get(settings.key_env)
        if not value:
            raise _error(settings, f"[dkim] key_env names {settings.key_env}, but that environment variable is not set")
        return value.encode("ascii", "replace")
    path = Path(settings.key_file).expanduser()
    path = path if path.is_absolute() else root / path
    if path.resolve().is_relative_to(root.resolve()):
        raise _error(settings, f"[dkim] key_file {settings.key_file} lies inside the site; a private key must not be "
                               "published or committed", "move it, e.g. to /etc/pressekit/dkim.key, and chmod 600 it")
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise _error(settings, f"[dkim] key_file {path} can be read by others (mode {stat.S_IMODE(mode):o})",
                         f"chmod 600 {path}")
        return path.read_bytes()
    except OSError as exc:
        raise _error(settings, f"[dkim] key_file {path}: {exc.strerror}") from exc


def _source(settings: Dkim) -> str:
    return f"the environment variable {settings.key_env}" if settings.key_env else f"[dkim] key_file {settings.key_file}"


class DkimError(PressekitError):
    """The [dkim] key cannot be used; carries the SourceError at the [dkim] table."""

    def __init__(self, error: SourceError):
        super().__init__(str(error))
        self.error = error


def _error(settings: Dkim, message: str, hint: str | None = None) -> DkimError:
    return DkimError(SourceError(CONFIG_NAME, settings.line, message, hint))


def dns_record(public_pem: bytes) -> str:
    """The TXT record value `v=DKIM1; k=rsa; p=...` of a public key (PEM, SubjectPublicKeyInfo)."""
    key = serialization.load_pem_public_key(public_pem)
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode('ascii')}"


def generate_key(path: Path) -> str:
    """Write a new RSA private key to `path` (mode 600, never overwriting); return the DNS TXT value."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise PressekitError(f"{path} exists; pressekit never overwrites a key (a published record may use it)") from None
    except OSError as exc:
        raise PressekitError(f"cannot write the key to {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return dns_record(public)


def txt_zone_line(selector: str, domain: str, value: str) -> str:
    """The record as a zone-file line, the value split into strings of at most 255 characters."""
    chunks = " ".join(f'"{value[i:i + 255]}"' for i in range(0, len(value), 255))
    return f"{selector}._domainkey.{domain}. IN TXT ( {chunks} )"
