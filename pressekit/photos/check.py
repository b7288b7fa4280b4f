"""Opening and checking photo sources: the one photo validation of `check`, `build` and `email`.

Every photo is decoded completely, within a memory bound computed from the header before decoding;
`photo_warnings` adds `check`'s editorial warnings.
"""

from __future__ import annotations

import math
import re
import struct
import warnings
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ..cache import file_stamp
from ..config import Config, VariantSpec
from ..errors import PressekitError, SourceError, display_path
from ..model import Photo, Release
from .meta import iim_warnings, text_warnings

if TYPE_CHECKING:
    from PIL import ImageFile

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF")
JPEG_FORMATS = ("JPEG", "MPO")  # Pillow opens a camera JPEG with a multi-picture preview (MPF) as "MPO"
MAX_PIXELS = 100_000_000          # decompression-bomb limit, checked from the header before decoding
MAX_DECODE_MB = 128               # memory one decoded image may take (pixels x bytes per pixel of its mode)
MIN_PRINT_PIXELS = 1_000_000

# What Pillow raises for a damaged file while reading or decoding it.
_DAMAGED = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error)
ORIENTATIONS = range(1, 9)  # the EXIF orientations: 1 upright, 2-8 mirrored or turned
_SIGNATURES = ((b"GIF8", "a GIF image"), (b"BM", "a BMP image"), (b"8BPS", "a Photoshop (PSD) file"),
               (b"%PDF", "a PDF document"), (b"\x00\x00\x01\x00", "an icon file"))


class PhotoProblem(PressekitError):
    """A source image that cannot be used; `message` completes "photos[i].file: <file> ..."."""


def _too_large() -> PhotoProblem:
    """Return the problem of an image whose header claims more than MAX_PIXELS."""
    return PhotoProblem(f"is too large: more than {MAX_PIXELS // 1_000_000} megapixels",
                        "scale it down; a file that claims this size may be a decompression bomb")


# --- opening and checking -------------------------------------------------------------------------

@contextmanager
def opened_image(path: Path) -> Iterator[ImageFile.ImageFile]:
    """Yield `path` opened (header only) in an allowed format; Pillow's errors inside become PhotoProblem."""
    from PIL import Image, UnidentifiedImageError

    with warnings.catch_warnings():
        # Pillow warns about damage it works around (corrupt EXIF ...): the picture decodes, the user needs no note.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        # Pillow's global pixel limit only warns below twice its value: MAX_PIXELS is applied here instead.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(path, formats=ALLOWED_FORMATS) as image:
                if image.size[0] * image.size[1] > MAX_PIXELS:
                    raise _too_large()
                yield image
        except UnidentifiedImageError:
            raise _not_an_image(path) from None
        except Image.DecompressionBombError:
            raise _too_large() from None
        except FileNotFoundError:
            raise PhotoProblem("does not exist") from None
        except (PermissionError, IsADirectoryError) as exc:
            raise PhotoProblem(f"cannot be read: {exc.strerror}") from None
        except _DAMAGED:
            raise PhotoProblem("is truncated or damaged", "copy or export it again from the original") from None


def _not_an_image(path: Path) -> PhotoProblem:
    """Return the problem for a file that no allowed format accepts, naming what it looks like."""
    with open(path, "rb") as fp:
        head = fp.read(512)
    kind = next((name for magic, name in _SIGNATURES if head.startswith(magic)), None)
    if head[4:8] == b"ftyp":
        kind = "an AVIF image" if head[8:12] in (b"avif", b"avis") else "a HEIC image"
    elif kind is None and re.search(rb"<svg|<\?xml", head[:256]):
        kind = "an SVG or XML file"
    elif kind is None and head and b"\x00" not in head and _is_utf8(head):
        kind = "a text file"
    if kind is None:
        return PhotoProblem("is not a readable image (JPEG, PNG, WebP or TIFF expected)")
    if kind in ("a text file", "an SVG or XML file", "a PDF document"):
        return PhotoProblem(f"is {kind}, not a JPEG, PNG, WebP or TIFF image",
                            "check that the photo, not another file, is saved under this name")
    return PhotoProblem(f"is {kind}, not a JPEG, PNG, WebP or TIFF image", "export it as JPEG")


