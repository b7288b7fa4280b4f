"""What the last successful build into one output folder left: enough to redo only what changed.

It is kept in parts. The *stamp* answers "did anything change?" and is all a build that finds
nothing changed reads: the digest of the inputs, the moments output/ changes by itself, and the
size and mtime of every file written (kept compact: fifty thousand files load in milliseconds).
The *groups* (every output group's key and files, each release's summary and view keys) are read
only when something is built. Those of the releases are kept in `SHARDS` files by release id, and
a shard whose content is unchanged is not written again: an edit rewrites one. The stamp names the
build, the rest of the groups name that build and the id of each shard; parts that do not name
each other are never combined.
"""

from __future__ import annotations

import os
import uuid
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .cache import Store, pickled, shard_of
from .dates import NEWS_WINDOW

Groups = dict[str, tuple[str, dict[str, str]]]  # group -> (key, {relpath: digest})
ViewKeys = tuple[tuple[Any, ...], tuple[str, str]]  # a release's view inputs, and its page and mail keys
ListKeys = tuple[str, tuple[tuple[str, str], ...]]  # a list's inputs digest, and (relpath, key) of its pages
TeaserKeys = tuple[str, str]  # a release's page key, and the digest of its teaser when the page had that key


@dataclass(frozen=True)
class Stamp:
    """What output/ and the inputs were after the last build."""

    build: str
    inputs: str                     # digest of every input file's name, size and mtime, and of the code
    now: datetime
    schedule: array                 # type: ignore[type-arg]  # sorted times (`micros`) at which output/ changes by itself
    folder: tuple[int, int] | None  # (inode, mtime) of output/
    names: str                      # every file written, one relpath per line
    stats: array                    # type: ignore[type-arg]  # (size, mtime_ns) of each file, in that order

    def files(self) -> list[str]:
        return self.names.split("\n") if self.names else []

    def intact(self, output: Path) -> bool:
        """True when output/ still holds every file as the build left it."""
        if self.folder != dir_stamp(output):
            return False
        prefix, stat, stats = f"{output}{os.sep}", os.stat, self.stats  # os.stat of a str: a Path costs more
        try:
            for n, rel in enumerate(self.files()):
                st = stat(prefix + rel)
                if st.st_size != stats[2 * n] or st.st_mtime_ns != stats[2 * n + 1]:
                    return False
        except OSError:
            return False
        return True

    def unchanged_at(self, now: datetime) -> bool:
        """True when no release goes live (or leaves the news window) between the last build and now."""
        lo, hi = sorted((self.now, now))
        if self.now == now:
            return True
        # a release enters the public set at its time, and the news sitemap until two days later
        shifted = (timedelta(0), NEWS_WINDOW, NEWS_WINDOW + timedelta(seconds=1))
        return not any(bisect_left(self.schedule, micros(lo - d)) < bisect_right(self.schedule, micros(hi - d))
                       for d in shifted)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def schedule_of(times: Iterable[datetime]) -> array:  # type: ignore[type-arg]
    """A stamp's schedule: the times, as `micros`, sorted."""
    return array("q", sorted(map(micros, times)))


def micros(moment: datetime) -> int:
    """A moment as microseconds since 1970 (UTC): ten thousand of them pickle as one array, not as
    ten thousand datetimes with a time zone object each (40 ms a build)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True)
class Built:
    """Every output group of the last build, and each public release's summary, view keys and teaser digest."""

    build: str
    groups: Groups
    summaries: dict[str, str]
    views: dict[str, ViewKeys]
    lists: dict[str, ListKeys]  # by the folder of the list: "", "2025/", "themen/verkehr/"
    lists_key: str              # the digest of all the lists show (`lists.list_groups`)
    teasers: dict[str, TeaserKeys]

    def manifest(self) -> dict[str, str]:
        """relpath -> digest of every file of the build."""
        return manifest(self.groups)


def manifest(groups: Groups) -> dict[str, str]:
    return {rel: d for _, files in groups.values() for rel, d in files.items()}


