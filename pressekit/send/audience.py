"""What `send` needs of the recipients when there is no `--to` list: an audience the caller opens.

The subscribers live in `pressekit.subscriptions`, which uses this package to mail them; so `send`
names only the shape it calls here, and the caller (`cli_send`, `subscriptions.publish`) passes the
opener in. The dependency runs one way: subscriptions -> send.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from ..config import Config
from ..model import Release
from ..recipients import Recipient


class Audience(Protocol):
    """Recipients with their own unsubscribe links and footer, asked again before each message."""

    def recipients(self, release: Release) -> tuple[list[Recipient], int]:
        """(who receives the release, how many chose other topics)."""
        ...

    def still_wanted(self, recipient: Recipient) -> bool:
        """False when the recipient left after the run began."""
        ...

    def unsubscribe_links(self, recipient: Recipient, mailto: str) -> list[tuple[str, str]]:
        """The List-Unsubscribe headers of one message."""
        ...

    def personalize(self, recipient: Recipient, text: str, html: str) -> tuple[str, str]:
        """The text and HTML parts with the recipient's own footer."""
        ...

    def close(self) -> None:
        """Release what the audience holds open (the store)."""
        ...


# Opens the site's audience from its configuration and environment; raises PressekitError when it cannot.
AudienceOpener = Callable[[Config, Mapping[str, str]], Audience]
