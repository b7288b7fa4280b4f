"""Incremental builds: after any sequence of edits, output/ equals a clean build's, byte for byte."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import typing
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from unittest import mock

from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pressekit import assemble, mail, model, pages, views
from pressekit import workers as render
from pressekit.build import build_site
from pressekit.cli import main
from pressekit.model import Attachment, Contact, Correction, Event, Photo, Release, Rights, Variant, Withdrawal
from pressekit.pages import ListPage, Teaser
from pressekit.templates import theme_dir
from pressekit.views import FeedEntry, MailView, ReleaseView
from sitekit import stable, write_photo, write_release, write_site

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
PHOTO = "photos:\n  - file: bild.jpg\n    caption: Ein Bild.\n    credit: {credit}\n    alt: Eine Wiese\n"


def release_text(title: str, body: str, tags: str = "[Verkehr]", credit: str | None = None, day: int = 4) -> str:
    photo = PHOTO.format(credit=credit) if credit else ""
    return f"---\ntitle: {title}\ndate: 2025-03-{day:02d}\ntags: {tags}\n{photo}---\n{body}\n"


def tree(folder: Path) -> dict[str, str]:
    """Digest of every output file; of the search bundles only the content-addressed fragments, since
    Pagefind writes its filter and meta indexes in an arbitrary order (Pagefind issue #638)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and stable(p.relative_to(folder).as_posix())}


def dump(expr: str, cls: type, depth: int = 0) -> str:
    """Template text printing every field of a value of the dataclass cls (paths by their file name only:
    the clean build runs in another folder)."""
    hints = typing.get_type_hints(cls, vars(pages) | vars(mail) | vars(render) | vars(model))
    out = []
    for f in dataclasses.fields(cls):
        kind, shown = hints[f.name], f"{expr}.{f.name}"
        args = typing.get_args(kind)
        if kind is Path:
            out.append(f"{f.name}={{{{ {shown}.name }}}}")
        elif dataclasses.is_dataclass(kind):
            out.append(f"{f.name}=[{dump(shown, kind, depth + 1)}]")
        elif typing.get_origin(kind) is tuple and args and dataclasses.is_dataclass(args[0]):
            var = f"x{depth}"
            out.append(f"{f.name}=[{{% for {var} in {shown} %}}({dump(var, args[0], depth + 1)}){{% endfor %}}]")
        else:
            out.append(f"{f.name}={{{{ {shown} }}}}")
    return " ".join(out)


def each(expr: str, cls: type) -> str:
    return f"{{% for v in {expr} %}}<{dump('v', cls, 1)}>{{% endfor %}}"


PAGE = "page={{ page }}\n"
LIST = PAGE + "heading={{ heading }} pager={{ pager|dictsort }} kind={{ kind }} years={{ years }} tags={{ tags }}\n" \
    "{% include '_teasers.html' %}\n"
MAIL = ("release=[" + dump("release", Release) + "]\nsubject={{ subject }}\nbody={{ body }}\nblocks={{ blocks }}\n"
        "body_html={{ body_html }}\nphotos=" + each("photos", mail.PhotoView) + "\ncontact={{ contact }}\n"
        "dateline={{ dateline }}\nrelease_url={{ release_url }}\n")
# Site templates that print every field of what each page kind and e-mail sees.
OVERRIDES = {
    "release.html": PAGE + "release=[" + dump("release", Release) + "]\nbody={{ body }}\nsummary={{ summary }}\n"
                    "photos=" + each("photos", pages.PhotoView) + "\nattachments=" + each("attachments", pages.AttachmentView)
                    + "\ncontact={{ contact }} zip={{ zip_size }}\njson_ld={{ json_ld }}\n",
    "_teasers.html": "items=" + each("items", Teaser) + "\n",
    "index.html": LIST,
    "tag.html": LIST + "tag={{ tag }} tag_feed={{ tag_feed }}\n",
    "archive.html": PAGE + "years={{ years }} tags={{ tags }}\n",
    "404.html": PAGE,
    "email.txt": MAIL,
    "email.html": MAIL,
}


class Site:
    """A small site that the test edits like a press officer would, saving files seconds apart."""

    def __init__(self, root: Path, overrides: dict[str, str] | None = None):
        self.root = write_site(root)
        for name, text in (overrides or {}).items():
            (self.root / "templates").mkdir(exist_ok=True)
            (self.root / "templates" / name).write_text(text)
        self.clock = 1_700_000_000
        self.now = NOW
        self.ids = ["2025-03-01-a", "2025-03-02-b", "2025-03-03-c"]
        for n, rid in enumerate(self.ids, 1):
            self.write(rid, release_text(f"Meldung {n}", f"Text {n}.", credit="Jana Muster" if n == 1 else None, day=n))
        write_photo(self.root / "releases" / self.ids[0] / "bild.jpg", size=(600, 400))
        self.touch_tree()

    def touch_tree(self) -> None:
        for path in sorted(self.root.rglob("*")):
            if ".pressekit" not in path.parts and "output" not in path.parts:
                self.tick(path)

    def tick(self, path: Path) -> None:
        self.clock += 2
        os.utime(path, ns=(self.clock * 10**9, self.clock * 10**9))

    def write(self, rid: str, text: str) -> None:
        folder = write_release(self.root, rid, text)
        self.tick(folder / "index.md")
        self.tick(folder)

    def edit(self, action: str, n: int) -> None:
        rid = self.ids[n % len(self.ids)] if self.ids else None
        index = self.root / "releases" / rid / "index.md" if rid else None
        if action == "body" and index:
            self.write(rid, index.read_text().replace("\n---\n", f"\n---\nNeuer Absatz {n}.\n\n", 1))
        elif action == "title" and index:
            self.write(rid, index.read_text().replace("title: ", f"title: Neu {n} ", 1))
        elif action == "tag" and index and f"Thema{n % 2}" not in index.read_text():
            self.write(rid, index.read_text().replace("tags: [", f"tags: [Thema{n % 2}, ", 1))
        elif action == "subtitle" and index and "subtitle:" not in index.read_text():
            self.write(rid, index.read_text().replace("title: ", f"subtitle: Unterzeile {n}\ntitle: ", 1))
        elif action in ("page-template", "include") and rid:
            self.edit_template("release.html" if action == "page-template" else "_teasers.html", f"<!-- {n} -->")
        elif action == "credit" and rid == self.ids[0] and index:
            self.write(rid, index.read_text().replace("credit: ", f"credit: Neu{n} ", 1))
        elif action == "correct" and index and "corrections:" not in index.read_text():
            self.write(rid, index.read_text().replace("\n---\n", f"\ncorrections:\n  - date: 2025-05-{n % 28 + 1:02d}T09:00:00+02:00"
                                                                f"\n    text: Korrektur {n}.\n---\n", 1))
        elif action == "withdraw" and index and "withdrawn:" not in index.read_text():
            day = (self.now + timedelta(days=n % 10)).date().isoformat()
            self.write(rid, index.read_text().replace("\n---\n", f"\nwithdrawn:\n  date: {day}\n  reason: Grund {n}.\n---\n", 1))
        elif action in ("expire", "label") and self._photo_release():
            rid = self._photo_release()
            index = self.root / "releases" / rid / "index.md"
            extra = (f"    expires: {(self.now + timedelta(days=n % 10)).date().isoformat()}\n" if action == "expire"
                     else f"    symbolic: true\n    source: ki\n    photographer: Jana Muster {n}\n")
            if extra.split(":")[0] not in index.read_text():
                self.write(rid, index.read_text().replace("    alt: Eine Wiese\n", "    alt: Eine Wiese\n" + extra, 1))
        elif action == "attach" and index:
            if "attachments:" not in index.read_text():
                self.write(rid, index.read_text().replace("\n---\n", "\nattachments:\n  - file: plan.pdf\n"
                                                                    "    title: Plan\n---\n", 1))
            pdf = self.root / "releases" / rid / "plan.pdf"
            pdf.write_bytes(b"%PDF-1.4 Plan\n" + b"x" * (n * 1000))  # replaced: the size the page shows changes
            self.tick(pdf)
        elif action == "later":
            self.now += timedelta(days=n % 10 + 1)
        elif action == "template":
            target = self.root / "templates" / "404.html"
            target.parent.mkdir(exist_ok=True)
            text = (theme_dir() / "404.html").read_text().replace("</h1>", f" ({n})</h1>")
            target.write_text(text)
            self.tick(target)
        elif action == "config":
            config = self.root / "pressekit.toml"
            config.write_text(config.read_text().replace('title = "', f'title = "{n} ', 1))
            self.tick(config)
        elif action == "add":
            rid = f"2025-04-{n % 28 + 1:02d}-neu{n}"
            if rid not in self.ids:
                self.ids.append(rid)
                self.write(rid, release_text(f"Neu {n}", f"Neuer Text {n}.", tags="[Umwelt]", day=n % 28 + 1))
        elif action == "delete" and rid and len(self.ids) > 1:
            shutil.rmtree(self.root / "releases" / rid)
            self.ids.remove(rid)
            self.tick(self.root / "releases")
        elif action == "rename" and rid:
            new = rid + "-x"
            (self.root / "releases" / rid).rename(self.root / "releases" / new)
            self.ids[self.ids.index(rid)] = new
            self.tick(self.root / "releases" / new)

    def _photo_release(self) -> str | None:
        """The release that has the photo (it may have been renamed), while it exists."""
        return next((rid for rid in self.ids if "    alt: Eine Wiese\n" in
                     (self.root / "releases" / rid / "index.md").read_text()), None)

    def edit_template(self, name: str, marker: str) -> None:
        """Add marker to the site's template name (made from the theme's when the site has none), inside its
        last block: a child template's text after its blocks is never rendered."""
        target = self.root / "templates" / name
        target.parent.mkdir(exist_ok=True)
        text = target.read_text() if target.exists() else (theme_dir() / name).read_text()
        head, end, tail = text.rpartition("{% endblock %}")
        target.write_text(f"{head}{marker}\n{end}{tail}" if end else text + marker + "\n")
        self.tick(target)

    def clean_build(self, target: Path, workers: bool = False) -> dict[str, str]:
        copy = target / "site"
        shutil.copytree(self.root, copy, ignore=shutil.ignore_patterns(".pressekit", "output"))
        build(copy, workers, self.now)
        return tree(copy / "output")


@contextmanager
def rendering(workers: bool) -> Iterator[None]:
    """Render every release and list page in worker processes, or every one in this process."""
    with mock.patch.object(render, "SERIAL_LIMIT", 0 if workers else 10**9):
        yield


def build(root: Path, workers: bool = False, now: datetime = NOW) -> None:
    with rendering(workers):
        build_site(root, root / "output", now, jobs=2 if workers else 1)


ACTIONS = st.sampled_from(["body", "title", "tag", "credit", "template", "config", "add", "delete", "rename",
                           "correct", "withdraw", "expire", "label", "later", "subtitle", "page-template", "include",
                           "attach"])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(ACTIONS, st.integers(0, 50)), min_size=1, max_size=4))
