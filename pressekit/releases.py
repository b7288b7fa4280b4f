"""Find release bundles under releases/ and validate them into `Release` objects.

Every problem in every file is collected; nothing is created from an invalid release.
"""

from __future__ import annotations

import os
import unicodedata
from itertools import repeat
from pathlib import Path

from .cache import file_stamp
from .config import Config
from .config_file import load_config
from .errors import BuildFailed, SourceError, display_path
from .frontmatter import read_document
from .model import Release
from .paths import RELEASES_DIR
from .processes import pool_context
from .release_fields import ReleaseValidator
from .scan import FileStamp, TreeScan, bundle_id, scan_tree

ParseCache = dict[str, tuple[object, "Release | None", list[SourceError]]]


def load_site(root: Path, cache: ParseCache | None = None) -> tuple[Config, list[Release]]:
    """Load pressekit.toml and every release; raise BuildFailed with every problem found.

    `cache` (source path -> (stamp, release, errors)) lets unchanged bundles skip parsing;
    it must belong to the same pressekit.toml, since validation depends on it.
    """
    config, errors = load_config(root)
    if config is None:
        raise BuildFailed(errors)
    releases, errors = load_releases(config, cache)
    if errors:
        raise BuildFailed(errors)
    return config, releases


def find_bundles(folder: Path) -> list[Path]:
    """Return every index.md under folder; a folder holding index.md is not searched deeper."""
    return [Path(p) for p in scan_tree(folder).bundles]


def link_problems(links: list[str], root: Path) -> list[SourceError]:
    """A symlinked folder under releases/ is never published: say so instead of skipping it."""
    site = root.resolve()
    problems = []
    for link in sorted(links):
        where = "outside the site" if not Path(link).resolve().is_relative_to(site) else "elsewhere in the site"
        problems.append(SourceError(display_path(Path(link), root), 0, f"a symlink to a folder {where}; "
                                    "releases must be real folders inside the site",
                                    "move or copy the folder into releases/ instead of linking it"))
    return problems


def load_releases(config: Config, cache: ParseCache | None = None,
                  scan: TreeScan | None = None) -> tuple[list[Release], list[SourceError]]:
    """Parse and validate every bundle; return the valid releases and every problem.

    `scan` is the walk of releases/ the caller made already (`scan_tree`), if it did.
    """
    errors: list[SourceError] = []
    seen: dict[str, str] = {}
    root = str(config.root).rstrip("/") + "/"
    scan = scan or scan_tree(config.root / RELEASES_DIR)
    results: dict[str, tuple[Release | None, list[SourceError]]] = {}
    todo: list[tuple[str, tuple[FileStamp, ...]]] = []
    for source, stamp in scan.bundles.items():
        shown = source.removeprefix(root)
        release_id = bundle_id(source)
        key = unicodedata.normalize("NFC", release_id).casefold()
        if key in seen:
            errors.append(SourceError(shown, 1, f"the release id '{release_id}' is used twice",
                                      f"{seen[key]} has the same folder name; ids must be unique"))
            continue
        seen[key] = shown
        hit = cache.get(source) if cache is not None else None
        if hit is not None and hit[0] == (stamp, _referenced_stamps(hit[1])):
            results[source] = hit[1], hit[2]
        else:
            results[source] = None, []  # keeps the place of this bundle in the order of sources
            todo.append((source, stamp))
    for (source, stamp), (release, problems) in zip(todo, _parse_all([s for s, _ in todo], config)):
        results[source] = release, problems
        if cache is not None:
            cache[source] = ((stamp, _referenced_stamps(release)), release, problems)
    errors.extend(link_problems(scan.links, config.root))
    releases = []
    for release, problems in results.values():
        errors.extend(problems)
        if release is not None:
            releases.append(release)
    return releases, errors


PARALLEL_PARSE = 400  # from this many changed bundles on, parse in worker processes


def _parse_all(sources: list[str], config: Config) -> list[tuple[Release | None, list[SourceError]]]:
    """load_release for every source, in worker processes when there are many (a first build of an archive)."""
    workers = min(os.cpu_count() or 1, 8)
    if len(sources) < PARALLEL_PARSE or workers < 2:
        return [load_release(Path(s), config) for s in sources]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers, mp_context=pool_context(__name__)) as pool:
        return list(pool.map(load_release, map(Path, sources), repeat(config), chunksize=100))


def _referenced_stamps(release: object) -> tuple[object, ...]:
    """Stamps of the files a release names: a replaced or removed file invalidates its validation."""
    if not isinstance(release, Release) or not (release.photos or release.attachments):
        return ()
    return tuple(file_stamp(p.path) for p in release.photos) + tuple(file_stamp(a.path) for a in release.attachments)


def load_release(source: Path, config: Config) -> tuple[Release | None, list[SourceError]]:
    """Read one index.md into a Release, or None and the reasons."""
    shown = display_path(source, config.root)
    if source.is_symlink() and not source.resolve().is_relative_to(source.parent.resolve()):
        return None, [SourceError(shown, 1, "index.md is a link that leads outside the release folder",
                                  "copy the file into the release folder instead of linking it")]
    doc, errors = read_document(source, shown)
    if doc is None:
        return None, errors
    v = ReleaseValidator(shown, source.parent, config)
    v.check_id(source.parent.name)
    release = v.release(doc.fields, doc.body, doc.body_line)
    errors = errors + v.errors
    return (release if not errors else None), errors
