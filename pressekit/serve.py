"""`pressekit serve`: a preview of the site, rebuilt on every change and reloaded in open tabs.

The preview builds with `preview=True` (drafts and embargoed releases included, each with a
banner) into a temporary folder, never into output/. HTML responses get a small script that
listens on `/__pressekit__/events` (server-sent events) and reloads the page after each
rebuild; the files on disk never contain it. While the site does not build, every page is an
error page listing the problems; the last good build stays on disk for everything else.
"""

from __future__ import annotations

import html
import mimetypes
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

import watchfiles

from .config_file import load_config
from .errors import PressekitError, display_path
from .paths import CONFIG_NAME, RELEASES_DIR
from .preview_pages import EVENTS_PATH, describe_failure, error_page, inject_script, live_script

WATCHED_TREES = (RELEASES_DIR, "templates", "pages")  # folders of the site root whose files a build reads
KEEPALIVE_SECONDS = 15.0
Log = Callable[[str], None]


class PreviewServer:
    """Builds the site into a temporary folder, serves it, rebuilds on change; start() and stop()."""

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 8000,
                 clock: Callable[[], datetime] | None = None, log: Log | None = None, jobs: int | None = None):
        if clock is None:
            raise ValueError("PreviewServer needs a clock (the CLI passes the system clock or --now)")
        self.root, self.host, self.port = root.resolve(), host, port
        self.clock, self.log, self.jobs = clock, log or (lambda message: None), jobs
        self.output: Path | None = None  # the preview's build folder, inside a temporary folder
        self.generation = 0            # counts finished builds, failed ones included
        self.problems: list[str] = []  # of the latest build; empty when it succeeded
        self.prefix = "/"              # the path of base_url: the preview serves the site there
        self._cond = threading.Condition()
        self._building = False
        self._changed: set[str] = set()  # files changed since the last build began, for the log
        self._stopping = False
        self._stop_event = threading.Event()
        self._trees_changed = threading.Event()  # set by the root watch: a watched folder was created or removed
        self._threads: list[threading.Thread] = []
        self._httpd: _HTTPServer | None = None
        self._tmp: Path | None = None

    @property
    def url(self) -> str:
        """The address of the preview's home page."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.prefix}"

    def start(self) -> None:
        """Listen, build once, then serve and watch in background threads; raise PressekitError if impossible."""
        if not (self.root / CONFIG_NAME).is_file():
            raise PressekitError(f"no {CONFIG_NAME} in {self.root}; run pressekit serve in a site folder or give --site")
        httpd = _listen(self.host, self.port, self)
        self.port = httpd.server_address[1]
        self._tmp = Path(tempfile.mkdtemp(prefix="pressekit-preview-"))
        self.output = self._tmp / "site"
        # Watch first: a change saved during the first build is then built too.
        self._spawn(self._watch_trees, "watch-tree")
        self._spawn(lambda: self._watch([self.root], False, self._at_root, self._stop_event), "watch-root")
        try:
            self.rebuild()
        except BaseException:  # Ctrl+C during the first build: leave nothing behind
            httpd.server_close()
            self.stop()
            raise
        self._httpd = httpd
        self._spawn(lambda: httpd.serve_forever(poll_interval=0.05), "serve")
        self._spawn(self._build_loop, "build")

    def stop(self) -> None:
        """Stop serving and watching, end open event streams, delete the preview folder."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._stop_event.set()
        if self._httpd is not None:  # only once serving: shutdown() waits for serve_forever()
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def wait(self) -> None:
        """Block until stop() or KeyboardInterrupt (the CLI's serve loop)."""
        while not self._stop_event.wait(0.5):
            pass

    def __enter__(self) -> PreviewServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- building ---------------------------------------------------------

    def rebuild(self, changed: list[str] | None = None) -> bool:
        """Build the preview now; return True on success. The last good build stays when it fails."""
        from .build import build_site

        with self._cond:
            self._building = True
        started = time.perf_counter()
        problems: list[str] = []
        try:
            assert self.output is not None, "start() sets the preview folder"
            build_site(self.root, self.output, self.clock(), jobs=self.jobs, preview=True)
        except Exception as exc:  # noqa: BLE001 - a preview shows every failure instead of dying
            problems = describe_failure(exc, self.root)
        config, _ = load_config(self.root)
        with self._cond:
            if config is not None:
                self.prefix = urlsplit(config.site.base_url).path or "/"
            self.problems = problems
            self.generation += 1
            self._building = False
            self._cond.notify_all()
        seconds = time.perf_counter() - started
        if changed:
            shown = ", ".join(changed[:3]) + (f" und {len(changed) - 3} weitere" if len(changed) > 3 else "")
            self.log(f"Geändert: {shown}")
        if problems:
            self.log(f"Die Vorschau kann nicht gebaut werden ({len(problems)} Problem{'e' if len(problems) != 1 else ''}):")
            for problem in problems:
                self.log(problem)
        else:
            self.log(f"Vorschau gebaut in {seconds:.1f} s.")
        return not problems

    def wait_for_build(self, after: int, timeout: float = 30.0) -> bool:
        """Wait until a build later than generation `after` has finished; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self.generation > after, timeout=timeout)

    def _build_loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._changed) or self._stopping)
                if self._stopping:
                    return
                changed, self._changed = sorted(self._changed), set()
            self.rebuild(changed)

    def _at_root(self, change: watchfiles.Change, path: str) -> bool:
        """The root watch: pressekit.toml, and the watched folders appearing or going."""
        name = Path(path).name
        if name in WATCHED_TREES:
            self._trees_changed.set()  # the tree watch starts again with the folders there are now
        return name == CONFIG_NAME or name in WATCHED_TREES

    def _watch_trees(self) -> None:
        """Watch releases/, templates/ and pages/ recursively; start again when one is created or removed."""
        watched: list[Path] | None = None
        while not self._stop_event.is_set():
            self._trees_changed.clear()
            trees = [self.root / name for name in WATCHED_TREES if (self.root / name).is_dir()]
            added = [t for t in trees if watched is not None and t not in watched]
            watched = trees
            if not trees:
                self._trees_changed.wait(0.5)
                continue
            # Files saved into a new folder before its watch began are built once the watch is live.
            self._watch(trees, True, watchfiles.DefaultFilter(),
                        _Until(self._stop_event, self._trees_changed, lambda: self._note(added) if added else None))

    def _note(self, paths: list[Path]) -> None:
        with self._cond:
            self._changed.update(display_path(path, self.root) for path in paths)
            self._cond.notify_all()

    def _watch(self, paths: list[Path], recursive: bool, accept: Callable[[watchfiles.Change, str], bool],
               until: _Until | threading.Event) -> None:
        for changes in watchfiles.watch(*paths, watch_filter=accept, recursive=recursive, stop_event=until,
                                        raise_interrupt=False, step=100):
            self._note([Path(path) for _, path in changes])

    def _spawn(self, target: Callable[[], object], name: str) -> None:
        thread = threading.Thread(target=target, name=f"pressekit-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    # --- answering requests ----------------------------------------------

    def locate(self, path: str) -> tuple[str, Path | str | None]:
        """What a URL path means: ('file', Path), ('redirect', location) or ('missing', None).

        Paths with '.' or '..' segments (also percent-encoded), backslashes or NUL never leave
        the build folder: they are missing, as is anything a symbolic link leads outside.
        """
        raw = unquote(path, errors="replace")
        if self.output is None:
            return "missing", None
        if raw != self.prefix and raw in ("/", self.prefix.rstrip("/")):
            return "redirect", self.prefix
        if "\x00" in raw or "\\" in raw or not raw.startswith(self.prefix):
            return "missing", None
        parts = raw[len(self.prefix):].split("/")
        if any(part in (".", "..") for part in parts):
            return "missing", None
        base = self.output.resolve()
        target = (base / "/".join(p for p in parts if p)).resolve()
        if not target.is_relative_to(base):
            return "missing", None
        if target.is_dir():
            if not raw.endswith("/"):
                return "redirect", quote(raw + "/")
            target = target / "index.html"
        return ("file", target) if target.is_file() else ("missing", None)

    def state(self) -> tuple[int, list[str]]:
        """The latest build's generation and problems (empty when it succeeded)."""
        with self._cond:
            return self.generation, list(self.problems)

    def not_found_page(self) -> Path | None:
        """The build's 404.html, served for every miss."""
        return self.output / "404.html" if self.output is not None else None

    def wait_while_building(self, timeout: float = 60.0) -> None:
        """Block until no build is running: output/ is swapped in with two renames."""
        with self._cond:
            self._cond.wait_for(lambda: not self._building or self._stopping, timeout=timeout)

    def stream_events(self, since: int, write: Callable[[bytes], None]) -> None:
        """Send a `reload` event when a build newer than `since` exists; keep-alives in between."""
        write(b"retry: 1000\n\n")
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self.generation != since or self._stopping, timeout=KEEPALIVE_SECONDS)
                if self._stopping:
                    return
                current = self.generation
            if current != since:
                write(f"event: reload\ndata: {current}\n\n".encode())
                since = current
            else:
                write(b": keep-alive\n\n")