@example(edits=[("attach", 0), ("attach", 39)])  # found here: the feeds' enclosures kept an attachment's old size
@example(edits=[("title", 1), ("credit", 0)])  # a teaser's digest is kept only while its page is unchanged
def test_incremental_output_equals_clean_build(tmp_path_factory, edits: list[tuple[str, int]]) -> None:
    base = tmp_path_factory.mktemp("inc")
    site = Site(base / "site")
    build_site(site.root, site.root / "output", NOW)
    for step, (action, n) in enumerate(edits):
        site.edit(action, n)
        build_site(site.root, site.root / "output", site.now)
        clean = site.clean_build(base / f"clean{step}")
        assert tree(site.root / "output") == clean, (action, n)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(ACTIONS, st.integers(0, 50), st.booleans()), min_size=1, max_size=3))
def test_incremental_equals_clean_with_site_templates_printing_every_field(
        tmp_path_factory, edits: list[tuple[str, int, bool]]) -> None:
    """Site templates print every field of every view; each build renders in workers or in-process at random,
    and the clean build the other way."""
    base = tmp_path_factory.mktemp("views")
    site = Site(base / "site", OVERRIDES)
    build(site.root)
    for step, (action, n, workers) in enumerate(edits):
        site.edit(action, n)
        build(site.root, workers, site.now)
        clean = site.clean_build(base / f"clean{step}", workers=not workers)
        assert tree(site.root / "output") == clean, (action, n, workers)


