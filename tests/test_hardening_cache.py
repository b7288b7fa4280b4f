"""Hardening of the build cache and of photo decoding (issue 11).

A damaged cache entry is made again, never published and never fatal; a photo is checked by
one validation (a full decode under a memory bound) in `check` and `build` alike; IPTC-IIM
texts over their limits are warned about.
"""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from pressekit.cli import main
import sitekit
from sitekit import stable, write_legal_pages, write_photo, write_release


def write_site(root: Path, releases: dict[str, str] | None = None, config: str = sitekit.CONFIG) -> Path:
    """A test site with its legal pages, so that `check` reports only what a test is about."""
    return write_legal_pages(sitekit.write_site(root, releases, config))

NOW = "2025-06-01T12:00:00+02:00"
RELEASE = """\
---
title: Neue Brücke über die Aue
date: 2025-03-04
tags: [Verkehr]
photos:
  - file: bruecke.jpg
    caption: Die neue Brücke.
    credit: Jana Muster
    alt: Eine Brücke über einen Fluss
  - file: plan.png
    caption: Der Plan der Brücke.
    credit: Kreis Beispielheim
    alt: Ein Bauplan
---
Die Brücke ist 40 Meter lang.

Sie wurde in „nur“ acht Monaten gebaut.
"""
OTHER = "---\ntitle: Diese Meldung hat keine Fotos\ndate: 2025-03-05\ntags: [Umwelt]\n---\nDiese Meldung ist kurz.\n"


def make_site(root: Path) -> Path:
    """A site of two releases, one with a JPEG and a PNG photo."""
    write_site(root, {"2025-03-04-bruecke": RELEASE, "2025-03-05-kurz": OTHER})
    folder = root / "releases" / "2025-03-04-bruecke"
    write_photo(folder / "bruecke.jpg", size=(900, 600))
    write_photo(folder / "plan.png", size=(500, 400), color=(200, 60, 60), fmt="PNG")
    return root


def build(site: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["build", "--site", str(site), "--now", NOW, "--jobs", "1", *extra])
    return result.exit_code, result.output


def built(site: Path) -> None:
    """Build and assert that it succeeded with the usual report and nothing else."""
    code, output = build(site)
    report = ("Built 2 of 2 releases into ", "Nothing changed since the last build: ")
    assert code == 0 and output.startswith(report) and output.count("\n") == 1, output


def check(site: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", "--site", str(site), "--now", NOW])
    return result.exit_code, result.output


def tree(folder: Path) -> dict[str, bytes]:
    """The output's files, without the search index files no two Pagefind runs write alike."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and stable(p.relative_to(folder).as_posix())}


# --- a damaged cache ---------------------------------------------------------------------------------

def truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


def empty(data: bytes) -> bytes:
    return b""


def garble(data: bytes) -> bytes:
    """The same length, 16 bytes in the middle inverted."""
    middle = len(data) // 2
    return data[:middle] + bytes(b ^ 0xFF for b in data[middle:middle + 16]) + data[middle + 16:]


KINDS = {
    "build state": "state-*.pickle",
    "parse shards": "parse-*.pickle",
    "photo checks": "photo-checks.pickle",
    "rendered bodies": "bodies/*.html",
    "photo variants": "photos/[0-9a-f][0-9a-f]/*.jpg",
    "photo ZIPs": "photos/zip/*/*.zip",
    "photo index": "photos/index.json",
    "compiled templates": "templates/*.jinja",
    "search documents": "search-documents/*/*/index.html",
}
DAMAGE: dict[str, Callable[[bytes], bytes]] = {"truncated": truncate, "emptied": empty, "garbled": garble}


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """output/ of a clean build of the site."""
    site = make_site(tmp_path_factory.mktemp("clean") / "site")
    built(site)
    return tree(site / "output")


def damage(site: Path, pattern: str, how: Callable[[bytes], bytes]) -> list[Path]:
    """Damage every cache file matching `pattern` in place (same inode); return them."""
    found = sorted((site / ".pressekit" / "cache").glob(pattern))
    assert found, f"no cache file matches {pattern}"
    for path in found:
        data = path.read_bytes()
        with open(path, "r+b") as fp:  # in place: whatever shares the inode sees the damage too
            fp.truncate(0)
            fp.write(how(data))
    return found


def assert_builds_like_clean(site: Path, clean: dict[str, bytes]) -> None:
    built(site)
    assert tree(site / "output") == clean
    for relpath in clean:
        if relpath.endswith(".jpg"):
            with Image.open(site / "output" / relpath) as image:
                image.load()  # every published variant decodes completely


@pytest.mark.parametrize("how", DAMAGE, ids=list(DAMAGE))
@pytest.mark.parametrize("kind", KINDS, ids=list(KINDS))
def test_a_damaged_cache_entry_is_made_again_never_published(tmp_path: Path, clean: dict[str, bytes],
                                                             kind: str, how: str) -> None:
    site = make_site(tmp_path / "site")
    built(site)
    damage(site, KINDS[kind], DAMAGE[how])
    assert_builds_like_clean(site, clean)                    # nothing changed
    index = site / "releases" / "2025-03-04-bruecke" / "index.md"
    index.write_bytes(index.read_bytes())                    # a source touched
    assert_builds_like_clean(site, clean)
    damage(site, KINDS[kind], DAMAGE[how])
    shutil.rmtree(site / "output")                           # everything published again, from the cache
    assert_builds_like_clean(site, clean)


@pytest.mark.parametrize("how", DAMAGE, ids=list(DAMAGE))
def test_every_cache_file_damaged_at_once(tmp_path: Path, clean: dict[str, bytes], how: str) -> None:
    site = make_site(tmp_path / "site")
    built(site)
    cache = site / ".pressekit" / "cache"
    files = [p for p in cache.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} >= {".pickle", ".html", ".jpg", ".zip", ".json", ".pf_fragment", ".pagefind"}
    for path in files:
        damage(site, path.relative_to(cache).as_posix(), DAMAGE[how])
    shutil.rmtree(site / "output")
    assert_builds_like_clean(site, clean)


def test_a_truncated_body_is_never_the_release_page(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    built(site)
    (body,) = [p for p in (site / ".pressekit" / "cache" / "bodies").iterdir() if b"keine Fotos" in p.read_bytes()
               or b"kurz" in p.read_bytes()]
    body.write_bytes(body.read_bytes()[:60])
    shutil.rmtree(site / "output")
    built(site)
    assert "<p>Diese Meldung ist kurz.</p>" in (site / "output" / "2025-03-05-kurz" / "index.html").read_text("utf-8")
    assert "Diese Meldung ist kurz." in (site / "output" / "2025-03-05-kurz" / "email.txt").read_text("utf-8")


# --- decompression memory ------------------------------------------------------------------------------

def bomb_png(width: int, height: int, colour_type: int) -> bytes:
    """A 16-bit PNG of one colour, width x height: tiny on disk, huge when decoded."""
    channels = {0: 1, 2: 3, 6: 4}[colour_type]
    row = b"\x00" + bytes(width * channels * 2)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


BOMBS = """\
---
title: Große Bilder
date: 2025-03-04
photos:
  - file: grau.png
    caption: Ein graues Bild.
    credit: Jana Muster
    alt: Grau
  - file: farbe.png
    caption: Ein farbiges Bild.
    credit: Jana Muster
    alt: Farbe
---
Text.
"""
HINT = "  hint: scale it down, or save it as an 8-bit JPEG; a small file that claims this size may be a decompression bomb\n"
BOMB_ERRORS = (
    "releases/2025-03-04-bomben/index.md:5: {}photos[0].file: grau.png would need 200 MB to decode; at most 128 MB\n"
    + HINT +
    "releases/2025-03-04-bomben/index.md:9: {}photos[1].file: farbe.png would need 400 MB to decode; at most 128 MB\n"
    + HINT
)


@pytest.fixture(scope="module")
def bomb_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = write_site(tmp_path_factory.mktemp("bomb") / "site", {"2025-03-04-bomben": BOMBS})
    folder = site / "releases" / "2025-03-04-bomben"
    (folder / "grau.png").write_bytes(bomb_png(10_000, 10_000, 0))
    (folder / "farbe.png").write_bytes(bomb_png(10_000, 10_000, 6))
    assert (folder / "grau.png").stat().st_size < 200_000
    return site


def test_check_and_build_refuse_an_image_too_large_to_decode(bomb_site: Path) -> None:
    assert check(bomb_site) == (1, BOMB_ERRORS.format("error: ", "error: ")
                                + "\n1 release checked: 2 errors, 0 warnings.\n")
    assert build(bomb_site) == (1, BOMB_ERRORS.format("", "") + "2 problems found; nothing was written.\n")
    assert not (bomb_site / "output").exists()


@pytest.mark.parametrize("command", ["build", "check"])
def test_a_decompression_bomb_stays_under_300_mb(bomb_site: Path, command: str) -> None:
    measure = ("import resource, subprocess, sys\n"
               "done = subprocess.run([sys.executable, '-m', 'pressekit.cli', *sys.argv[1:]], capture_output=True)\n"
               "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    run = subprocess.run([sys.executable, "-c", measure, command, "--site", str(bomb_site), "--now", NOW],
                         capture_output=True, text=True, timeout=120, check=True)
    code, peak_kb = map(int, run.stdout.split())
    assert code == 1
    assert peak_kb < 300 * 1024


def test_importing_pressekit_leaves_pillows_global_limit_alone() -> None:
    from pressekit import photos  # noqa: F401 - the pixel limit is applied where pressekit opens an image

    assert Image.MAX_IMAGE_PIXELS == 1024 * 1024 * 1024 // 4 // 3  # Pillow's default


# --- check and build agree on damaged pixel data -----------------------------------------------------------

ONE_PHOTO = """\
---
title: Ein Foto
date: 2025-03-04
photos:
  - file: bild.png
    caption: Ein Bild.
    credit: Jana Muster
    alt: Rauschen in Rot, Grün und Blau
---
Text.
"""


def png_with_damaged_data(how: str) -> bytes:
    """A PNG whose header and end are fine but whose pixel data is cut short or garbled."""
    buffer = io.BytesIO()
    Image.effect_noise((300, 200), 60).convert("RGB").save(buffer, "PNG")
    data = buffer.getvalue()
    start = data.index(b"IDAT") + 4
    end = data.index(b"IEND") - 8  # the IDAT's CRC, then IEND's length
    pixels = data[start:end]
    if how == "truncated":
        pixels = pixels[: len(pixels) // 3]
        chunk = struct.pack(">I", len(pixels)) + b"IDAT" + pixels + struct.pack(">I", zlib.crc32(b"IDAT" + pixels))
        return data[: start - 8] + chunk + data[end + 4:]
    return data[:start + 100] + bytes(b ^ 0x5A for b in pixels[100:400]) + data[start + 400:]


@pytest.mark.parametrize("how", ["truncated", "garbled"])
def test_check_and_build_agree_on_damaged_pixel_data(tmp_path: Path, how: str) -> None:
    site = write_site(tmp_path / "site", {"2025-03-04-foto": ONE_PHOTO})
    (site / "releases" / "2025-03-04-foto" / "bild.png").write_bytes(png_with_damaged_data(how))
    expected = ("releases/2025-03-04-foto/index.md:5: {}photos[0].file: bild.png is truncated or damaged\n"
                "  hint: copy or export it again from the original\n")
    assert check(site) == (1, expected.format("error: ") + "\n1 release checked: 1 error, 0 warnings.\n")
    assert build(site) == (1, expected.format("") + "1 problem found; nothing was written.\n")
    assert not (site / "output").exists()


# --- IPTC-IIM limits -------------------------------------------------------------------------------------------

def test_check_warns_of_texts_over_their_iim_limits(tmp_path: Path) -> None:
    credit = "Jana Muster-Beispielfrau/ Landkreis Beispielheim"  # 48 bytes: By-line and Credit hold 32
    site = write_site(tmp_path / "site", {"2025-03-04-foto": ONE_PHOTO.replace("Jana Muster", credit)})
    write_photo(site / "releases" / "2025-03-04-foto" / "bild.png", size=(1200, 1000), fmt="PNG")
    code, output = check(site)
    assert code == 0 and output.endswith("1 release checked: 0 errors, 1 warning.\n")
    assert ("releases/2025-03-04-foto/index.md:5: warning: photos[0].credit: longer than the 32 bytes IPTC-IIM "
            "allows; it will be cut in IIM metadata\n  hint: By-line and Credit: at most 32 bytes; this text has 48\n"
            ) in output
    assert build(site)[0] == 0
    jpeg = (site / "output" / "2025-03-04-foto" / "photos" / "bild-web.jpg").read_bytes()
    assert b"\x1c\x02\x50\x00\x20" + credit.encode()[:32] + b"\x1c" in jpeg  # 2:80 By-line, cut to 32 bytes


# --- a full disk under .pressekit/ -----------------------------------------------------------------------

def no_space_under(monkeypatch: pytest.MonkeyPatch, fragment: str) -> None:
    """Every write of a file under .pressekit/ whose path holds `fragment` fails: the disk is full."""
    import errno

    write_bytes = Path.write_bytes

    def full(self: Path, data: bytes) -> int:  # type: ignore[override]
        if ".pressekit" in self.parts and fragment in str(self):
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return write_bytes(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)


FULL_CACHE = {  # which cache write meets the full disk -> the file the error names (a pattern)
    "photo variant": ("cache/photos/", r"\.pressekit/cache/photos/[0-9a-f]{2}/[0-9a-f]{64}\.[0-9a-f]{32}\.jpg"),
    "photo index": ("index.json", r"\.pressekit/cache/photos/index\.json"),
    "parse cache": ("parse-", r"\.pressekit/cache/parse-[0-9a-f]{16}-\d+\.pickle"),
    "photo checks": ("photo-checks", r"\.pressekit/cache/photo-checks\.pickle"),
    "body cache": ("/bodies/", r"\.pressekit/cache/bodies/[0-9a-f]{64}\.html"),
}


@pytest.mark.parametrize("fragment, shown", FULL_CACHE.values(), ids=FULL_CACHE.keys())
def test_a_full_disk_in_the_cache_is_an_error_and_the_next_build_recovers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fragment: str, shown: str) -> None:
    import re

    site = make_site(tmp_path / "site")
    built(site)
    before = tree(site / "output")
    folder = site / "releases" / "2025-03-04-bruecke"
    index = folder / "index.md"
    index.write_text(index.read_text("utf-8").replace("40 Meter", "42 Meter").replace("Jana Muster", "Jana Beispiel"),
                     encoding="utf-8")
    write_photo(folder / "bruecke.jpg", size=(900, 600), color=(10, 120, 10))  # new variants and checks
    with monkeypatch.context() as patch:
        no_space_under(patch, fragment)
        code, output = build(site)
    assert code == 1
    assert re.fullmatch(f"Error: cannot write {shown}: No space left on device\n", output), output
    assert tree(site / "output") == before
    assert not [p for p in (site / ".pressekit").rglob("*.tmp")]
    built(site)
    assert "42 Meter" in (site / "output" / "2025-03-04-bruecke" / "index.html").read_text("utf-8")


def test_a_full_disk_for_the_build_state_is_an_error_and_the_next_build_recovers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = make_site(tmp_path / "site")
    with monkeypatch.context() as patch:
        no_space_under(patch, "state-")
        code, output = build(site)
    assert (code, output.startswith("Error: cannot write .pressekit/cache/state-")) == (1, True), output
    assert output.endswith(".pickle: No space left on device\n")
    built(site)  # no state: everything is compared again, and the output is whole
    assert build(site)[1].startswith("Nothing changed since the last build: ")
