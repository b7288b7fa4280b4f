"""Photo variants: credited sRGB JPEGs in the configured sizes, cached and made in parallel.

`make_variants` decodes each source once, derives all its variants from that decode, and keeps
them in a cache keyed by content, settings, texts and version; a cached variant or ZIP carries the
digest of its bytes in its name and is used only when its bytes still match it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, as_completed
from dataclasses import astuple, dataclass
from pathlib import Path

from .. import __version__
from ..cache import named_digest, read_sealed, write_atomic, write_sealed
from ..config import Config, VariantSpec
from ..errors import SourceError, display_path
from ..model import Photo, Release, Variant
from ..output import OutputFile
from ..processes import pool_context
from .meta import PhotoMeta, build_zip, credits_text, photo_meta
from .check import (
    PhotoProblem,
    opened_image,
    photo_error,
    exif_orientation,
    upright_size,
    print_spec,
    photo_clashes,
    clash_error,
)

CACHE_FORMAT = 1                  # bump when rendering changes within one pressekit version


# --- the cache and the parallel run -----------------------------------------------------------------

@dataclass(frozen=True)
class _Job:
    """One photo's work for a worker process: decode once, write `todo` variants (spec, key) into the cache."""

    path: Path
    meta: PhotoMeta
    root: Path
    todo: tuple[tuple[VariantSpec, str], ...]
    print_name: str = ""  # the variant that declares 300 dpi


@dataclass(frozen=True)
class _Plan:
    """One photo of one release: its checked variants already in the cache, and the work still to do."""

    release: Release
    index: int
    shown: str
    found: dict[str, Path]   # variant name -> cached file whose bytes match its name
    job: _Job | None

    @property
    def photo(self) -> Photo:
        return self.release.photos[self.index]


def _entry_path(root: Path, key: str, data: bytes, ext: str) -> Path:
    """Return where cached bytes of `key` live: `<key[:2]>/<key>.<digest of the bytes>.<ext>`."""
    return root / key[:2] / f"{key}.{named_digest(data)}.{ext}"


def _store_entry(root: Path, key: str, data: bytes, ext: str) -> Path:
    """Write `data` into the cache under `key` (its digest in the name), atomically; return the path."""
    path = _entry_path(root, key, data, ext)
    write_atomic(path, data)
    return path


def run_job(job: _Job) -> PhotoProblem | dict[str, Path]:
    """Make a job's variants into the cache and return their paths; the problem instead when the source is unusable."""
    from .image import render_variants

    keys = dict((spec.name, key) for spec, key in job.todo)
    made: dict[str, Path] = {}
    try:
        for spec, data in render_variants(job.path, [spec for spec, _ in job.todo], job.meta, job.print_name):
            made[spec.name] = _store_entry(job.root, keys[spec.name], data, "jpg")
    except PhotoProblem as problem:
        return problem
    return made


class _Hashes:
    """sha256 of files (sources and cache entries), remembered by (size, mtime, ctime, inode) in cache/photos/index.json."""

    def __init__(self, root: Path):
        self.file = root / "index.json"
        try:
            known = json.loads(read_sealed(self.file) or b"{}")
        except ValueError:
            known = {}
        self.known: dict[str, list[object]] = known if isinstance(known, dict) else {}
        self.changed = False

    def digest(self, path: Path) -> str:
        """Return the sha256 of `path`, hashing the file only when its stat changed (OSError when unreadable)."""
        st = path.stat()
        stamp: list[object] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
        entry = self.known.get(str(path))
        if isinstance(entry, list) and len(entry) == 5 and entry[:4] == stamp:
            return str(entry[4])
        digest = hashlib.sha256()
        with open(path, "rb") as fp:
            while chunk := fp.read(1 << 20):
                digest.update(chunk)
        self.known[str(path)] = stamp + [digest.hexdigest()]
        self.changed = True
        return digest.hexdigest()

    def intact(self, path: Path) -> bool:
        """Return True when the bytes of the cache entry at `path` still have the digest its name carries."""
        try:
            return self.digest(path)[:32] == path.name.split(".")[1]
        except (OSError, IndexError):
            return False

    def save(self) -> None:
        """Write the index back (sealed) when it changed, dropping files that are gone."""
        if self.changed:
            alive = {k: v for k, v in sorted(self.known.items()) if Path(k).exists()}
            write_sealed(self.file, json.dumps(alive, indent=0).encode("utf-8"))