def test_site_templates_see_every_field(tmp_path: Path) -> None:
    """The overrides really print the fields (a dump that printed nothing could not fail)."""
    site = Site(tmp_path / "site", OVERRIDES)
    site.edit("subtitle", 3)  # the first release, the one with a photo
    build(site.root)
    out = site.root / "output"
    page = (out / "2025-03-01-a" / "index.html").read_text()
    assert "subtitle=Unterzeile 3" in page and "credit=Jana Muster" in page and "path=bild.jpg" in page
    index = (out / "index.html").read_text()
    assert index.count("subtitle=Unterzeile 3") == 1 and "body= " in index  # a teaser's release has no body
    assert "subtitle=Unterzeile 3" in (out / "themen" / "verkehr" / "index.html").read_text()
    assert "subtitle=Unterzeile 3" in (out / "2025-03-01-a" / "email.txt").read_text()


def test_list_pages_are_the_same_in_workers_and_in_process(tmp_path: Path) -> None:
    site = Site(tmp_path / "site", OVERRIDES)
    outputs, started = [], []
    processes = render.RenderPool._processes

    def spy(pool: render.RenderPool) -> object:
        started.append(pool)
        return processes(pool)
    for workers in (False, True):
        shutil.rmtree(site.root / ".pressekit", ignore_errors=True)
        shutil.rmtree(site.root / "output", ignore_errors=True)
        with mock.patch.object(render.RenderPool, "_processes", spy):
            build(site.root, workers)
        assert bool(started) == workers
        outputs.append(tree(site.root / "output"))
    assert outputs[0] == outputs[1]


