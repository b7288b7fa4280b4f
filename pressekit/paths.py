"""Every path pressekit gives a meaning to: the site's sources, its state under .pressekit/, output/'s names.

The state folder holds what the commands keep between runs: the build cache, the build lock, the
press-date history, the send ledger and outbox, the subscribers and the unsubscribe key.
"""

from __future__ import annotations

from pathlib import Path

CONFIG_NAME = "pressekit.toml"
RELEASES_DIR = "releases"
PAGES_DIR = "pages"
TEMPLATES_DIR = "templates"

STATE_DIR = Path(".pressekit")
CACHE_DIR = STATE_DIR / "cache"                 # photo variants, rendered bodies, pages and search indexes
BUILD_LOCK = STATE_DIR / "build.lock"
EVENT_HISTORY = STATE_DIR / "termine.json"      # press dates once published, so that they never vanish
LEDGER = STATE_DIR / "ledger.sqlite"            # what `send` delivered to whom
OUTBOX = STATE_DIR / "outbox"                   # `send --dry-run` writes the messages here
SUBSCRIBERS = STATE_DIR / "subscribers.sqlite"
UNSUBSCRIBE_KEY = STATE_DIR / "unsubscribe.key"

# The folders of a site that a build never writes to nor deletes.
SOURCES = (RELEASES_DIR, TEMPLATES_DIR, PAGES_DIR, STATE_DIR.as_posix())
# In every folder a build made: only such folders are ever replaced or deleted.
OUTPUT_MARKER = ".pressekit-output"

# Top-level paths of output/ that the site's own pages use (or will): no release may take them.
RESERVED_PATHS = {
    "archiv": "the archive page", "seite": "the newsroom's older pages", "themen": "the topic pages",
    "assets": "the stylesheets", "suche": "the search page", "termine": "the dates page",
    "feed.xml": "the RSS feed", "atom.xml": "the Atom feed", "feed.json": "the JSON feed",
    "sitemap.xml": "the sitemap", "news-sitemap.xml": "the news sitemap", "404.html": "the error page",
    "index.html": "the newsroom page", "pagefind": "the search index", "robots.txt": "robots.txt",
    "termine.ics": "the calendar of press dates",
}
RESERVED_IDS = frozenset(RESERVED_PATHS)


def send_lock(release_id: str) -> Path:
    """The lock one `send` run of a release holds, so that two runs never send the same round."""
    return STATE_DIR / f"send-{release_id}.lock"