class _Entries:
    """The cached files of one kind (variants, ZIPs): found by key, and only when their bytes are intact."""

    def __init__(self, root: Path, hashes: _Hashes):
        self.root, self.hashes = root, hashes
        self.listed: dict[Path, dict[str, list[Path]]] = {}

    def find(self, key: str) -> Path | None:
        """Return the intact entry of `key`; damaged ones are deleted, to be made again."""
        folder = self.root / key[:2]
        if folder not in self.listed:
            self.listed[folder] = {}
            if folder.is_dir():
                for path in sorted(folder.iterdir()):
                    if not path.name.startswith("."):  # temporary files of an interrupted write
                        self.listed[folder].setdefault(path.name.split(".")[0], []).append(path)
        for path in self.listed[folder].get(key, []):
            if self.hashes.intact(path):
                return path
            path.unlink(missing_ok=True)
        return None


def _key(*parts: object) -> str:
    """Return the sha256 of `parts` with the cache format and pressekit version."""
    text = json.dumps([CACHE_FORMAT, __version__, *parts], ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _plan_photo(release: Release, index: int, shown: str, config: Config, entries: _Entries) -> _Plan:
    """Return the plan of one photo: its intact cached variants, and a job for the others."""
    photo = release.photos[index]
    meta = photo_meta(photo, config)
    source = entries.hashes.digest(photo.path)
    printed = config.roles.print
    found: dict[str, Path] = {}
    todo: list[tuple[VariantSpec, str]] = []
    for spec in config.variants:
        key = _key(source, astuple(spec), astuple(meta), spec.name == printed)
        path = entries.find(key)
        if path is None:
            todo.append((spec, key))
        else:
            found[spec.name] = path
    job = _Job(photo.path, meta, entries.root, tuple(todo), printed) if todo else None
    return _Plan(release, index, shown, found, job)


def _plan(releases: Sequence[Release], config: Config, root: Path, hashes: _Hashes) -> tuple[list[_Plan], list[SourceError]]:
    """Return a plan per photo of `releases`, and the errors of photos that cannot be planned."""
    entries = _Entries(root, hashes)
    plans, errors = [], []
    for release in releases:
        if not release.photos:
            continue
        shown = display_path(release.source, config.root)
        clashes = photo_clashes(release)
        errors += [clash_error(release, shown, i, earlier) for i, earlier in clashes.items()]
        for i, photo in enumerate(release.photos):
            try:
                if i not in clashes:
                    plans.append(_plan_photo(release, i, shown, config, entries))
            except OSError as exc:
                missing = isinstance(exc, FileNotFoundError)
                problem = PhotoProblem("does not exist" if missing else f"cannot be read: {exc.strerror}")
                errors.append(photo_error(shown, photo, i, problem))
    return plans, errors


def _cost(job: _Job) -> int:
    """Return the pixel count of a job's largest variant (0 if unreadable), to start the slowest first."""
    from .image import fit_width

    try:
        with opened_image(job.path) as image:
            return math.prod(fit_width(upright_size(image.size, exif_orientation(image)), max(s.width for s, _ in job.todo)))
    except PhotoProblem:
        return 0


Outcome = PhotoProblem | dict[str, Path]  # what a job gives: the source's problem, or variant name -> cached file


def _run(jobs: list[_Job], workers: int, tick: Callable[[], None]) -> list[Outcome]:
    """Run `jobs` (in a process pool when worth it), calling `tick` after each; return their outcomes in order."""
    outcomes: list[Outcome] = [{}] * len(jobs)
    if workers <= 1 or len(jobs) <= 1:
        for n, job in enumerate(jobs):
            outcomes[n] = run_job(job)
            tick()
        return outcomes
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=pool_context(__name__)) as pool:
        # Longest first: a portrait decoded at full size must not be the last one left running.
        order = sorted(range(len(jobs)), key=lambda n: -_cost(jobs[n]))
        futures: dict[Future[Outcome], int] = {pool.submit(run_job, jobs[n]): n for n in order}
        for future in as_completed(futures):
            outcomes[futures[future]] = future.result()
            tick()
    return outcomes


