"""Photo variants: credited sRGB JPEGs in the configured sizes, cached and made in parallel.

The only module importing Pillow. `validate_photos` (and `check_photo` for one photo) is the one
photo validation of `check`, `build` and `email`: it decodes every photo completely, within a
memory bound computed from the header before decoding. `photo_warnings` adds `check`'s editorial
warnings. `make_variants` decodes each source once, derives all its variants from that decode, and
keeps them in a cache keyed by content, settings, texts and version; a cached variant or ZIP carries
the digest of its bytes in its name and is used only when its bytes still match it.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import struct
import warnings
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import astuple, dataclass
from functools import lru_cache
from pathlib import Path
from typing import cast

from PIL import Image, ImageCms, ImageDraw, ImageFile, ImageFont, TiffImagePlugin, UnidentifiedImageError

from . import __version__
from .cache import file_stamp, named_digest, read_sealed, write_atomic, write_sealed
from .config import Config, VariantSpec
from .errors import SourceError, display_path
from .model import Photo, Release, Variant
from .output import OutputFile
from .photometa import (
    XMP_MAX_CHARS,
    PhotoMeta,
    build_app13,
    build_xmp,
    build_zip,
    credits_text,
    iim_warnings,
    photo_meta,
    splice_segment,
    text_warnings,
    to_ascii,
)

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF")
_JPEG = ("JPEG", "MPO")  # Pillow opens a camera JPEG with a multi-picture preview (MPF) as "MPO"
MAX_PIXELS = 100_000_000          # decompression-bomb limit, checked from the header before decoding
MAX_DECODE_MB = 128               # memory one decoded image may take (pixels x bytes per pixel of its mode)
MIN_PRINT_PIXELS = 1_000_000
CACHE_FORMAT = 1                  # bump when rendering changes within one pressekit version
FONT_PATH = Path(__file__).parent / "fonts" / "DejaVuSans.ttf"

# Box-reduce by an integer factor first while the Lanczos step still shrinks by at least this much:
# 2.5x faster from print to web size, and within 48 dB PSNR of a plain Lanczos resize.
_REDUCING_GAP = 1.25

# What Pillow raises for a damaged file while reading or decoding it.
_DAMAGED = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error)
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}
_SIGNATURES = ((b"GIF8", "a GIF image"), (b"BM", "a BMP image"), (b"8BPS", "a Photoshop (PSD) file"),
               (b"%PDF", "a PDF document"), (b"\x00\x00\x01\x00", "an icon file"))


class PhotoProblem(Exception):
    """A source image that cannot be used; `message` completes "photos[i].file: <file> ..."."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message, hint)  # both in args, so that it survives pickling from a worker
        self.message, self.hint = message, hint


def _too_large() -> PhotoProblem:
    """Return the problem of an image whose header claims more than MAX_PIXELS."""
    return PhotoProblem(f"is too large: more than {MAX_PIXELS // 1_000_000} megapixels",
                        "scale it down; a file that claims this size may be a decompression bomb")


# --- opening and checking -------------------------------------------------------------------------

@contextmanager
def _opened(path: Path) -> Iterator[ImageFile.ImageFile]:
    """Yield `path` opened (header only) in an allowed format; Pillow's errors inside become PhotoProblem."""
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


def _check_memory(image: ImageFile.ImageFile) -> None:
    """Raise PhotoProblem when decoding `image` at its (draft) size would take more than MAX_DECODE_MB."""
    need = image.size[0] * image.size[1] * _bytes_per_pixel(image.mode)
    if need > MAX_DECODE_MB * 1_000_000:
        raise PhotoProblem(f"would need {math.ceil(need / 1_000_000)} MB to decode; at most {MAX_DECODE_MB} MB",
                           "scale it down, or save it as an 8-bit JPEG; a small file that claims this size "
                           "may be a decompression bomb")


