"""Build the same corpus with pressekit, Hugo and Pelican and compare build time and memory.

    python benchmarks/compare.py [--count 10000] [--runs 3] [--tools pressekit,hugo,pelican]
                                 [--photos none|small|large] [--workdir /tmp/pressekit-compare]

For each tool it measures five scenarios on a corpus written by benchmarks/corpus.py:

  cold      outputs and caches deleted, then a build
  rebuild   a build right after a build, nothing changed
  edit      one release's body changed, then a build
  new       one release added (the newest), then a build
  template  the release page template changed, then a build

and prints the median wall time of --runs runs, releases per second, the peak RSS of the
largest process (GNU time's %M) and the peak proportional set size of the whole process
tree (sampled from /proc), then pressekit's ratio to each other tool. After the edit and
new builds it checks that the change reached the release page, the index and the feed (and, for
pressekit, the edit its year's search index: one Pagefind index per year is rebuilt, not all).

It installs what it needs: Pelican and Markdown into <workdir>/pelican-venv from PyPI,
Hugo from Debian's `hugo` package when the command is missing and we are root;
otherwise it says what is missing and skips that tool. The Hugo and Pelican site
configurations are benchmarks/hugo/ and benchmarks/pelican/, copied into the workdir.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402

NOW = "2026-11-25T12:00:00+01:00"
NEW_DAY = date(2026, 11, 20)  # newer than every corpus release, before NOW
SCENARIOS = ("cold", "rebuild", "edit", "new", "template")
LABELS = {"cold": "cold build", "rebuild": "no-change rebuild", "edit": "one release edited",
          "new": "one release added", "template": "page template edited"}
GNU_TIME = Path("/usr/bin/time")
# Run a command and report its largest descendant's max RSS, where GNU time is missing.
RUSAGE_RUNNER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[2:])\n"
    "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "open(sys.argv[1], 'w').write(f'{u.ru_maxrss} {u.ru_utime} {u.ru_stime}')\n"
    "sys.exit(code)\n"
)


# --- releases in a neutral form -------------------------------------------------


@dataclass
class Photo:
    file: str
    caption: str
    credit: str
    alt: str


@dataclass
class Release:
    """What every tool's content is made from: the corpus release, read back from index.md."""

    id: str
    title: str
    date: str
    tags: list[str]
    body: str
    photos: list[Photo] = field(default_factory=list)
    folder: Path | None = None

    @property
    def summary(self) -> str:
        """The first paragraph on one line, as pressekit's default summary."""
        return " ".join(self.body.strip().split("\n\n")[0].split())


def read_release(index: Path) -> Release:
    import yaml

    text = index.read_text(encoding="utf-8")
    _, front, body = text.split("---\n", 2)
    data = yaml.load(front, Loader=getattr(yaml, "CBaseLoader", yaml.BaseLoader))
    photos = [Photo(p["file"], p["caption"], p["credit"], p["alt"]) for p in data.get("photos", [])]
    return Release(index.parent.name, data["title"], data["date"], list(data.get("tags", [])), body, photos,
                   index.parent)


def pressekit_text(release: Release) -> str:
    """index.md for pressekit (SPEC section 2)."""
    front = [f"title: {corpus.yaml_quote(release.title)}", f"date: {release.date}",
             "tags: [" + ", ".join(release.tags) + "]"]
    if release.photos:
        front.append("photos:")
        for p in release.photos:
            front += [f"  - file: {p.file}", f"    caption: {corpus.yaml_quote(p.caption)}",
                      f"    credit: {corpus.yaml_quote(p.credit)}", f"    alt: {corpus.yaml_quote(p.alt)}"]
    return "---\n" + "\n".join(front) + "\n---\n" + release.body


def pelican_text(release: Release) -> str:
    """index.md for Pelican: metadata lines, a blank line, the body, the photos as figures."""
    head = [f"Title: {release.title}", f"Date: {release.date}", f"Tags: {', '.join(release.tags)}",
            f"Slug: {release.id}", f"Summary: {release.summary}"]
    photos = "".join(f"\n![{p.alt}]({{static}}{p.file})\n\n*{p.caption} Foto: {p.credit}*\n" for p in release.photos)
    return "\n".join(head) + "\n\n" + release.body + photos


def toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def hugo_text(release: Release) -> str:
    """index.md for Hugo: TOML front matter (title, date, slug, tags, year, summary, photos) and the body."""
    year = release.date[:4]
    front = [f"title = {toml_string(release.title)}", f"date = {toml_string(release.date)}",
             f"slug = {toml_string(release.id)}", "tags = [" + ", ".join(map(toml_string, release.tags)) + "]",
             f"jahre = [{toml_string(year)}]", f"summary = {toml_string(release.summary)}"]
    for p in release.photos:
        front += ["", "[[photos]]", f"file = {toml_string(p.file)}", f"caption = {toml_string(p.caption)}",
                  f"credit = {toml_string(p.credit)}", f"alt = {toml_string(p.alt)}"]
    return "+++\n" + "\n".join(front) + "\n+++\n" + release.body


def new_release(k: int, photo_source: Path | None) -> Release:
    """A fresh release, newer than the corpus, for the 'new' scenario's k-th run."""
    writer = corpus.Writer(random.Random(10_000 + k))
    made = corpus.make_release(k, NEW_DAY, writer, set(), with_photos=photo_source is not None)
    photos = [Photo(name, "Neues Foto für die Benchmark-Meldung.", "Käthe Schäfer/ Kreis Brunnental",
                    "Ein Testbild mit farbigen Flächen.") for name in made.photos]
    return Release(f"{NEW_DAY.isoformat()}-benchmark-neu-{k}", f"Neu im Archiv ({k}): {made.title}",
                   f"{NEW_DAY.isoformat()}T{8 + k % 8:02d}:00:00+01:00", ["Verwaltung", "Kreistag"], made.body,
                   photos, photo_source)


# --- measuring ----------------------------------------------------------------


@dataclass
class Sample:
    seconds: float
    cpu_seconds: float  # user + system time of the command and its children
    max_rss_mb: float  # the largest single process (GNU time %M)
    tree_pss_mb: float  # the whole process tree, sampled
    ok: bool = True
    note: str = ""


