"""Who makes each output path, in the user's words: what a collision report names on both sides."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import PurePosixPath

from .config import Config
from .errors import display_path
from .model import Release
from .output import Producer

Groups = Mapping[str, tuple[str, dict[str, str]]]  # group -> (key, {relpath: digest})


_RELEASE_FILES = {"index.html": "page", "email.txt": "e-mail", "email.html": "HTML e-mail", "release.eml": "MIME message"}


def producers(config: Config, chosen: list[Release], groups: Groups) -> Iterator[tuple[str, Producer]]:
    """Every output path with what makes it: the site's own pages first, then releases, photos and copied files."""
    releases = {r.id: r for r in chosen}
    rank = {"photos": 2, "sources": 3}
    for name in sorted(groups, key=lambda n: 1 if n.startswith(("page:", "mail:")) else rank.get(n, 0)):
        for relpath in groups[name][1]:
            yield relpath, _producer(config, releases, name, relpath)


def _producer(config: Config, releases: dict[str, Release], group: str, relpath: str) -> Producer:
    release_id, _, rest = relpath.partition("/")
    release = releases.get(release_id)
    shown = display_path(release.source, config.root) if release else None
    if group.startswith(("page:", "mail:")) and release:
        return Producer(f"the {_RELEASE_FILES.get(rest, rest)} of release {release_id}", shown)
    if group == "sources" and release:
        line = next((a.line for a in release.attachments if a.file == rest), 1)
        return Producer(f"the attachment {rest}", shown, line)
    if group == "photos" and release:
        name = PurePosixPath(rest).name
        photo = next((p for p in release.photos if name.startswith(p.stem + "-")), None)
        if photo is None:
            return Producer(f"the photo ZIP of release {release_id}" if rest == "fotos.zip" else f"the photo file {rest}",
                            shown, release.photos[0].line if release.photos else 1)
        return Producer(f"a variant of photo {photo.file}", shown, photo.line)
    return Producer({"archive": "the archive page", "404": "the error page", "sitemap": "the sitemap"}.get(
        group, f"the site's {relpath}"))