def _decode_all(image: ImageFile.ImageFile) -> None:
    """Decode every byte of the pixel data (a JPEG at 1/8 scale), so that damaged data raises (via `_opened`)."""
    if image.format in _JPEG:
        image.draft(None, (max(1, image.size[0] // 8), max(1, image.size[1] // 8)))
    _check_memory(image)
    image.load()


def _photo_error(shown: str, photo: Photo, index: int | None, problem: PhotoProblem) -> SourceError:
    """Return `problem` as the SourceError of the photo entry."""
    field = f"photos[{index}].file" if index is not None else "photo file"
    return SourceError(shown, photo.line, f"{field}: {photo.file} {problem.message}", problem.hint)


def check_photo(photo: Photo, shown_source: str, index: int | None = None) -> list[SourceError]:
    """Return an error when the photo is missing, not an allowed format, a bomb, or damaged anywhere in its data."""
    try:
        with _opened(photo.path) as image:
            _decode_all(image)
    except PhotoProblem as problem:
        return [_photo_error(shown_source, photo, index, problem)]
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
        errors += [_clash_error(release, shown, i, earlier) for i, earlier in _clashes(release).items()]
        for index, photo in enumerate(release.photos):
            if memo is None:
                errors += check_photo(photo, shown, index)
                continue
            key = (f"{shown}:{photo.line}:{index}:{photo.path}", file_stamp(photo.path))
            if key not in memo:
                memo[key] = check_photo(photo, shown, index)
            errors += memo[key]
    return errors


def _orientation(image: ImageFile.ImageFile) -> int:
    """Return the EXIF orientation (1-8) of an opened image; 1 when absent or unreadable."""
    if image.format == "PNG" and "exif" not in image.info and image.tile:
        return 1  # an eXIf chunk after the pixels: reading it would decode the whole image
    try:
        value = image.getexif().get(0x0112, 1)
    except _DAMAGED:
        return 1
    return value if value in _TRANSPOSE else 1


def _upright(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """Return a stored size as shown with `orientation` (or a shown size as stored: the same swap)."""
    return (size[1], size[0]) if orientation >= 5 else size


def print_spec(config: Config) -> VariantSpec:
    """Return the print variant, as the site's variant roles choose it."""
    return next(v for v in config.variants if v.name == config.roles.print)


def photo_warnings(photo: Photo, config: Config, shown_source: str, index: int | None = None) -> list[SourceError]:
    """Return warnings: a source too small for print, a placeholder-like credit, caption or alt text."""
    out = text_warnings(photo, shown_source, index) + iim_warnings(photo, config, shown_source, index)
    try:
        with _opened(photo.path) as image:
            w, h = _upright(image.size, _orientation(image))
    except PhotoProblem:
        return out  # check_photo reports it
    need = print_spec(config).width
    if w * h < MIN_PRINT_PIXELS or w < need:
        field = f"photos[{index}].file" if index is not None else "photo file"
        out.append(SourceError(shown_source, photo.line, f"{field}: {photo.file} is {w} × {h} pixels, too small for print",
                               f"print needs at least 1 megapixel and {need} pixels in width; ask for the original",
                               warning=True))
    return out


def _clashes(release: Release) -> dict[int, int]:
    """Return, for each photo whose variant names an earlier photo already uses, that photo's index."""
    first: dict[str, int] = {}
    for i, photo in enumerate(release.photos):
        first.setdefault(photo.stem, i)
    return {i: first[p.stem] for i, p in enumerate(release.photos) if first[p.stem] != i}


def _clash_error(release: Release, shown: str, index: int, earlier: int) -> SourceError:
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


# --- decoding ---------------------------------------------------------------------------------------

def _srgb_profile() -> bytes:
    """Return lcms's sRGB profile with a fixed creation date, so that outputs are deterministic."""
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    data[24:36] = struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
    return bytes(data)


_SRGB_ICC = _srgb_profile()
_SRGB = ImageCms.ImageCmsProfile(io.BytesIO(_SRGB_ICC))


def _to_8bit(image: Image.Image) -> Image.Image:
    """Return a 16/32-bit grayscale image scaled to 8-bit "L" (Pillow's own conversion clips)."""
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        wide = image.convert("F")
        low, high = cast(tuple[float, float], wide.getextrema())
        scale = 1.0 if high <= 255 else (255 / 65535 if high <= 65535 else 255 / high)
        if image.mode == "F" and 0 <= low and high <= 1.0:
            scale = 255.0
        return wide.point(lambda v: v * scale).convert("L")
    return image


def _flatten(image: Image.Image) -> Image.Image:
    """Return `image` without alpha or palette, on white: mode RGB, L, CMYK or LAB."""
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode in ("PA", "RGBa", "La", "1", "RGBX", "YCbCr", "HSV"):
        image = image.convert({"PA": "RGBA", "RGBa": "RGBA", "La": "LA", "1": "L"}.get(image.mode, "RGB"))
    if image.mode not in ("RGBA", "LA"):
        return image
    base = image.mode[:-1]
    flat = Image.new(base, image.size, "white")
    flat.paste(image.convert(base), mask=image.getchannel("A"))
    return flat


def _is_srgb(icc: bytes) -> bool:
    """Return True when the embedded profile is (named) sRGB, so no conversion is needed."""
    try:
        return "srgb" in ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).lower()
    except (ImageCms.PyCMSError, OSError):
        return False


def _apply_icc(image: Image.Image, icc: bytes) -> Image.Image | None:
    """Return `image` converted from its embedded profile to sRGB; None when the profile is unusable."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(image, source, _SRGB, renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
                                         outputMode="RGB", flags=ImageCms.Flags.BLACKPOINTCOMPENSATION)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return None  # broken profile, or one for another colour space than the pixels: convert plainly


def _to_srgb(flat: Image.Image, icc: bytes | None, mode: str) -> Image.Image:
    """Return a flattened image (of source `mode`) as sRGB "RGB", applying its ICC profile; PhotoProblem if impossible."""
    if icc and not _is_srgb(icc):
        converted = _apply_icc(flat, icc)
        if converted is not None:
            return converted
    if flat.mode == "LAB":
        converted = ImageCms.profileToProfile(flat, ImageCms.createProfile("LAB"), _SRGB, outputMode="RGB")
        assert converted is not None  # None only for inPlace=True
        return converted
    try:
        return flat if flat.mode == "RGB" else flat.convert("RGB")
    except ValueError:
        raise PhotoProblem(f"has a colour mode pressekit cannot convert ({mode})", "export it as RGB JPEG") from None


def _fit(size: tuple[int, int], width: int) -> tuple[int, int]:
    """Return `size` scaled down to `width` (never up), keeping the aspect ratio."""
    w, h = size
    return size if width >= w else (width, max(1, round(h * width / w)))


def _shrink(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Return `image` resized down to `size`, or itself when it has that size."""
    if image.size == size:
        return image
    # Below 2x (a portrait's print size from its full decode) Hamming keeps more detail than bicubic, within
    # 48 dB PSNR of Lanczos, at half Lanczos's cost; from 2x on, a box reduce first makes Lanczos cheap.
    small_step = image.width < 2 * size[0]
    resample = Image.Resampling.HAMMING if small_step else Image.Resampling.LANCZOS
    return image.resize(size, resample, reducing_gap=_REDUCING_GAP)


def decode_largest(path: Path, width: int) -> tuple[Image.Image, tuple[int, int]]:
    """Return the source upright in sRGB at its size for `width` (from one draft-mode decode), and its full size."""
    with _opened(path) as image:
        stored = image.size
        if image.format in _JPEG:  # decode at the smallest DCT scale that still gives `width`
            orientation = _orientation(image)
            image.draft(None, _upright(_fit(_upright(stored, orientation), width), orientation))
        _check_memory(image)
        image.load()
        orientation = _orientation(image)  # after loading: a PNG's eXIf chunk may follow its pixels
        icc = image.info.get("icc_profile")
    full = _upright(stored, orientation)
    # Resize before colour conversion and rotation: both then work on fewer pixels.
    target = _upright(_fit(full, width), orientation)
    picture = _to_srgb(_shrink(_flatten(_to_8bit(image)), target), icc, image.mode)
    picture = picture.transpose(_TRANSPOSE[orientation]) if orientation in _TRANSPOSE else picture
    picture.info = {}  # nothing of the source's metadata (comment, EXIF, XMP) may reach a variant
    return picture, full


# --- the credit strip ------------------------------------------------------------------------------

@dataclass(frozen=True)
class CreditLayout:
    """How `Foto: <credit>` fits a strip of one image width: font size, padding, lines."""

    size: int
    pad: int
    line_height: int
    lines: tuple[str, ...]


@lru_cache(maxsize=64)
def credit_font(size: int) -> ImageFont.FreeTypeFont:
    """Return the shipped DejaVu Sans (full German coverage) at `size` pixels."""
    return ImageFont.truetype(str(FONT_PATH), size, layout_engine=ImageFont.Layout.BASIC)


def _break_word(word: str, font: ImageFont.FreeTypeFont, room: float) -> list[str]:
    """Return `word` cut into pieces no wider than `room` (a piece holds one character at least)."""
    pieces = []
    while len(word) > 1 and font.getlength(word) > room:
        cut = 1
        while cut < len(word) - 1 and font.getlength(word[:cut + 1]) <= room:
            cut += 1
        pieces.append(word[:cut])
        word = word[cut:]
    return pieces + [word]


def _wrap(text: str, font: ImageFont.FreeTypeFont, room: float) -> list[str]:
    """Return `text` broken into lines no wider than `room`, between words where possible."""
    lines: list[str] = []
    for word in text.split():
        for piece in _break_word(word, font, room):
            if lines and font.getlength(f"{lines[-1]} {piece}") <= room:
                lines[-1] = f"{lines[-1]} {piece}"
            else:
                lines.append(piece)
    return lines


def layout_credit(credit: str, width: int, height: int | None = None) -> CreditLayout:
    """Return the layout of `Foto: <credit>` for an image `width` wide: shrunk, then wrapped, never wider."""
    text = " ".join(f"Foto: {credit}".split())
    size = max(12, round(width * 0.02))
    pad = max(2, round(size * 0.35))
    room = width - 2 * pad
    for candidate in range(size, max(10, round(size * 0.7)) - 1, -1):
        if credit_font(candidate).getlength(text) <= room:
            return CreditLayout(candidate, pad, _line_height(candidate), (text,))
    size = max(10, round(size * 0.7))
    lines = _wrap(text, credit_font(size), room)
    if height is not None:
        lines = lines[: max(1, (height - 2 * pad) // _line_height(size))]
    return CreditLayout(size, pad, _line_height(size), tuple(lines))


def _line_height(size: int) -> int:
    """Return the line height of the credit font at `size`."""
    ascent, descent = credit_font(size).getmetrics()
    return ascent + descent


def burn_credit(image: Image.Image, credit: str) -> Image.Image:
    """Return a copy of `image` with `Foto: <credit>` in white on a darkened strip at the bottom."""
    layout = layout_credit(credit, image.width, image.height)
    strip = min(image.height, 2 * layout.pad + layout.line_height * len(layout.lines))
    box = (0, image.height - strip, image.width, image.height)
    band = image.crop(box).point(lambda v: v * 40 // 100)
    draw = ImageDraw.Draw(band)
    font = credit_font(layout.size)
    for k, line in enumerate(layout.lines):
        draw.text((layout.pad, layout.pad + k * layout.line_height), line, font=font, fill=(255, 255, 255))
    out = image.copy()
    out.paste(band, box)
    return out


# --- encoding --------------------------------------------------------------------------------------

PRINT_DPI, SCREEN_DPI = 300, 72


def _exif(meta: PhotoMeta, size: tuple[int, int], dpi: int) -> bytes:
    """Return our own EXIF: Artist, Copyright, ImageDescription in ASCII, the resolution, and the tags
    EXIF 2.32 requires of a JPEG (ExifVersion, ComponentsConfiguration, ...), so `exiftool -validate` is quiet."""
    exif = Image.Exif()
    exif[0x010E] = to_ascii(meta.caption)[:XMP_MAX_CHARS]
    exif[0x013B] = to_ascii(meta.by_line)[:XMP_MAX_CHARS]
    exif[0x8298] = to_ascii(meta.copyright)[:XMP_MAX_CHARS]
    exif[0x011A] = exif[0x011B] = TiffImagePlugin.IFDRational(dpi, 1)  # X/YResolution
    exif[0x0128] = 2   # ResolutionUnit: inches
    exif[0x0213] = 1   # YCbCrPositioning: centered
    exif[0x8769] = {0x9000: b"0232", 0x9101: b"\x01\x02\x03\x00", 0xA000: b"0100", 0xA001: 1,
                    0xA002: size[0], 0xA003: size[1]}
    data = exif.tobytes()
    # Pillow knows no type for ComponentsConfiguration and writes BYTE; EXIF requires UNDEFINED (7).
    # Its IFD entry is tag 0x9101, type, count 4 in the byte order Pillow chose: retype it in place.
    order = ">" if data[6:8] == b"MM" else "<"
    entry = struct.pack(order + "HHI", 0x9101, 1, 4)
    assert data.count(entry) == 1, "Pillow's EXIF layout changed"
    return data.replace(entry, struct.pack(order + "HHI", 0x9101, 7, 4))


def encode_variant(image: Image.Image, spec: VariantSpec, meta: PhotoMeta, dpi: int = SCREEN_DPI) -> bytes:
    """Return `image` as a progressive optimised JPEG with our EXIF, XMP, sRGB profile and IPTC-IIM,
    declaring `dpi` in JFIF and EXIF."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=spec.quality, optimize=True, progressive=True, dpi=(dpi, dpi),
               exif=_exif(meta, image.size, dpi), xmp=build_xmp(meta), icc_profile=_SRGB_ICC)
    return splice_segment(buffer.getvalue(), build_app13(meta))


def render_variants(path: Path, specs: Sequence[VariantSpec], meta: PhotoMeta,
                    print_name: str = "") -> Iterator[tuple[VariantSpec, bytes]]:
    """Yield the JPEG of every spec (widest first), all derived from one decode of `path`; the print
    variant `print_name` declares 300 dpi."""
    ordered = sorted(specs, key=lambda s: -s.width)
    current, full = decode_largest(path, ordered[0].width)
    for spec in ordered:
        current = _shrink(current, _fit(full, spec.width))
        picture = burn_credit(current, meta.credit) if spec.credit == "burn" else current
        yield spec, encode_variant(picture, spec, meta, PRINT_DPI if spec.name == print_name else SCREEN_DPI)


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
        shown = display_path(release.source, config.root)
        clashes = _clashes(release)
        errors += [_clash_error(release, shown, i, earlier) for i, earlier in clashes.items()]
        for i, photo in enumerate(release.photos):
            try:
                if i not in clashes:
                    plans.append(_plan_photo(release, i, shown, config, entries))
            except OSError as exc:
                missing = isinstance(exc, FileNotFoundError)
                problem = PhotoProblem("does not exist" if missing else f"cannot be read: {exc.strerror}")
                errors.append(_photo_error(shown, photo, i, problem))
    return plans, errors


def _cost(job: _Job) -> int:
    """Return the pixel count of a job's largest variant (0 if unreadable), to start the slowest first."""
    try:
        with _opened(job.path) as image:
            return math.prod(_fit(_upright(image.size, _orientation(image)), max(s.width for s, _ in job.todo)))
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
    from .workers import pool_context  # not at import: the photo workers need no page rendering

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
    errors += [_photo_error(plan.shown, plan.photo, plan.index, outcome)
               for plan, outcome in zip(plans, outcomes) if isinstance(outcome, PhotoProblem)]
    finished = [(plan, plan.found | outcome) for plan, outcome in zip(plans, outcomes) if isinstance(outcome, dict)]
    variants, files = _collect(finished, config, _Entries(root / "zip", hashes))
    hashes.save()
    made = sum(len(plan.job.todo) for plan, outcome in zip(plans, outcomes) if plan.job and isinstance(outcome, dict))
    reused = sum(len(plan.found) for plan in plans)
    return PhotoResult(variants, files, errors, made, reused)