# --- every field a template can reach is part of its view's key -----------------------------------------

def _bumped(value: object) -> Iterator[tuple[str, object]]:
    """(where, value with one field changed), for every field of value, nested dataclasses and tuples included."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            for where, new in _bumped(getattr(value, f.name)):
                yield f.name + where, dataclasses.replace(value, **{f.name: new})  # type: ignore[type-var]
    elif isinstance(value, tuple):
        yield "+", value + value[:1]
        for i, item in enumerate(value):
            for where, new in _bumped(item):
                yield f"[{i}]{where}", value[:i] + (new,) + value[i + 1:]
    elif isinstance(value, dict):
        yield "+", {**value, "neu": next(iter(value.values()))}
        for key, item in value.items():
            for where, new in _bumped(item):
                yield f"[{key}]{where}", {**value, key: new}
    elif isinstance(value, bool):
        yield "", not value
    elif isinstance(value, (int, float)):
        yield "", value + 1
    elif isinstance(value, str):
        yield "", value + "x"
    elif isinstance(value, datetime):
        yield "", value + timedelta(minutes=1)
    elif isinstance(value, Path):
        yield "", value / "x"
    else:
        raise AssertionError(f"no way to change a {type(value).__name__}; give the sample view a value")


def _sample_views(tmp_path: Path) -> list[object]:
    """One view of each kind with every field set (no None, no empty tuple), so every field can be changed."""
    when = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
    rights = Rights("press", "Nur mit Fotonachweis", "© Kreis", "https://example.org/rechte")
    photo = Photo("bild.jpg", tmp_path / "bild.jpg", "Ein Bild.", "Jana Muster", "Eine Wiese", rights, 9,
                  expires=when, symbolic=True, source="ki", photographer="Jana Muster")
    contact = Contact("pressestelle", "Pressestelle", "Jana Muster", "0221/1", "presse@example.org")
    release = Release("2025-03-01-a", tmp_path / "index.md", "Titel", when, True, "Text.", 12, "Unterzeile",
                      "Kurz", "Auenfeld", when, when, ("Verkehr",), contact, False, True, (photo,),
                      (Attachment("a.pdf", tmp_path / "a.pdf", "Bericht", 14),),
                      (Correction(when, "Korrektur.", 15),), Withdrawal(when, "Grund.", 16),
                      Event(when, "Kreishaus", 17, when, "Straße 1", "bis Montag", True))
    variant = Variant("web", "2025-03-01-a/photos/bild-web.jpg", 400, 300, 1234)
    variants = {(release.id, photo.file): (variant,)}
    teaser = Teaser(release.without_body, "2025-03-01-a/", "Kurz", variant, "Eine Wiese")
    return [ReleaseView(release, variants, {"a.pdf": 10}, 99, "ENTWURF"),
            MailView(release, variants, {variant.relpath: tmp_path / "bild-web.jpg"}, {"a.pdf": 10}),
            FeedEntry(release, variants, {"a.pdf": 10, "bild.jpg": 2000}), teaser,
            ListPage("index.html", "index.html", "Titel", "Titel", (teaser,), (("older", "seite/1/"),),
                     (("kind", "index"),))]


def test_every_field_of_every_view_is_in_its_key(tmp_path: Path) -> None:
    for view in _sample_views(tmp_path):
        changes = list(_bumped(view))
        assert len(changes) > 10
        for where, changed in changes:
            assert changed.digest != view.digest, f"{type(view).__name__}.{where} is not part of the key"  # type: ignore[attr-defined]
        assert type(view)(**{f.name: getattr(view, f.name) for f in dataclasses.fields(view)}).digest == view.digest  # type: ignore[arg-type, attr-defined]


def test_no_change_rebuild_renders_nothing(tmp_path: Path) -> None:
    site = Site(tmp_path / "site")
    runner = CliRunner()
    args = ["build", "--site", str(site.root), "--now", NOW.isoformat(), "--stats"]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "variants made: 3, reused: 0" in first.output
    second = runner.invoke(main, args)
    assert "Nothing changed since the last build" in second.output
    assert "pages rendered: 0," in second.output and "variants made: 0," in second.output
    site.touch_tree()  # every file saved again without a change: stamps differ, keys do not
    third = runner.invoke(main, args)
    assert "pages rendered: 0," in third.output and "variants made: 0, reused: 3" in third.output
    assert "0 files written" in third.output


def test_one_edit_renders_only_what_lists_it(tmp_path: Path) -> None:
    site = Site(tmp_path / "site")
    build_site(site.root, site.root / "output", NOW)
    before = {p: p.stat().st_mtime_ns for p in (site.root / "output").rglob("*.html")}
    index = site.root / "releases" / "2025-03-03-c" / "index.md"
    site.write("2025-03-03-c", index.read_text() + "\nEin Nachtrag am Ende.\n")  # the summary stays
    report = build_site(site.root, site.root / "output", NOW)
    changed = sorted(p.relative_to(site.root / "output").as_posix()
                     for p, t in before.items() if p.stat().st_mtime_ns != t)
    assert changed == ["2025-03-03-c/email.html", "2025-03-03-c/index.html"]
    assert "Ein Nachtrag am Ende." in (site.root / "output" / "2025-03-03-c" / "email.txt").read_text()
    assert report.pages_rendered == 1 and report.variants_made == 0


def test_bodies_are_read_from_the_releases_not_kept_in_the_parse_cache(tmp_path: Path) -> None:
    """The parse cache holds every field but the body; a template edit renders every page again, each
    with the body read from its index.md, as a clean build does."""
    site = Site(tmp_path / "site")
    build_site(site.root, site.root / "output", NOW)
    shards = list((site.root / ".pressekit" / "cache").glob("parse-*.pickle"))
    assert shards and not any(b"Text 2." in p.read_bytes() for p in shards)
    assert any("Meldung 2".encode() in p.read_bytes() for p in shards)
    site.edit("page-template", 7)
    site.edit("template", 8)
    report = build_site(site.root, site.root / "output", NOW)
    assert report.pages_rendered >= 3
    assert "Text 2." in (site.root / "output" / "2025-03-02-b" / "index.html").read_text()
    assert tree(site.root / "output") == site.clean_build(tmp_path / "clean")


def test_an_edit_makes_and_digests_the_views_of_the_edited_release_only(tmp_path: Path) -> None:
    """Every other release's view inputs are as the last build remembered them: their keys are kept."""
    site = Site(tmp_path / "site")
    build_site(site.root, site.root / "output", NOW)
    index = site.root / "releases" / "2025-03-03-c" / "index.md"
    site.write("2025-03-03-c", index.read_text() + "\nEin Nachtrag am Ende.\n")
    keyed: list[str] = []
    real = assemble._release_keys
    with mock.patch.object(assemble, "_release_keys", side_effect=lambda inputs, r: keyed.append(r.id) or real(inputs, r)):
        build_site(site.root, site.root / "output", NOW)
    assert keyed == ["2025-03-03-c"]


