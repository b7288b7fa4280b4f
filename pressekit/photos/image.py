"""Decoding a source to sRGB, burning the credit strip and encoding a variant with its metadata."""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import cast

from PIL import Image, ImageCms, ImageDraw, ImageFont, TiffImagePlugin

from ..config import VariantSpec
from .meta import XMP_MAX_CHARS, PhotoMeta, build_app13, build_xmp, splice_segment, to_ascii
from .check import (
    JPEG_FORMATS,
    PhotoProblem,
    opened_image,
    check_memory,
    exif_orientation,
    upright_size,
)

FONT_PATH = Path(__file__).parent.parent / "fonts" / "DejaVuSans.ttf"
TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,  # by EXIF orientation
             4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
             6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}

# Box-reduce by an integer factor first while the Lanczos step still shrinks by at least this much:
# 2.5x faster from print to web size, and within 48 dB PSNR of a plain Lanczos resize.
_REDUCING_GAP = 1.25

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


def fit_width(size: tuple[int, int], width: int) -> tuple[int, int]:
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
    with opened_image(path) as image:
        stored = image.size
        if image.format in JPEG_FORMATS:  # decode at the smallest DCT scale that still gives `width`
            orientation = exif_orientation(image)
            image.draft(None, upright_size(fit_width(upright_size(stored, orientation), width), orientation))
        check_memory(image)
        image.load()
        orientation = exif_orientation(image)  # after loading: a PNG's eXIf chunk may follow its pixels
        icc = image.info.get("icc_profile")
    full = upright_size(stored, orientation)
    # Resize before colour conversion and rotation: both then work on fewer pixels.
    target = upright_size(fit_width(full, width), orientation)
    picture = _to_srgb(_shrink(_flatten(_to_8bit(image)), target), icc, image.mode)
    picture = picture.transpose(TRANSPOSE[orientation]) if orientation in TRANSPOSE else picture
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
        current = _shrink(current, fit_width(full, spec.width))
        picture = burn_credit(current, meta.credit) if spec.credit == "burn" else current
        yield spec, encode_variant(picture, spec, meta, PRINT_DPI if spec.name == print_name else SCREEN_DPI)


