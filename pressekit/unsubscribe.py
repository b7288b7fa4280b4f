"""Unsubscribe tokens: `<base64url(address)>.<hmac>` in List-Unsubscribe, and the key that signs them.

The HMAC key is $PRESSEKIT_UNSUBSCRIBE_SECRET, else a random key made once in `.pressekit/unsubscribe.key`;
the unsubscribe endpoint checks a token with `verify_unsubscribe_token`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping

from .config import Config
from .errors import PressekitError

UNSUBSCRIBE_SECRET_ENV = "PRESSEKIT_UNSUBSCRIBE_SECRET"
UNSUBSCRIBE_KEY_FILE = ".pressekit/unsubscribe.key"


def unsubscribe_token(secret: bytes, list_id: str, address: str) -> str:
    """`<base64url(address)>.<hmac>`: names the recipient and proves pressekit issued it."""
    encoded = base64.urlsafe_b64encode(address.encode()).decode().rstrip("=")
    return f"{encoded}.{_token_mac(secret, list_id, address)}"


def verify_unsubscribe_token(secret: bytes, list_id: str, token: str) -> str | None:
    """Return the address a token was issued for, or None when it is forged or garbled."""
    encoded, _, mac = token.partition(".")
    try:
        address = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return address if hmac.compare_digest(mac, _token_mac(secret, list_id, address)) else None


def _token_mac(secret: bytes, list_id: str, address: str) -> str:
    data = f"unsubscribe\0{list_id}\0{address.casefold()}".encode()
    return hmac.new(secret, data, hashlib.sha256).hexdigest()[:32]


def unsubscribe_secret(config: Config, environ: Mapping[str, str]) -> bytes:
    """The token key: $PRESSEKIT_UNSUBSCRIBE_SECRET, else `.pressekit/unsubscribe.key` (made once, random)."""
    if value := environ.get(UNSUBSCRIBE_SECRET_ENV):
        return value.encode()
    path = config.root / UNSUBSCRIBE_KEY_FILE
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32) + "\n")
        return path.read_text().strip().encode()
    except FileExistsError:
        return path.read_text().strip().encode()
    except OSError as exc:
        raise PressekitError(f"{path}: cannot read or create the unsubscribe key: {exc}") from exc