class TreeSampler(threading.Thread):
    """Polls /proc every 50 ms and keeps the peak sum of PSS (RSS where PSS is unreadable) of a process tree."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak_kb = max(self.peak_kb, sum(memory_kb(p) for p in descendants(self.pid)))
            self.stop.wait(0.05)


def descendants(pid: int) -> list[int]:
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    stack.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return found


def memory_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except OSError:
        return 0


def measure(cmd: list[str], cwd: Path, env: dict[str, str], log: Path, timeout: float) -> Sample:
    """Run cmd once; return wall seconds, peak RSS of its largest process and peak PSS of its tree."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss", delete=False) as rss_file:
        rss_path = rss_file.name
    if GNU_TIME.exists():
        wrapped = [str(GNU_TIME), "-f", "%M %U %S", "-o", rss_path, *cmd]
    else:
        wrapped = [sys.executable, "-c", RUSAGE_RUNNER, rss_path, *cmd]
    with open(log, "ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        start = time.perf_counter()
        proc = subprocess.Popen(wrapped, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = None
        seconds = time.perf_counter() - start
        sampler.stop.set()
        sampler.join()
    try:  # GNU time puts "Command exited with non-zero status N" before the format's line
        last = (Path(rss_path).read_text().strip().splitlines() or [""])[-1].split()
        rss_kb, cpu = (int(last[0]), float(last[1]) + float(last[2])) if len(last) == 3 else (0, 0.0)
    finally:
        os.unlink(rss_path)
    note = "" if code == 0 else (f"timed out after {timeout:.0f} s" if code is None else f"exit status {code}")
    return Sample(seconds, cpu, rss_kb / 1024, sampler.peak_kb / 1024, code == 0, note)


# --- the tools ----------------------------------------------------------------


class Tool:
    """A site generator with its own copy of the corpus in workdir/<name>/."""

    name = ""
    output = "output"  # the folder it builds into, inside its site
    generated: tuple[str, ...] = ()  # what a cold build starts without: outputs and caches

    def __init__(self, workdir: Path, releases: list[Release]):
        self.workdir, self.releases = workdir, releases
        self.site = workdir / self.name
        self.env = dict(os.environ)

    # set-up
    def available(self) -> str | None:
        """None when the tool can run, else what is missing."""
        return None

    def version(self) -> str:
        return ""

    def prepare(self) -> None:
        """Write the tool's site (configuration and content) afresh."""
        if self.site.exists():
            shutil.rmtree(self.site)
        self.site.mkdir(parents=True)
        self.write_config()
        for release in self.releases:
            self.write_release(release, original=True)

    def write_config(self) -> None:
        raise NotImplementedError

    def write_release(self, release: Release, original: bool = False) -> None:
        """Write one release's source (original: it is a corpus release, as written by corpus.py)."""
        raise NotImplementedError

    def source(self, release_id: str) -> Path:
        return self.site / "content" / release_id / "index.md"

    def edit_release(self, release_id: str, paragraph: str) -> None:
        """Append a paragraph to the release's body (the body ends every tool's source file)."""
        with open(self.source(release_id), "a", encoding="utf-8") as f:
            f.write("\n" + paragraph + "\n")

    def page_template(self) -> Path:
        """The template of a release page, as the site uses it (a site override where the tool has one)."""
        raise NotImplementedError

    def edit_page_template(self, marker: str) -> None:
        """Put a hidden paragraph holding marker before the release page template's last `</article>`
        (not an HTML comment: Hugo's html/template drops comments, so the edit would never show)."""
        path = self.page_template()
        text = re.sub(r'<p hidden class="template-edit">.*?</p>\n', "", path.read_text(encoding="utf-8"))
        head, tail = text.rsplit("</article>", 1)
        path.write_text(f'{head}<p hidden class="template-edit">{marker}</p>\n</article>{tail}', encoding="utf-8")

    def copy_photos(self, release: Release, folder: Path) -> None:
        for p in release.photos:
            target = folder / p.file
            if not target.exists():
                corpus.place_photo(release.folder / p.file, target)

    # running
    def command(self) -> list[str]:
        raise NotImplementedError

    def clean(self) -> None:
        """Delete outputs and caches, for a cold build."""
        for name in self.generated:
            path = self.site / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()

    # checking
    def page(self, release_id: str) -> Path:
        return self.site / self.output / release_id / "index.html"

    def feed(self) -> Path:
        return self.site / self.output / "feed.xml"  # Hugo's RSS is renamed to feed.xml in hugo.toml

    def index(self) -> Path:
        return self.site / self.output / "index.html"

    def pages_written(self) -> int:
        return sum(1 for _ in (self.site / self.output).rglob("*.html"))

    def searchable(self, text: str) -> bool | None:
        """Whether the site's search index holds text; None for a tool without a search index."""
        return None


class Pressekit(Tool):
    """pressekit from a snapshot of the source tree, so that one run measures one version of the code."""

    name = "pressekit"
    generated = ("output", ".pressekit")
    checkout = REPO

    def __init__(self, workdir: Path, releases: list[Release]):
        super().__init__(workdir, releases)
        self.code = workdir / "pressekit-src"
        self.env["PYTHONPATH"] = os.pathsep.join([str(self.code), self.env.get("PYTHONPATH", "")]).rstrip(os.pathsep)

    def searchable(self, text: str) -> bool | None:
        """The edit must reach the year's Pagefind index (its fragments are gzip'd JSON with the text)."""
        import gzip

        fragments = (self.site / self.output / "pagefind").glob("*/fragment/*.pf_fragment")
        return any(text.encode("utf-8") in gzip.decompress(f.read_bytes()) for f in fragments)

    def available(self) -> str | None:
        if self.code.exists():
            shutil.rmtree(self.code)
        for part in ("pressekit", "templates"):
            if (self.checkout / part).is_dir():
                shutil.copytree(self.checkout / part, self.code / part, ignore=shutil.ignore_patterns("__pycache__"))
        # byte-compiled as `pip install` leaves it: without, every run would compile the sources again
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(self.code / "pressekit")], check=True)
        probe = subprocess.run([sys.executable, "-c", "import pressekit.build, pressekit.cli"], env=self.env,
                               capture_output=True, text=True)
        if probe.returncode:
            last = (probe.stderr.strip().splitlines() or ["?"])[-1]
            return f"pressekit from {self.checkout} cannot be imported: {last}"
        return None

    def version(self) -> str:
        probe = subprocess.run([sys.executable, "-m", "pressekit.cli", "--version"], env=self.env,
                               capture_output=True, text=True)
        git = subprocess.run(["git", "-C", str(self.checkout), "log", "-1", "--format=%h"], capture_output=True, text=True)
        dirty = subprocess.run(["git", "-C", str(self.checkout), "status", "--porcelain", "pressekit", "templates"],
                               capture_output=True, text=True)
        commit = git.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else "") if git.returncode == 0 else ""
        return ", ".join(filter(None, [probe.stdout.strip() or "pressekit (version unknown)", commit]))

    def write_config(self) -> None:
        (self.site / "pressekit.toml").write_text(corpus.CONFIG.format(office=corpus.OFFICE), encoding="utf-8")
        (self.site / "abgemeldet.txt").write_text("", encoding="utf-8")
        (self.site / "releases").mkdir()

    def write_release(self, release: Release, original: bool = False) -> None:
        folder = self.site / "releases" / release.id
        folder.mkdir(exist_ok=True)
        if original:
            shutil.copyfile(release.folder / "index.md", folder / "index.md")  # the corpus bytes, all fields
        else:
            (folder / "index.md").write_text(pressekit_text(release), encoding="utf-8")
        self.copy_photos(release, folder)

    def source(self, release_id: str) -> Path:
        return self.site / "releases" / release_id / "index.md"

    def page_template(self) -> Path:
        override = self.site / "templates" / "release.html"
        if not override.exists():
            override.parent.mkdir(exist_ok=True)
            shutil.copyfile(self.code / "templates" / "release.html", override)
        return override

    def command(self) -> list[str]:
        return [sys.executable, "-m", "pressekit.cli", "build", "--site", str(self.site), "--now", NOW]