class _Until:
    """A watch's stop event: set on shutdown or when the watched folders change.

    watchfiles asks it first once the watch is established; `ready` runs then, once.
    """

    def __init__(self, stop: threading.Event, changed: threading.Event, ready: Callable[[], None]):
        self.stop, self.changed, self.ready = stop, changed, ready
        self.asked = False

    def is_set(self) -> bool:
        if not self.asked:
            self.asked = True
            self.ready()
        return self.stop.is_set() or self.changed.is_set()


def _read(path: Path | None) -> bytes | None:
    try:
        return path.read_bytes() if path is not None else None
    except OSError:
        return None


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    preview: PreviewServer


class _HTTPServer6(_HTTPServer):
    address_family = socket.AF_INET6


def _listen(host: str, port: int, preview: PreviewServer) -> _HTTPServer:
    server_class = _HTTPServer6 if ":" in host else _HTTPServer
    try:
        httpd = server_class((host.strip("[]"), port), _Handler)
    except OSError as exc:
        raise PressekitError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
                             "is another preview running? Choose another --port") from exc
    httpd.preview = preview
    return httpd


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    server_version = "pressekit-preview"

    def do_GET(self) -> None:
        self.answer(send_body=True)

    def do_HEAD(self) -> None:
        self.answer(send_body=False)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass  # the terminal shows builds, not every request

    def answer(self, send_body: bool) -> None:
        preview = self.server.preview
        url = urlsplit(self.path)
        if url.path == EVENTS_PATH:
            return self.events(url.query, preview)
        kind, found = preview.locate(url.path)
        if kind == "missing":
            preview.wait_while_building()  # output/ may be between its two renames
            kind, found = preview.locate(url.path)
        if kind == "redirect":
            return self.send(HTTPStatus.MOVED_PERMANENTLY, b"", "text/plain", send_body, location=str(found))
        generation, problems = preview.state()
        is_html = kind == "missing" or str(found).endswith(".html")
        if problems and is_html:
            page = inject_script(error_page(problems), live_script(generation))
            return self.send(HTTPStatus.INTERNAL_SERVER_ERROR, page, "text/html", send_body)
        status, path = (HTTPStatus.OK, found) if kind == "file" else (HTTPStatus.NOT_FOUND, preview.not_found_page())
        assert not isinstance(path, str)
        data = _read(path)
        if data is None:
            return self.send(HTTPStatus.NOT_FOUND, b"Nicht gefunden\n", "text/plain", send_body)
        kind_of = "text/html" if is_html else (mimetypes.guess_type(str(path))[0] or "application/octet-stream")
        if kind_of == "text/html":
            data = inject_script(data, live_script(generation))
        self.send(status, data, kind_of, send_body)

    def send(self, status: HTTPStatus, data: bytes, content_type: str, send_body: bool,
             location: str | None = None) -> None:
        self.send_response(status)
        if content_type.startswith("text/") or content_type in ("application/xml", "application/json"):
            content_type += "; charset=utf-8"
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        if location:
            self.send_header("Location", location)
        self.end_headers()
        if send_body:
            self.wfile.write(data)

    def events(self, query: str, preview: PreviewServer) -> None:
        try:
            since = int(parse_qs(query).get("since", [""])[0])
        except ValueError:
            since = preview.generation
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()

        def write(chunk: bytes) -> None:
            self.wfile.write(chunk)
            self.wfile.flush()

        try:
            preview.stream_events(since, write)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the tab was closed or reloaded