UNKNOWN = "\0unknown"  # the files of a last build whose groups are lost (no group of a build has this name)
SHARDS = 16  # the releases' groups, summaries and view keys are kept in this many files: an edit rewrites one


@dataclass(frozen=True)
class _Shard:
    """The part of `Built` that belongs to the releases whose id falls into one shard."""

    id: str
    groups: Groups
    summaries: dict[str, str]
    views: dict[str, ViewKeys]
    teasers: dict[str, TeaserKeys]


@dataclass(frozen=True)
class Shards:
    """The releases' part of a build's state (`States.shards`): every shard's id, the pickles of the shards
    that changed, and the groups no release owns."""

    ids: tuple[str, ...]
    changed: dict[int, bytes]
    rest: Groups


@dataclass(frozen=True)
class _Rest:
    """The groups no single release owns (lists, feeds, search …) and the ids of the shards of one build."""

    build: str
    groups: Groups
    lists: dict[str, ListKeys]
    lists_key: str
    shards: tuple[str, ...]


class States:
    """The parts of one output folder's state in the cache store: the stamp, the rest and the shards."""

    def __init__(self, store: Store, name: str):
        self.store, self.name = store, name
        self.loaded: dict[int, _Shard] = {}  # the shards `built` read: unchanged ones are not written again

    def stamp(self) -> Stamp | None:
        """The stamp of the last build (check `intact` before trusting it)."""
        stamp: Stamp | None = self.store.load(self.name)
        return stamp

    def rest(self, stamp: Stamp | None) -> _Rest | None:
        """The groups no release owns (lists, feeds, search …) of the build that left this stamp, if kept."""
        rest: _Rest | None = self.store.load(self.name + "-groups") if stamp is not None else None
        if stamp is None or not isinstance(rest, _Rest) or rest.build != stamp.build:
            return None
        return rest

    def built(self, stamp: Stamp | None, rest: _Rest | None) -> Built | None:
        """Every group of the build that left stamp and `rest` (see `rest`). When a shard is missing or not
        that build's, the releases' part is lost: what `rest` holds stays valid (the search may have been
        planned with it), and every other file of the stamp is named with an unknown digest, so that the
        build writes each again or removes it."""
        if stamp is None or rest is None:
            return None
        groups, summaries, views, teasers = dict(rest.groups), {}, {}, {}
        for n, shard_id in enumerate(rest.shards):
            shard: _Shard | None = self.store.load(f"{self.name}-releases-{n}")
            if not isinstance(shard, _Shard) or shard.id != shard_id:
                self.loaded.clear()
                known = {rel for _, files in rest.groups.values() for rel in files}
                unknown = {rel: "" for rel in stamp.files() if rel not in known}
                return Built(rest.build, dict(rest.groups) | {UNKNOWN: ("", unknown)}, {}, {}, rest.lists,
                             rest.lists_key, {})
            self.loaded[n] = shard
            groups.update(shard.groups)
            summaries.update(shard.summaries)
            views.update(shard.views)
            teasers.update(shard.teasers)
        return Built(rest.build, groups, summaries, views, rest.lists, rest.lists_key, teasers)

    def drop(self) -> None:
        """Forget the last build (before output/ changes: an interrupted apply must not leave a state that
        claims the old output)."""
        self.store.drop(self.name)
        self.store.drop(self.name + "-groups")

    def shards(self, groups: Groups, summaries: dict[str, str], views: dict[str, ViewKeys],
               teasers: dict[str, TeaserKeys]) -> Shards:
        """The releases' part of this build's state, ready for `save`: split into shards, compared with the
        shards `built` read, and pickled where changed. A build makes it while Pagefind runs, so `groups`
        may lack groups no release owns (they are given to `save`)."""
        parts: list[tuple[Groups, dict[str, str], dict[str, ViewKeys], dict[str, TeaserKeys]]] = [
            ({}, {}, {}, {}) for _ in range(SHARDS)]
        shard_at = {release_id: shard_of(release_id, SHARDS) for release_id in views}  # every release built

        def index_of(release_id: str) -> int:
            return shard_at[release_id] if release_id in shard_at else shard_of(release_id, SHARDS)

        for release_id, summary in summaries.items():
            parts[index_of(release_id)][1][release_id] = summary
        for release_id, keys in views.items():
            parts[shard_at[release_id]][2][release_id] = keys
        for release_id, teaser in teasers.items():
            parts[index_of(release_id)][3][release_id] = teaser
        rest: Groups = {}
        for name, group in groups.items():
            owner = _owner(name)
            if owner is None:
                rest[name] = group
            else:
                parts[index_of(owner)][0][name] = group
        ids, changed = [], {}
        for n, part in enumerate(parts):
            old = self.loaded.get(n)
            if old is not None and (old.groups, old.summaries, old.views, old.teasers) == part:
                ids.append(old.id)
                continue
            shard = _Shard(uuid.uuid4().hex, *part)
            changed[n] = pickled(shard)
            ids.append(shard.id)
        return Shards(tuple(ids), changed, rest)

    def save(self, output: Path, inputs: str, now: datetime, schedule: array, shards: Shards,  # type: ignore[type-arg]
             later: Groups, files: dict[str, str], lists: dict[str, ListKeys], lists_key: str,
             last: tuple[Stamp, Collection[str]] | None = None) -> None:
        """Keep this build's state; nothing when output/ cannot be stamped (the next build starts afresh).

        `schedule`: `schedule_of` the times at which output/ changes by itself. `later`: the groups made
        after `shards` (no release owns them). `files` is the manifest of every group. `last`: the stamp
        this build started from (output/ was intact then) and the files it wrote; every other file keeps
        the size and mtime it had.
        """
        names = sorted(files)
        joined = "\n".join(names)
        stats = _stats(output, names, joined, last)
        if stats is None:
            return
        build = uuid.uuid4().hex
        for n, payload in shards.changed.items():
            self.store.save_pickled(f"{self.name}-releases-{n}", payload)
        self.store.save(self.name + "-groups", _Rest(build, shards.rest | later, lists, lists_key, shards.ids))
        self.store.save(self.name, Stamp(build, inputs, now, schedule, dir_stamp(output), joined, stats))