def test_an_edit_rewrites_one_shard_of_the_state_and_a_shard_of_another_build_is_never_used(tmp_path: Path) -> None:
    site = Site(tmp_path / "site")
    build_site(site.root, site.root / "output", NOW)
    cache = site.root / ".pressekit" / "cache"
    shards = {p: p.read_bytes() for p in cache.glob("state-*-releases-*.pickle")}
    assert len(shards) == 16
    index = site.root / "releases" / "2025-03-03-c" / "index.md"
    site.write("2025-03-03-c", index.read_text() + "\nEin Nachtrag am Ende.\n")
    build_site(site.root, site.root / "output", NOW)
    (changed,) = [p for p, data in shards.items() if p.read_bytes() != data]
    changed.write_bytes(shards[changed])  # intact, but kept by the build before
    site.write("2025-03-03-c", index.read_text() + "\nNoch ein Nachtrag.\n")
    with mock.patch.object(assemble, "_release_keys", side_effect=assemble._release_keys) as keyed:
        build_site(site.root, site.root / "output", NOW)
    assert keyed.call_count == 3  # the releases' part is not trusted: every release is made again
    assert tree(site.root / "output") == site.clean_build(tmp_path / "clean")

    shards = {p: p.read_bytes() for p in cache.glob("state-*-releases-*.pickle")}
    site.write("2025-03-03-c", index.read_text() + "\nDer dritte Nachtrag.\n")
    build_site(site.root, site.root / "output", NOW)
    (changed,) = [p for p, data in shards.items() if p.read_bytes() != data]
    changed.write_bytes(shards[changed])
    shutil.rmtree(site.root / "releases" / "2025-03-02-b")  # its files must leave output/ all the same
    build_site(site.root, site.root / "output", NOW)
    assert not (site.root / "output" / "2025-03-02-b").exists()
    assert tree(site.root / "output") == site.clean_build(tmp_path / "clean-2")


