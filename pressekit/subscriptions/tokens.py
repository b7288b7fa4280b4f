"""Signed links of the subscription service: confirmation (single-use, expiring) and management.

A token is an itsdangerous signature over a small JSON payload, so nobody can make one without the
site's key. Single use and validity are decided against the store, not the token alone:

- confirmation `[id, nonce, expires]`: valid until `expires` (epoch seconds) and only while the
  subscriber's open nonce is this one; confirming clears the nonce, so a link works once;
- management `[id, version]` (einstellungen/, abmelden/, List-Unsubscribe): valid while the
  subscriber exists with that token version; forgetting a person ends every link at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from itsdangerous import BadSignature, URLSafeSerializer

_CONFIRM_SALT = "pressekit-abo-bestaetigen"
_MANAGE_SALT = "pressekit-abo-verwalten"


@dataclass(frozen=True)
class ConfirmClaim:
    """What a genuine confirmation token says: whose, which open request, valid until when."""

    subscriber: int
    nonce: str
    expires: datetime

    def expired(self, now: datetime) -> bool:
        return now >= self.expires


@dataclass(frozen=True)
class ManageClaim:
    """What a genuine management token says: whose, and which generation of links."""

    subscriber: int
    version: int


class Tokens:
    """Makes and reads the service's tokens with the site's key."""

    def __init__(self, secret: bytes):
        self._confirm = URLSafeSerializer(secret, salt=_CONFIRM_SALT)
        self._manage = URLSafeSerializer(secret, salt=_MANAGE_SALT)

    def confirm_token(self, subscriber: int, nonce: str, now: datetime, hours: int) -> str:
        """A confirmation link's token, valid for `hours` from `now`."""
        expires = int((now + timedelta(hours=hours)).timestamp())
        return str(self._confirm.dumps([subscriber, nonce, expires]))

    def manage_token(self, subscriber: int, version: int) -> str:
        """The token of a subscriber's einstellungen/ and abmelden/ links."""
        return str(self._manage.dumps([subscriber, version]))

    def read_confirm(self, token: str) -> ConfirmClaim | None:
        """The claim of a genuine confirmation token; None when forged or garbled (expiry is the caller's)."""
        payload = _load(self._confirm, token)
        if (not isinstance(payload, list) or len(payload) != 3 or not _whole(payload[0])
                or not isinstance(payload[1], str) or not _whole(payload[2])):
            return None
        return ConfirmClaim(payload[0], payload[1], datetime.fromtimestamp(payload[2], timezone.utc))

    def read_manage(self, token: str) -> ManageClaim | None:
        """The claim of a genuine management token; None when forged or garbled."""
        payload = _load(self._manage, token)
        if not isinstance(payload, list) or len(payload) != 2 or not all(_whole(p) for p in payload):
            return None
        return ManageClaim(payload[0], payload[1])


def _load(serializer: URLSafeSerializer, token: str) -> object:
    if len(token) > 512:
        return None
    try:
        return serializer.loads(token)
    except (BadSignature, ValueError, UnicodeError):
        return None


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