class Hugo(Tool):
    name = "hugo"
    generated = ("public", "resources", ".hugo_cache", ".hugo_build.lock")
    output = "public"

    def available(self) -> str | None:
        if shutil.which("hugo"):
            return None
        if os.geteuid() != 0:
            return "the `hugo` command is missing: install Debian's package with `sudo apt-get install hugo`"
        print("hugo is missing: apt-get install -y hugo ...", file=sys.stderr)
        install = ["apt-get", "install", "-y", "hugo"]
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        if subprocess.run(install, **quiet).returncode:
            subprocess.run(["apt-get", "update"], **quiet)
            subprocess.run(install, **quiet)
        return None if shutil.which("hugo") else "`apt-get install -y hugo` failed: Debian's hugo package is needed"

    def version(self) -> str:
        return subprocess.run(["hugo", "version"], capture_output=True, text=True).stdout.strip()

    def write_config(self) -> None:
        shutil.copytree(HERE / "hugo", self.site, dirs_exist_ok=True)
        (self.site / "content").mkdir()

    def write_release(self, release: Release, original: bool = False) -> None:
        folder = self.site / "content" / release.id
        folder.mkdir(exist_ok=True)
        (folder / "index.md").write_text(hugo_text(release), encoding="utf-8")
        self.copy_photos(release, folder)

    def page_template(self) -> Path:
        return self.site / "layouts" / "_default" / "single.html"

    def command(self) -> list[str]:
        return ["hugo", "--source", str(self.site), "--destination", "public", "--cacheDir",
                str(self.site / ".hugo_cache"), "--quiet"]