def test_an_edit_paginates_only_the_lists_that_show_what_changed(tmp_path: Path) -> None:
    """A list whose teasers, title and template are as the last build remembered keeps its page keys."""
    site = Site(tmp_path / "site")
    build_site(site.root, site.root / "output", NOW)
    index = site.root / "releases" / "2025-03-02-b" / "index.md"
    site.write("2025-03-02-b", index.read_text() + "\nEin Nachtrag am Ende.\n")  # no list shows the body
    with mock.patch.object(pages.PageRenderer, "list_pages", side_effect=AssertionError("paginated")):
        build_site(site.root, site.root / "output", NOW)
    site.write("2025-03-02-b", index.read_text().replace("title: ", "title: Neu ", 1))
    paginated: list[str] = []
    real = pages.PageRenderer.list_pages
    with mock.patch.object(pages.PageRenderer, "list_pages", autospec=True,
                           side_effect=lambda self, items, base, *a, **k: paginated.append(base) or real(self, items, base, *a, **k)):
        build_site(site.root, site.root / "output", NOW)
    assert sorted(paginated) == ["", "2025/", "themen/verkehr/"]
    assert "Neu Meldung 2" in (site.root / "output" / "themen" / "verkehr" / "index.html").read_text()


def test_an_edit_compiles_no_template_and_a_damaged_compiled_one_is_compiled_again(tmp_path: Path) -> None:
    """(An edit of the newest release checks the templates again with it as the sample: not this one.)"""
    site = Site(tmp_path / "site")
    build_site(site.root, site.root / "output", NOW)
    index = site.root / "releases" / "2025-03-02-b" / "index.md"
    site.write("2025-03-02-b", index.read_text() + "\nEin Nachtrag am Ende.\n")
    with mock.patch("jinja2.Environment.compile", side_effect=AssertionError("compiled")):
        build_site(site.root, site.root / "output", NOW)
    for path in (site.root / ".pressekit" / "cache" / "templates").iterdir():
        path.write_bytes(path.read_bytes()[:-20] + bytes(20))  # garbled: the seal no longer matches
    site.write("2025-03-02-b", index.read_text() + "\nNoch ein Nachtrag.\n")
    build_site(site.root, site.root / "output", NOW)
    assert "Noch ein Nachtrag." in (site.root / "output" / "2025-03-02-b" / "index.html").read_text()


def test_an_edit_parses_no_template_to_find_what_it_includes(tmp_path: Path) -> None:
    """What each template includes is remembered by its source: after an edit to a release only the
    templates' text is read, none is parsed again; an edited template is parsed once more."""
    site = Site(tmp_path / "site")
    build_site(site.root, site.root / "output", NOW)
    index = site.root / "releases" / "2025-03-03-c" / "index.md"
    site.write("2025-03-03-c", index.read_text() + "\nEin Nachtrag am Ende.\n")
    with mock.patch("pressekit.views.meta.find_referenced_templates", side_effect=AssertionError("parsed")):
        build_site(site.root, site.root / "output", NOW)
    site.edit_template("release.html", "<!-- neu -->")
    parsed = []
    real = views.meta.find_referenced_templates
    with mock.patch("pressekit.views.meta.find_referenced_templates",
                    side_effect=lambda ast: parsed.append(1) or real(ast)):
        build_site(site.root, site.root / "output", NOW)
    assert len(parsed) == 1


