"""What the preview adds to pages: the live-reload script, the error page, the problems of a failed build."""

from __future__ import annotations

import html
import ipaddress
import traceback
from pathlib import Path

from jinja2 import TemplateError, TemplateSyntaxError

from .errors import BuildFailed, PressekitError, display_path

EVENTS_PATH = "/__pressekit__/events"


def is_loopback(host: str) -> bool:
    """True when host only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def live_script(generation: int) -> str:
    """The script injected into preview pages: reload when a build newer than `generation` exists."""
    return ("<script>/* pressekit serve: live reload, preview only */(function(){"
            f'var events=new EventSource("{EVENTS_PATH}?since={generation}");'
            'events.addEventListener("reload",function(){events.close();location.reload();});'
            "})();</script>\n")


def inject_script(page: bytes, script: str) -> bytes:
    """Insert script before the last </body> (or at the end) of an HTML page."""
    data = script.encode("utf-8")
    at = page.lower().rfind(b"</body>")
    return page + data if at < 0 else page[:at] + data + page[at:]


def error_page(problems: list[str]) -> bytes:
    """The page shown for every HTML request while the site does not build."""
    count = len(problems)
    items = "\n".join(f"<li><pre>{html.escape(p)}</pre></li>" for p in problems)
    return f"""<!DOCTYPE html>
<html lang="de">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fehler – pressekit-Vorschau</title>
<style>
body {{ margin: 0; font: 1rem/1.5 system-ui, sans-serif; color: #1b1f24; background: #fff; }}
header {{ background: #8a1c1c; color: #fff; padding: 1rem 1.25rem; }}
h1 {{ margin: 0; font-size: 1.4rem; }}
main {{ padding: 1rem 1.25rem; max-width: 60rem; }}
ol {{ padding-left: 1.5rem; }}
pre {{ white-space: pre-wrap; overflow-wrap: anywhere; margin: .25rem 0; font-size: .95rem; }}
</style>
</head>
<body>
<header><h1 class="pressekit-error">Die Vorschau kann nicht gebaut werden</h1></header>
<main>
<p>pressekit hat {count} Problem{"e" if count != 1 else ""} gefunden. Die Seite lädt nach dem nächsten
fehlerfreien Speichern von selbst neu.</p>
<ol class="problems">
{items}
</ol>
</main>
</body>
</html>
""".encode("utf-8")


def describe_failure(exc: Exception, root: Path) -> list[str]:
    """The lines the error page shows for a failed build."""
    if isinstance(exc, BuildFailed):
        return [str(e) for e in exc.errors]
    if isinstance(exc, TemplateSyntaxError):
        where = display_path(Path(exc.filename), root) if exc.filename else exc.name or "template"
        return [f"{where}:{exc.lineno}: {exc.message}"]
    if isinstance(exc, (PressekitError, TemplateError)):
        return [str(exc)]
    return ["pressekit failed with an unexpected error (a bug; please report it):\n" +
            "".join(traceback.format_exception(exc))]
