"""Helpers for photo tests and the photo benchmark: sites, releases and generated images in a folder."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from PIL import Image, ImageDraw

from pressekit.config import DEFAULT_VARIANTS, Boilerplate, Config, Rights, Site, Texts, VariantSpec
from pressekit.model import Photo, Release

D50 = (0.9642, 1.0, 0.8249)
# Colorants (D50-adapted XYZ of the red, green and blue primaries) of two wide-gamut spaces.
ADOBE_RGB = ((0.6097, 0.3111, 0.0195), (0.2053, 0.6257, 0.0609), (0.1492, 0.0632, 0.7446))
DISPLAY_P3 = ((0.5151, 0.2412, -0.0011), (0.2920, 0.6922, 0.0419), (0.1571, 0.0666, 0.7841))


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(values: tuple[float, float, float]) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15(v) for v in values)


def _desc(text: str) -> bytes:
    ascii_ = text.encode("ascii") + b"\0"
    return b"desc\0\0\0\0" + struct.pack(">I", len(ascii_)) + ascii_ + b"\0" * 8 + b"\0" * 3 + b"\0" * 67


def rgb_profile(name: str, colorants: tuple[tuple[float, float, float], ...], gamma: float = 2.2) -> bytes:
    """Return a minimal ICC v2 matrix/TRC RGB display profile."""
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"
    tags = [(b"desc", _desc(name)), (b"cprt", b"text\0\0\0\0public domain\0"), (b"wtpt", _xyz(D50)),
            (b"rXYZ", _xyz(colorants[0])), (b"gXYZ", _xyz(colorants[1])), (b"bXYZ", _xyz(colorants[2])),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"lcms" + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ "
              + struct.pack(">6H", 2024, 1, 1, 0, 0, 0) + b"acspAPPL" + b"\0" * 24
              + b"".join(_s15(v) for v in D50) + b"\0" * 48)
    return header + struct.pack(">I", len(tags)) + table + body


def scene(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """Return a photo-like RGB image: smooth colour areas, edges and sensor noise (JPEG cost like a photo)."""
    w, h = size
    small = Image.frombytes("RGB", (24, 16), bytes((seed * 7919 + i * 104729) % 251 for i in range(24 * 16 * 3)))
    image = small.resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    for k in range(12):
        x, y = (seed * 37 + k * 997) % w, (seed * 53 + k * 641) % h
        draw.rectangle((x, y, x + w // 8, y + h // 10), outline=(250, 250, 250), width=max(1, w // 600))
    noise = Image.effect_noise(size, 24).convert("RGB")
    return Image.blend(image, noise, 0.12)


@dataclass
class SiteMaker:
    """A site folder for tests: writes images and builds Release objects and a Config for them."""

    root: Path
    variants: tuple[VariantSpec, ...] = DEFAULT_VARIANTS
    rights: tuple[Rights, ...] = (Rights("press", "Nur mit Fotonachweis, nur im Zusammenhang mit der Meldung",
                                         "© Kreis Süd", "https://presse.example.org/nutzung/"),)
    releases: list[Release] = field(default_factory=list)

    def config(self) -> Config:
        """Return the site's Config."""
        return Config(root=self.root, site=Site("Presse", "Kreis Süd", "https://presse.example.org/"),
                      texts=Texts(photo_notice="Fotos nur mit Fotonachweis."), boilerplate=Boilerplate(),
                      contacts=(), rights=self.rights, variants=self.variants)

    def folder(self, release_id: str) -> Path:
        """Return (and create) the folder of a release."""
        path = self.root / "releases" / release_id
        path.mkdir(parents=True, exist_ok=True)
        (path / "index.md").touch()
        return path

    def photo(self, release_id: str, file: str, image: Image.Image | bytes | None = None, line: int = 9,
              credit: str = "Jürgen Müller/ Kreis Süd", caption: str = "Die Straße in Süd",
              alt: str = "Eine Straße", rights: str = "press", **save: object) -> Photo:
        """Write `image` (an Image saved with `save` options, or raw bytes) and return its Photo."""
        path = self.folder(release_id) / file
        if isinstance(image, bytes):
            path.write_bytes(image)
        elif image is not None:
            image.save(path, **save)  # type: ignore[arg-type]
        found = next(r for r in self.rights if r.key == rights)
        return Photo(file, path, caption, credit, alt, found, line)

    def release(self, release_id: str, *photos: Photo) -> Release:
        """Return (and remember) a release with `photos`."""
        release = Release(release_id, self.folder(release_id) / "index.md", f"Meldung {release_id}",
                          datetime(2025, 7, 2, tzinfo=timezone.utc), False, "Text", 8, photos=photos)
        self.releases.append(release)
        return release
