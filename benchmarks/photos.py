"""Benchmark of the photo stage: cold and warm make_variants against the naive way, on 24 MP JPEGs.

    python benchmarks/photos.py --count 20 [--workdir DIR] [--jobs N] [--warm-count 100]

Not a timed test: it prints photos/s, megapixels/s and ratios for the issue's targets
(cold >= 5.5 photos/s on 2 cores, warm rebuild of 100 unchanged photos < 1 s).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageCms, ImageOps

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from photo_helpers import DISPLAY_P3, SiteMaker, rgb_profile, scene  # noqa: E402

from pressekit import __version__, photos  # noqa: E402
from pressekit.photos import image as photo_image  # noqa: E402
from pressekit.config import DEFAULT_VARIANTS  # noqa: E402
from pressekit.model import Photo, Release  # noqa: E402
from pressekit.photos.meta import PhotoMeta  # noqa: E402

SIZE = (6000, 4000)
MEGAPIXELS = SIZE[0] * SIZE[1] / 1e6


def make_sources(site: SiteMaker, count: int) -> list[Path]:
    """Write `count` 24 MP JPEGs once; of every four: plain, portrait (EXIF orientation 6), sRGB profile, P3 profile."""
    folder = site.root / "sources"
    folder.mkdir(parents=True, exist_ok=True)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    p3 = rgb_profile("Display P3 (approx.)", DISPLAY_P3)
    paths = []
    for n in range(count):
        path = folder / f"foto-{n:03d}.jpg"
        paths.append(path)
        if path.exists():
            continue
        exif = Image.Exif()
        exif[0x0112] = 6 if n % 4 == 1 else 1
        exif[0x010F], exif[0x0110] = "Kamera GmbH", "K-1"
        icc = {0: None, 1: None, 2: srgb, 3: p3}[n % 4]
        image = scene(SIZE, seed=n)
        options = {"quality": 90, "exif": exif.tobytes()} | ({"icc_profile": icc} if icc else {})
        image.save(path, "JPEG", **options)
        print(f"  wrote {path.name} ({path.stat().st_size / 1e6:.1f} MB)", flush=True)
    return paths


def releases_for(site: SiteMaker, sources: list[Path], count: int, tag: str) -> list[Release]:
    """Return `count` one-photo releases whose photos are hard links to the sources, round robin."""
    out = []
    for n in range(count):
        folder = site.folder(f"2025-07-{tag}-{n:03d}")
        target = folder / "foto.jpg"
        if not target.exists():
            os.link(sources[n % len(sources)], target)
        k = n % len(sources)  # the same texts for the same source: its variants are in the cache already
        photo = Photo("foto.jpg", target, f"Bild {k}: Die Straße in Süd", f"Jürgen Müller/ Kreis Süd {k}",
                      "Eine Straße", "press", 9)
        out.append(site.release(folder.name, photo))
    return out


def naive(sources: list[Path]) -> None:
    """Make the default variants the naive way: full decode, exif_transpose, LANCZOS per variant, one process."""
    for path in sources:
        with Image.open(path) as opened:
            image = ImageOps.exif_transpose(opened).convert("RGB")
        for spec in DEFAULT_VARIANTS:
            width = min(spec.width, image.width)
            variant = image.resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
            variant.save(io.BytesIO(), "JPEG", quality=spec.quality, optimize=True, progressive=True)


def by_kind(sources: list[Path], jobs: int) -> None:
    """Print the one-process time of each kind of source, and what the mix would give on idle cores."""
    meta = PhotoMeta("Jürgen Müller/ Kreis Süd", "Bild", "Alt", "© Kreis Süd", "Nur mit Fotonachweis", "")
    kinds = ["landscape", "portrait (orientation 6)", "landscape, sRGB profile", "landscape, Display P3 profile"]
    seconds = []
    for n, kind in enumerate(kinds[: len(sources)]):
        best = min(_seconds(lambda: list(photo_image.render_variants(sources[n], DEFAULT_VARIANTS, meta))) for _ in range(3))
        seconds.append(best)
        print(f"  {kind:<32} {best:6.3f} s per photo in one process ({1 / best:5.2f} photos/s)")
    total = sum(seconds[n % len(seconds)] for n in range(len(sources)))
    print(f"  this mix on {jobs} idle cores (estimate from these): {jobs * len(sources) / total:.2f} photos/s")


def _seconds(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def timed(label: str, photos_done: int, seconds: float) -> float:
    """Print one figure line; return photos per second."""
    rate = photos_done / seconds
    print(f"{label:<34} {photos_done:4d} photos {seconds:8.2f} s {rate:7.2f} photos/s {rate * MEGAPIXELS:8.1f} MP/s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20, help="number of 24 MP source photos (default 20)")
    parser.add_argument("--workdir", type=Path, help="keep sources and cache here (default: a temporary folder)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="worker processes (default: all cores)")
    parser.add_argument("--warm-count", type=int, default=100, help="photos in the warm rebuild (default 100)")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive baseline")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="pressekit-bench-"))
    site = SiteMaker(workdir / "site")
    print(f"sources in {site.root / 'sources'}; {args.jobs} jobs; pressekit {__version__}; "
          f"load average {os.getloadavg()[0]:.1f}")
    sources = make_sources(site, args.count)
    cache = workdir / "cache"
    for old in (cache, workdir / "cache-single"):
        shutil.rmtree(old, ignore_errors=True)
    config = site.config()

    releases = releases_for(site, sources, args.count, "cold")
    start = time.perf_counter()
    cold = photos.make_variants(releases, config, cache, jobs=args.jobs)
    cold_rate = timed("cold (empty cache)", args.count, time.perf_counter() - start)
    assert not cold.errors and cold.made == 3 * args.count, (cold.errors, cold.made)
    start = time.perf_counter()
    warm = photos.make_variants(releases, config, cache, jobs=args.jobs)
    timed("warm (nothing changed)", args.count, time.perf_counter() - start)
    assert warm.made == 0

    many = releases_for(site, sources, args.warm_count, "warm")
    photos.make_variants(many, config, cache, jobs=args.jobs)  # hashes the new paths once, makes the ZIPs
    start = time.perf_counter()
    again = photos.make_variants(many, config, cache, jobs=args.jobs)
    seconds = time.perf_counter() - start
    timed(f"warm rebuild of {args.warm_count} photos", args.warm_count, seconds)
    assert again.made == 0

    start = time.perf_counter()
    photos.make_variants(releases_for(site, sources, min(args.count, 8), "single"), config,
                         workdir / "cache-single", jobs=1)
    single_rate = timed("cold, one process", min(args.count, 8), time.perf_counter() - start)

    print("by kind (best of 3):")
    by_kind(sources, args.jobs)
    if not args.no_naive:
        start = time.perf_counter()
        naive(sources)
        naive_rate = timed("naive (full decode, one process)", args.count, time.perf_counter() - start)
        print(f"cold / naive: {cold_rate / naive_rate:.1f}x; one process / naive: {single_rate / naive_rate:.1f}x")
    print(f"load average at the end {os.getloadavg()[0]:.1f} (other work on the machine skews every figure)")
    if not args.workdir:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