def _is_utf8(data: bytes) -> bool:
    """Return True when `data` is UTF-8, allowing a character cut off at its end."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(data) - 3 and exc.reason == "unexpected end of data"
    return True


def _bytes_per_pixel(mode: str) -> int:
    """Return what Pillow stores per pixel of `mode`: 1 for L/P/1, 2 for 16-bit grey, 4 for the rest."""
    if mode in ("1", "L", "P"):
        return 1
    return 2 if mode.startswith("I;16") else 4


def check_memory(image: ImageFile.ImageFile) -> None:
    """Raise PhotoProblem when decoding `image` at its (draft) size would take more than MAX_DECODE_MB."""
    need = image.size[0] * image.size[1] * _bytes_per_pixel(image.mode)
    if need > MAX_DECODE_MB * 1_000_000:
        raise PhotoProblem(f"would need {math.ceil(need / 1_000_000)} MB to decode; at most {MAX_DECODE_MB} MB",
                           "scale it down, or save it as an 8-bit JPEG; a small file that claims this size "
                           "may be a decompression bomb")


def _decode_all(image: ImageFile.ImageFile) -> None:
    """Decode every byte of the pixel data (a JPEG at 1/8 scale), so that damaged data raises (via `opened_image`)."""
    if image.format in JPEG_FORMATS:
        image.draft(None, (max(1, image.size[0] // 8), max(1, image.size[1] // 8)))
    check_memory(image)
    image.load()


def photo_error(shown: str, photo: Photo, index: int | None, problem: PhotoProblem) -> SourceError:
    """Return `problem` as the SourceError of the photo entry."""
    field = f"photos[{index}].file" if index is not None else "photo file"
    return SourceError(shown, photo.line, f"{field}: {photo.file} {problem.message}", problem.hint)


def check_photo(photo: Photo, shown_source: str, index: int | None = None) -> list[SourceError]:
    """Return an error when the photo is missing, not an allowed format, a bomb, or damaged anywhere in its data."""
    try:
        with opened_image(photo.path) as image:
            _decode_all(image)
    except PhotoProblem as problem:
        return [photo_error(shown_source, photo, index, problem)]
    return []


CheckMemo = dict[tuple[str, object], list[SourceError]]


def validate_photos(releases: Sequence[Release], config: Config, memo: CheckMemo | None = None) -> list[SourceError]:
    """Return the errors of every photo of `releases`: variant names that clash, and every `check_photo` error.

    The one photo validation of `check`, `build` and `email`. `memo` (the build's) remembers results by the
    photo's file stamp, so that an unchanged photo is not decoded again.
    """
    errors: list[SourceError] = []
    for release in releases:
        shown = display_path(release.source, config.root)
        errors += [clash_error(release, shown, i, earlier) for i, earlier in photo_clashes(release).items()]
        for index, photo in enumerate(release.photos):
            if memo is None:
                errors += check_photo(photo, shown, index)
                continue
            key = (f"{shown}:{photo.line}:{index}:{photo.path}", file_stamp(photo.path))
            if key not in memo:
                memo[key] = check_photo(photo, shown, index)
            errors += memo[key]
    return errors


def exif_orientation(image: ImageFile.ImageFile) -> int:
    """Return the EXIF orientation (1-8) of an opened image; 1 when absent or unreadable."""
    if image.format == "PNG" and "exif" not in image.info and image.tile:
        return 1  # an eXIf chunk after the pixels: reading it would decode the whole image
    try:
        value = image.getexif().get(0x0112, 1)
    except _DAMAGED:
        return 1
    return value if value in ORIENTATIONS else 1


def upright_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """Return a stored size as shown with `orientation` (or a shown size as stored: the same swap)."""
    return (size[1], size[0]) if orientation >= 5 else size


def print_spec(config: Config) -> VariantSpec:
    """Return the print variant, as the site's variant roles choose it."""
    return next(v for v in config.variants if v.name == config.roles.print)


def photo_warnings(photo: Photo, config: Config, shown_source: str, index: int | None = None) -> list[SourceError]:
    """Return warnings: a source too small for print, a placeholder-like credit, caption or alt text."""
    out = text_warnings(photo, shown_source, index) + iim_warnings(photo, config, shown_source, index)
    try:
        with opened_image(photo.path) as image:
            w, h = upright_size(image.size, exif_orientation(image))
    except PhotoProblem:
        return out  # check_photo reports it
    need = print_spec(config).width
    if w * h < MIN_PRINT_PIXELS or w < need:
        field = f"photos[{index}].file" if index is not None else "photo file"
        out.append(SourceError(shown_source, photo.line, f"{field}: {photo.file} is {w} × {h} pixels, too small for print",
                               f"print needs at least 1 megapixel and {need} pixels in width; ask for the original",
                               warning=True))
    return out


def photo_clashes(release: Release) -> dict[int, int]:
    """Return, for each photo whose variant names an earlier photo already uses, that photo's index."""
    first: dict[str, int] = {}
    for i, photo in enumerate(release.photos):
        first.setdefault(photo.stem, i)
    return {i: first[p.stem] for i, p in enumerate(release.photos) if first[p.stem] != i}


def clash_error(release: Release, shown: str, index: int, earlier: int) -> SourceError:
    """Return the error of a photo whose variants would overwrite those of photo `earlier`."""
    photo = release.photos[index]
    return SourceError(shown, photo.line, f"photos[{index}].file: {photo.file} gives the same variant names as "
                       f"photos[{earlier}] ({release.photos[earlier].file}): {photo.stem}-<variant>.jpg",
                       "use each file once, and give files different names before the extension")


def check_release_photos(release: Release, config: Config) -> list[SourceError]:
    """Return every error and warning of the photos of `release`, as `pressekit check` shows them."""
    shown = display_path(release.source, config.root)
    out = validate_photos([release], config)
    failed = {e.line for e in out}  # a photo with an error gets no warnings: it has to be replaced anyway
    for i, photo in enumerate(release.photos):
        if photo.line not in failed:
            out += photo_warnings(photo, config, shown, i)
    return out