# --- the result --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PhotoResult:
    """What the photo stage made: variants per photo, files for output/, errors and cache counts."""

    variants: dict[tuple[str, str], tuple[Variant, ...]]   # (release.id, photo.file) -> variants, config order
    files: list[OutputFile]
    errors: list[SourceError]
    made: int
    reused: int


def variant_relpath(release: Release, photo: Photo, spec: VariantSpec) -> str:
    """Return the path under output/ of one variant of one photo."""
    return f"{release.id}/photos/{photo.stem}-{spec.name}.jpg"


def _variant(release: Release, photo: Photo, spec: VariantSpec, path: Path) -> Variant:
    """Return the Variant of a cached file, reading its size from the JPEG header."""
    from PIL import Image

    with Image.open(path, formats=["JPEG"]) as image:
        width, height = image.size
    return Variant(spec.name, variant_relpath(release, photo, spec), width, height, path.stat().st_size)


Done = tuple[_Plan, dict[str, Path]]  # a plan whose variants all exist: variant name -> cached file


def _zip_file(release: Release, config: Config, zips: _Entries, done: Sequence[Done]) -> OutputFile:
    """Return fotos.zip of a release (cached by its contents, checked like a variant) as an OutputFile."""
    spec = print_spec(config)
    members = [(f"{plan.photo.stem}-{spec.name}.jpg", plan.photo, paths[spec.name]) for plan, paths in done]
    text = credits_text(release, config, [(name, photo) for name, photo, _ in members])
    key = _key(text, [(name, path.name) for name, _, path in members])  # member files are named by their digest
    target = zips.find(key)
    if target is None:
        target = _store_entry(zips.root, key, build_zip(text, [(name, path) for name, _, path in members]), "zip")
    return OutputFile(f"{release.id}/fotos.zip", source=target)


def _collect(done: Sequence[Done], config: Config, zips: _Entries,
             ) -> tuple[dict[tuple[str, str], tuple[Variant, ...]], list[OutputFile]]:
    """Return the variants and files of the (successful) plans, and the ZIP of each release they complete."""
    variants: dict[tuple[str, str], tuple[Variant, ...]] = {}
    files: list[OutputFile] = []
    groups: dict[str, list[Done]] = {}
    for plan, paths in done:
        found = tuple(_variant(plan.release, plan.photo, spec, paths[spec.name]) for spec in config.variants)
        variants[(plan.release.id, plan.photo.file)] = found
        files += [OutputFile(v.relpath, source=paths[spec.name]) for v, spec in zip(found, config.variants)]
        groups.setdefault(plan.release.id, []).append((plan, paths))
    for group in groups.values():
        if len(group) == len(group[0][0].release.photos):
            files.append(_zip_file(group[0][0].release, config, zips, group))
    return variants, files


def make_variants(releases: Sequence[Release], config: Config, cache_dir: Path, jobs: int | None = None,
                  progress: Callable[[int, int], None] | None = None) -> PhotoResult:
    """Return every variant of every photo of `releases` (made or from the cache), the ZIPs, and all errors.

    A cached variant or ZIP whose bytes no longer match the digest in its name is made again.
    """
    root = cache_dir / "photos"
    hashes = _Hashes(root)
    plans, errors = _plan(releases, config, root, hashes)
    todo = [plan.job for plan in plans if plan.job is not None]
    done = len(plans) - len(todo)

    def tick() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, len(plans))

    if progress:
        progress(done, len(plans))
    results = iter(_run(todo, jobs or os.cpu_count() or 1, tick))
    outcomes: list[Outcome] = [next(results) if plan.job else {} for plan in plans]
    errors += [photo_error(plan.shown, plan.photo, plan.index, outcome)
               for plan, outcome in zip(plans, outcomes) if isinstance(outcome, PhotoProblem)]
    finished = [(plan, plan.found | outcome) for plan, outcome in zip(plans, outcomes) if isinstance(outcome, dict)]
    variants, files = _collect(finished, config, _Entries(root / "zip", hashes))
    hashes.save()
    made = sum(len(plan.job.todo) for plan, outcome in zip(plans, outcomes) if plan.job and isinstance(outcome, dict))
    reused = sum(len(plan.found) for plan in plans)
    return PhotoResult(variants, files, errors, made, reused)