class Pelican(Tool):
    name = "pelican"
    generated = ("output", "cache")

    def __init__(self, workdir: Path, releases: list[Release]):
        super().__init__(workdir, releases)
        self.venv = workdir / "pelican-venv"
        self.binary = self.venv / "bin" / "pelican"

    def available(self) -> str | None:
        if self.binary.exists():
            return None
        print(f"installing Pelican into {self.venv} ...", file=sys.stderr)
        steps = [[sys.executable, "-m", "venv", str(self.venv)],
                 [str(self.venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "pelican", "markdown"]]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True)
            if done.returncode:
                return f"`{' '.join(step)}` failed: {(done.stderr or done.stdout).strip()[-300:]}"
        return None if self.binary.exists() else f"{self.binary} is missing after pip install pelican markdown"

    def version(self) -> str:
        done = subprocess.run([str(self.binary), "--version"], capture_output=True, text=True)
        return "pelican " + done.stdout.strip()

    def write_config(self) -> None:
        shutil.copytree(HERE / "pelican", self.site, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
        (self.site / "content").mkdir()

    def write_release(self, release: Release, original: bool = False) -> None:
        folder = self.site / "content" / release.id
        folder.mkdir(exist_ok=True)
        (folder / "index.md").write_text(pelican_text(release), encoding="utf-8")
        self.copy_photos(release, folder)

    def page_template(self) -> Path:
        return self.site / "theme" / "templates" / "article.html"

    def command(self) -> list[str]:
        return [str(self.binary), "content", "-s", "pelicanconf.py", "-o", "output", "-q"]


TOOLS = {"pressekit": Pressekit, "hugo": Hugo, "pelican": Pelican}


# --- the scenarios --------------------------------------------------------------


@dataclass
class Result:
    tool: str
    version: str
    releases: int
    pages: int = 0
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    skipped: str = ""
    load: str = ""  # the machine's load averages when the tool's runs began

    def median(self, scenario: str) -> float | None:
        good = [s.seconds for s in self.samples.get(scenario, []) if s.ok]
        return statistics.median(good) if good else None

    def peak(self, scenario: str, attr: str) -> float | None:
        good = [getattr(s, attr) for s in self.samples.get(scenario, []) if s.ok]
        return max(good) if good else None


def run_tool(tool: Tool, runs: int, timeout: float, log: Path, photos: Path | None) -> Result:
    result = Result(tool.name, tool.version(), len(tool.releases))
    result.load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n== {tool.name}: {result.version}", file=sys.stderr)
    print(f"   writing its site into {tool.site} ...", file=sys.stderr)
    tool.prepare()
    cmd, cwd = tool.command(), tool.site

    def timed(scenario: str, k: int) -> Sample:
        sample = measure(cmd, cwd, tool.env, log, timeout)
        result.samples.setdefault(scenario, []).append(sample)
        state = f"{sample.seconds:8.2f} s ({sample.cpu_seconds:.2f} s CPU)" + \
            ("" if sample.ok else f"  FAILED ({sample.note}, see {log})")
        print(f"   {LABELS[scenario]:<20} run {k + 1}/{runs}: {state}  "
              f"{sample.max_rss_mb:6.0f} MB max RSS, {sample.tree_pss_mb:6.0f} MB tree PSS", file=sys.stderr)
        return sample

    for k in range(runs):
        tool.clean()
        timed("cold", k)
    if not any(s.ok for s in result.samples["cold"]):
        result.skipped = f"the cold build failed ({result.samples['cold'][-1].note}); see {log}"
        return result
    result.pages = tool.pages_written()
    for k in range(runs):
        timed("rebuild", k)
    target = tool.releases[len(tool.releases) // 2]
    for k in range(runs):
        marker = f"Geänderter Absatz Nummer {k + 1}: Die Pressestelle hat diese Meldung am {k + 1}. Dezember korrigiert."
        tool.edit_release(target.id, marker)
        sample = timed("edit", k)
        if sample.ok and marker not in read(tool.page(target.id)):
            sample.ok, sample.note = False, f"the edit is not on {tool.page(target.id)}"
            print(f"   STALE: {sample.note}", file=sys.stderr)
        elif sample.ok and tool.searchable(marker) is False:
            sample.ok, sample.note = False, "the edit is not in the search index"
            print(f"   STALE: {sample.note}", file=sys.stderr)
    for k in range(runs):
        added = new_release(k + 1, photos)
        tool.write_release(added)
        sample = timed("new", k)
        missing = [str(p) for p in (tool.page(added.id), tool.index(), tool.feed())
                   if sample.ok and escape_html(added.title) not in read(p) and added.title not in read(p)]
        if missing:
            sample.ok, sample.note = False, "the new release is missing from " + ", ".join(missing)
            print(f"   STALE: {sample.note}", file=sys.stderr)
    for k in range(runs):
        marker = f"Vorlage {k + 1}"
        tool.edit_page_template(marker)
        sample = timed("template", k)
        if sample.ok and marker not in read(tool.page(target.id)):
            sample.ok, sample.note = False, f"the template edit is not on {tool.page(target.id)}"
            print(f"   STALE: {sample.note}", file=sys.stderr)
    return result


def read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def escape_html(text: str) -> str:
    import html

    return html.escape(text, quote=True)


# --- reporting ----------------------------------------------------------------


def fmt(value: float | None, spec: str) -> str:
    """format(value, spec), or a '-' as wide as the spec asks."""
    width = int(re.match(r"\d*", spec).group() or 0)
    return "-".rjust(width) if value is None else format(value, spec)


def tool_table(result: Result, runs: int) -> str:
    lines = [f"{result.tool}  ({result.version}; {result.releases} releases, {result.pages} HTML pages written, "
             f"median of {runs} run{'s' if runs != 1 else ''}, load average {result.load or '-'} at start)"]
    if result.skipped:
        lines.append(f"  skipped: {result.skipped}")
        if not result.samples:
            return "\n".join(lines)
    lines.append(f"  {'scenario':<20} {'wall s':>9} {'min s':>8} {'max s':>8} {'CPU s':>8} {'releases/s':>11} "
                 f"{'max RSS MB':>11} {'tree PSS MB':>12}  notes")
    for scenario in SCENARIOS:
        samples = result.samples.get(scenario, [])
        good = [s.seconds for s in samples if s.ok]
        median = result.median(scenario)
        rate = result.releases / median if median else None
        notes = "; ".join(sorted({s.note for s in samples if s.note}))
        cpu = [s.cpu_seconds for s in samples if s.ok]
        lines.append(f"  {LABELS[scenario]:<20} {fmt(median, '9.2f')} {fmt(min(good) if good else None, '8.2f')} "
                     f"{fmt(max(good) if good else None, '8.2f')} {fmt(statistics.median(cpu) if cpu else None, '8.2f')} "
                     f"{fmt(rate, '11.0f')} "
                     f"{fmt(result.peak(scenario, 'max_rss_mb'), '11.0f')} "
                     f"{fmt(result.peak(scenario, 'tree_pss_mb'), '12.0f')}  {notes}")
    return "\n".join(lines)


def ratio_table(results: dict[str, Result]) -> str:
    ours = results.get("pressekit")
    others = [r for name, r in results.items() if name != "pressekit"]
    if ours is None or not others:
        return ""
    lines = ["pressekit's time as a multiple of the other tool's (below 1.00: pressekit is faster), "
             "and of its peak tree memory",
             f"  {'vs.':<10}" + "".join(f"{LABELS[s]:>20}" for s in SCENARIOS) + f"{'memory':>10}"]
    for other in others:
        cells = []
        for scenario in SCENARIOS:
            a, b = ours.median(scenario), other.median(scenario)
            cells.append(f"{fmt(a / b if a and b else None, '.2f') + '×':>20}")
        mem_a = max(filter(None, (ours.peak(s, "tree_pss_mb") for s in SCENARIOS)), default=None)
        mem_b = max(filter(None, (other.peak(s, "tree_pss_mb") for s in SCENARIOS)), default=None)
        mem = fmt(mem_a / mem_b if mem_a and mem_b else None, ".2f") + "×"
        lines.append(f"  {other.tool:<10}" + "".join(cells) + f"{mem:>10}")
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------


def load_corpus(workdir: Path, count: int, photos: str, seed: int) -> tuple[Path, list[Release]]:
    """Write the corpus once per (count, photos, seed) and read it back."""
    folder = workdir / f"corpus-{count}-{photos}-{seed}"
    done = folder / ".complete"
    if not done.exists():
        print(f"writing the corpus ({count} releases, photos: {photos}) into {folder} ...", file=sys.stderr)
        start = time.perf_counter()
        corpus.write_corpus(folder, count, photos, seed)
        done.write_text("")
        print(f"   {time.perf_counter() - start:.1f} s", file=sys.stderr)
    releases = [read_release(p) for p in sorted((folder / "releases").glob("*/index.md"))]
    return folder, releases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="releases in the corpus (default 10000)")
    parser.add_argument("--runs", type=int, default=3, help="runs per scenario; the median is shown (default 3)")
    parser.add_argument("--tools", default="pressekit,hugo,pelican", help="comma-separated, from: " + ", ".join(TOOLS))
    parser.add_argument("--photos", choices=["none", "small", "large"], default="none",
                        help="photos for a third of the releases (default none: text only)")
    parser.add_argument("--seed", type=int, default=1, help="the corpus seed (default 1)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "pressekit-compare",
                        help="where corpus, sites, outputs and the Pelican virtualenv go (default /tmp/pressekit-compare)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds before one build is given up (default 3600)")
    parser.add_argument("--json", type=Path, help="also write the measurements as JSON to this file")
    parser.add_argument("--pressekit-source", type=Path, default=REPO,
                        help="the pressekit checkout to measure (default: the one holding this script)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.tools.split(",") if n.strip()]
    Pressekit.checkout = args.pressekit_source.resolve()
    if unknown := [n for n in names if n not in TOOLS]:
        parser.error(f"unknown tool(s) {', '.join(unknown)}; choose from {', '.join(TOOLS)}")
    if args.runs < 1 or args.count < 1:
        parser.error("--runs and --count must be at least 1")

    args.workdir.mkdir(parents=True, exist_ok=True)
    log = args.workdir / "build.log"
    log.write_text("")
    folder, releases = load_corpus(args.workdir, args.count, args.photos, args.seed)
    photo_source = (folder / ".photo-pool") if args.photos != "none" else None
    if photo_source is not None:
        pool = sorted(photo_source.glob("*.jpg"))
        photo_source = args.workdir / "new-photos"
        photo_source.mkdir(exist_ok=True)
        for i in range(1, 4):
            if not (photo_source / f"foto-{i}.jpg").exists():
                corpus.place_photo(pool[i], photo_source / f"foto-{i}.jpg")

    print(f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"memory: {'GNU time %M' if GNU_TIME.exists() else 'getrusage(RUSAGE_CHILDREN)'} + /proc tree PSS",
          file=sys.stderr)
    results: dict[str, Result] = {}
    for name in names:
        tool = TOOLS[name](args.workdir, releases)
        missing = tool.available()
        if missing:
            print(f"\n== {name}: SKIPPED: {missing}", file=sys.stderr)
            results[name] = Result(name, "", len(releases), skipped=missing)
            continue
        results[name] = run_tool(tool, args.runs, args.timeout, log, photo_source)

    photos = "text only" if args.photos == "none" else f"a third with {args.photos} photos"
    print(f"\n{args.count} releases ({photos}), {args.runs} run(s) per scenario, {os.cpu_count()} cores, "
          f"build clock {NOW}; wall seconds are medians; releases/s = releases / wall s\n")
    for result in results.values():
        print(tool_table(result, args.runs) + "\n")
    ratios = ratio_table({k: v for k, v in results.items() if v.samples})
    if ratios:
        print(ratios)
    if args.json:
        args.json.write_text(json.dumps({k: asdict(v) for k, v in results.items()}, indent=2, ensure_ascii=False))
    failed = [r for r in results.values() if r.skipped or any(not s.ok for v in r.samples.values() for s in v)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
