"""Unsubscribe tokens: `<base64url(address)>.<hmac>` in List-Unsubscribe, and the key that signs them.

The HMAC key is $PRESSEKIT_UNSUBSCRIBE_SECRET, else a random key made once in `.pressekit/unsubscribe.key`;
the unsubscribe endpoint checks a token with `verify_unsubscribe_token`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path

from .config import Config
from .errors import PressekitError
from .paths import UNSUBSCRIBE_KEY

UNSUBSCRIBE_SECRET_ENV = "PRESSEKIT_UNSUBSCRIBE_SECRET"
MIN_KEY_BYTES = 32


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
    """The token key: $PRESSEKIT_UNSUBSCRIBE_SECRET, else `.pressekit/unsubscribe.key` (made once, random).

    Raise PressekitError when the key is shorter than MIN_KEY_BYTES: a short (or, after a crash, empty) key
    would let anyone forge one-click unsubscribe links.
    """
    if UNSUBSCRIBE_SECRET_ENV in environ:
        return _checked(environ[UNSUBSCRIBE_SECRET_ENV].encode(), f"${UNSUBSCRIBE_SECRET_ENV}",
                        "set it to a long random value, e.g. the output of: "
                        "python3 -c 'import secrets; print(secrets.token_hex(32))'")
    path = config.root / UNSUBSCRIBE_KEY
    try:
        if not path.exists():
            _create_key(path)
        key = path.read_bytes().strip()
    except OSError as exc:
        raise PressekitError(f"{UNSUBSCRIBE_KEY}: cannot read or create the unsubscribe key: {exc}") from exc
    return _checked(key, UNSUBSCRIBE_KEY.as_posix(), "delete the file and pressekit makes a new random key "
                    "(unsubscribe links in messages sent before then stop working)")


def _checked(key: bytes, where: str, hint: str) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise PressekitError(f"{where}: the unsubscribe key has {len(key)} bytes, at least {MIN_KEY_BYTES} are "
                             "needed (a short key lets anyone forge unsubscribe links)", hint)
    return key


def _create_key(path: Path) -> None:
    """Write a random key so that the file is either absent or complete, even after a crash (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".unsubscribe.key.", dir=path.parent)  # mkstemp: mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
            f.flush()
            os.fsync(f.fileno())
        # A rename that never replaces: when two runs race, both then read the key that won.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
        _fsync_folder(path.parent)
    finally:
        os.unlink(temporary)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