def test_page_template_edit_renders_pages_only(tmp_path: Path) -> None:
    """A page template edit renders the release pages again, from memoised Markdown; e-mails and lists stay."""
    site = Site(tmp_path / "site")
    build(site.root)
    before = {p: p.stat().st_mtime_ns for p in (site.root / "output").rglob("*") if p.is_file()}
    site.edit_template("release.html", "<!-- neu -->")
    with mock.patch.object(render, "render_html", side_effect=AssertionError("Markdown rendered again")):
        report = build_site(site.root, site.root / "output", NOW, jobs=1)
    changed = sorted(p.relative_to(site.root / "output").as_posix()
                     for p, t in before.items() if p.stat().st_mtime_ns != t)
    assert changed == [f"{rid}/index.html" for rid in sorted(site.ids)]
    assert report.pages_rendered == 3
    assert all("<!-- neu -->" in (site.root / "output" / rel).read_text() for rel in changed)


def test_included_template_edit_renders_the_pages_including_it(tmp_path: Path) -> None:
    site = Site(tmp_path / "site")
    build(site.root)
    before = {p: p.stat().st_mtime_ns for p in (site.root / "output").rglob("*") if p.is_file()}
    site.edit_template("_teasers.html", "<!-- neu -->")
    build(site.root)
    changed = sorted(p.relative_to(site.root / "output").as_posix()
                     for p, t in before.items() if p.stat().st_mtime_ns != t)
    assert changed == ["2025/index.html", "index.html", "themen/verkehr/index.html"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=st.sets(st.sampled_from("abcdefghij"), max_size=10), after=st.sets(st.sampled_from("abcdefghij"), max_size=10),
       written=st.sets(st.sampled_from("abcdefghij"), max_size=10), spliced=st.sampled_from([0, 200]))
def test_the_stamp_takes_over_the_stats_of_unwritten_files_and_stats_the_rest(tmp_path: Path, before: set[str],
                                                                               after: set[str], written: set[str],
                                                                               spliced: int) -> None:
    """What the next build's no-change check compares: each file's row is its own, whatever was added or
    removed, whether the rows are spliced around a few changes or taken over one by one."""
    from array import array

    from pressekit import state
    from pressekit.state import Stamp, _stats

    folder = tmp_path / f"out-{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    names = sorted(before)
    for n, rel in enumerate(names):
        (folder / rel).write_text("x" * n)
    old = _stats(folder, names, "\n".join(names), None)
    assert old is not None
    last = Stamp("b", "i", NOW, array("q"), None, "\n".join(names), old)
    for n, rel in enumerate(sorted(after)):
        if rel not in before or rel in written:
            (folder / rel).write_text("y" * (n + 20))
    for rel in before - after:
        (folder / rel).unlink()
    names = sorted(after)
    rewritten = {rel for rel in written if rel in after} | (after - before)
    with mock.patch.object(state, "SPLICED", spliced):
        stats = _stats(folder, names, "\n".join(names), (last, sorted(rewritten)))
    assert stats == array("q", [v for rel in names for v in ((folder / rel).stat().st_size, (folder / rel).stat().st_mtime_ns)])


def test_a_site_built_by_other_code_of_the_same_version_is_built_afresh(tmp_path: Path) -> None:
    """pressekit's code changes without its version (an edited install, another checkout): the next build
    takes nothing the old code left in .pressekit/ (its formats may differ) for its own, and its output is
    a clean build's."""
    import subprocess
    import sys

    code = tmp_path / "code"
    shutil.copytree(Path(build_site.__code__.co_filename).parent, code / "pressekit",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(theme_dir(), code / "templates")  # the theme, where a checkout keeps it
    site = Site(tmp_path / "site")

    def build_with_code() -> str:
        done = subprocess.run([sys.executable, "-m", "pressekit", "build", "--site", str(site.root), "--now",
                               NOW.isoformat()], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                              env={**os.environ, "PYTHONPATH": str(code)})
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        return done.stdout

    assert build_with_code().startswith("Built ")
    with open(code / "pressekit" / "model.py", "a", encoding="utf-8") as source:
        source.write("\n# another revision\n")
    assert build_with_code().startswith("Built ")
    assert build_with_code().startswith("Nothing changed")
    assert tree(site.root / "output") == site.clean_build(tmp_path / "clean")
