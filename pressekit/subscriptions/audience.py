"""The subscribers as the recipients of `pressekit send <id>` without `--to`.

Each confirmed subscriber whose topics meet the release's tags (no topics: everything) is a
recipient. Each message carries the subscriber's own `List-Unsubscribe` (`abmelden/<token>`, and the
configured mailto) with RFC 8058 one-click, and a footer with the einstellungen/abmelden links in
the text and HTML parts. Right before each message the store is asked again: whoever left in the
meantime receives nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from markupsafe import Markup

from ..config import Config
from ..model import Release
from ..recipients import Recipient, address_key
from .site import ServiceSite, load_service_site
from .records import Subscriber
from .store import Store



class Audience:
    """The confirmed subscribers of a site, with their personal links; close it after the run."""

    def __init__(self, site: ServiceSite, store: Store):
        self.site, self.store = site, store
        self.subscribers: dict[str, Subscriber] = {s.key: s for s in store.all("confirmed")}

    def recipients(self, release: Release) -> tuple[list[Recipient], int]:
        """(who receives the release, how many confirmed subscribers chose other topics)."""
        chosen = [s for s in self.subscribers.values() if s.wants(release.tags)]
        return [Recipient(s.email, s.name, (), s.id) for s in chosen], len(self.subscribers) - len(chosen)

    def still_wanted(self, recipient: Recipient) -> bool:
        """True while the subscriber is still confirmed: asked right before each message."""
        now = self.store.find(recipient.address)
        return now is not None and now.state == "confirmed"

    def links(self, recipient: Recipient) -> tuple[str, str]:
        """(einstellungen/ URL, abmelden/ URL) of the recipient."""
        s = self.subscribers[address_key(recipient.address)]
        return (self.site.manage_url("einstellungen", s.id, s.token_version),
                self.site.manage_url("abmelden", s.id, s.token_version))

    def unsubscribe_links(self, recipient: Recipient, mailto: str) -> list[tuple[str, str]]:
        """The List-Unsubscribe and List-Unsubscribe-Post headers of one message."""
        links = [f"<{self.links(recipient)[1]}>"] + ([f"<{mailto}>"] if mailto else [])
        return [("List-Unsubscribe", ", ".join(links)), ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")]

    def personalize(self, recipient: Recipient, text: str, html: str) -> tuple[str, str]:
        """The text and HTML parts with the recipient's footer (templates abo/fusszeile.txt and .html)."""
        settings, leave = self.links(recipient)
        context = {"settings_url": settings, "unsubscribe_url": leave}
        footer_text = self.site.env.get_template("abo/fusszeile.txt").render(**context).strip("\n")
        footer_html = Markup(self.site.env.get_template("abo/fusszeile.html").render(**context))
        text = text.rstrip("\n") + "\n" + footer_text + "\n"
        at = html.rfind("</body>")
        html = html[:at] + footer_html + html[at:] if at >= 0 else html + footer_html
        return text, html

    def close(self) -> None:
        self.store.close()


def open_audience(config: Config, environ: Mapping[str, str]) -> Audience:
    """The site's subscribers; raise PressekitError when [subscriptions] url is not set."""
    site = load_service_site(Path(config.root), environ)
    return Audience(site, site.open_store())