def _owner(group: str) -> str | None:
    """The release a group belongs to: its page and its e-mails."""
    kind, _, release_id = group.partition(":")
    return release_id if kind in ("page", "mail") else None


def _stats(output: Path, names: list[str], joined: str,
           last: tuple[Stamp, Collection[str]] | None) -> array | None:  # type: ignore[type-arg]
    """(size, mtime) of every file in names (sorted; `joined` by line breaks), in that order; None when
    one cannot be read. Only new files and those the build wrote are statted: the others keep the stats
    of the last stamp, whose rows are taken over around the few that were removed or added."""
    prefix = f"{output}{os.sep}"

    def stat(rel: str) -> tuple[int, int]:
        st = os.stat(prefix + rel)
        return st.st_size, st.st_mtime_ns

    try:
        if last is None:
            return array("q", (value for rel in names for value in stat(rel)))
        stamp, written = last
        stats = array("q", stamp.stats)
        if stamp.names != joined:
            before = stamp.files()
            gone, new = set(before).difference(names), set(names).difference(before)
            if len(gone) + len(new) > SPLICED:  # many: row by row (each splice moves every row after it)
                row = {rel: n for n, rel in enumerate(before)}
                written = set(written) | new
                return array("q", (value for rel in names for value in (
                    stat(rel) if rel in written else stats[2 * row[rel]:2 * row[rel] + 2])))
            for n in sorted((bisect_left(before, rel) for rel in gone), reverse=True):
                del stats[2 * n:2 * n + 2]
            for n in sorted(bisect_left(names, rel) for rel in new):  # rising: the rows before n are in place
                stats[2 * n:2 * n] = array("q", stat(names[n]))
        for rel in written:
            n = bisect_left(names, rel)
            if n < len(names) and names[n] == rel:
                stats[2 * n:2 * n + 2] = array("q", stat(rel))
        return stats
    except OSError:
        return None


SPLICED = 200  # up to this many files added or removed, the last stamp's rows are taken over around them


def dir_stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns
