"""What the subscriber store holds and takes: a subscriber, an entry of its audit trail, a sign-up."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

STATES = ("pending", "confirmed", "unsubscribed", "bounced")


@dataclass(frozen=True)
class Subscriber:
    """One row of the store."""

    id: int
    key: str
    email: str
    name: str
    medium: str
    topics: tuple[str, ...]
    state: str
    source: str
    subscribed: str
    confirmed: str | None
    token_version: int
    confirm_nonce: str | None
    mail_owed: str
    updated: str

    def wants(self, tags: tuple[str, ...]) -> bool:
        """True when the subscriber chose no topics or one of `tags`."""
        mine = {t.casefold() for t in self.topics}
        return not mine or any(t.casefold() in mine for t in tags)


@dataclass(frozen=True)
class Event:
    """One entry of a subscriber's audit trail."""

    time: str
    kind: str
    channel: str
    detail: str
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class Signup:
    """A validated request to subscribe, with the evidence of consent it carries."""

    email: str
    name: str = ""
    medium: str = ""
    topics: tuple[str, ...] = ()
    source: str = "form"             # form, import, office
    consent_text: str = ""
    ip: str | None = None
    user_agent: str | None = None
    evidence: str = ""               # import --confirmed-by: the office's own evidence

    @property
    def key(self) -> str:
        return self.email.casefold()

    @property
    def consent_version(self) -> str:
        return hashlib.sha256(self.consent_text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class SignupResult:
    """The subscriber after a sign-up and which mail is due: `confirm`, `known` or none (rate limit)."""

    subscriber: Subscriber
    mail: str
