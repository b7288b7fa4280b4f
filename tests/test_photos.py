"""The photo stage: variants, colour, credit strip, metadata, safety, cache and ZIP."""

from __future__ import annotations

import io
import json
import re
import resource
import shutil
import struct
import subprocess
import warnings
import zipfile
import zlib
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms, ImageDraw, IptcImagePlugin

from photo_helpers import ADOBE_RGB, SiteMaker, rgb_profile
from pressekit import photos
from pressekit.photos import image as photo_image
from pressekit.config import VariantSpec
from pressekit.cache import unseal
from pressekit.model import Photo, Rights, variant_roles
from pressekit.photos.meta import PhotoMeta, build_app13, build_iim, build_xmp, splice_segment, to_ascii

SMALL = (VariantSpec("thumb", 120, "burn", 85), VariantSpec("web", 300, "burn", 85),
         VariantSpec("print", 600, "metadata", 92))
CLEAN = (VariantSpec("clean", 200, "metadata", 92),)
EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed (CI installs it)")
SHOWN = "releases/r1/index.md"


@pytest.fixture
def site(tmp_path: Path) -> SiteMaker:
    return SiteMaker(tmp_path / "site", variants=SMALL)


def make(site: SiteMaker, cache: Path | None = None, jobs: int = 1) -> photos.PhotoResult:
    """Run make_variants over the site's releases with a cache beside the site."""
    return photos.make_variants(site.releases, site.config(), cache or site.root.parent / "cache", jobs=jobs)


def output(result: photos.PhotoResult, relpath: str) -> bytes:
    """Return the bytes of one output file of `result`."""
    return next(f.read() for f in result.files if f.relpath == relpath)


def opened(result: photos.PhotoResult, relpath: str) -> Image.Image:
    """Return one output JPEG of `result`, loaded."""
    image = Image.open(io.BytesIO(output(result, relpath)))
    image.load()
    return image


def jpeg_bytes(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)  # type: ignore[arg-type]
    return buffer.getvalue()


def markers(jpeg: bytes) -> list[tuple[int, bytes]]:
    """Return the JPEG's segments before the scan: (marker, first bytes of payload)."""
    out, pos = [], 2
    while jpeg[pos] == 0xFF and jpeg[pos + 1] != 0xDA:
        length = struct.unpack(">H", jpeg[pos + 2:pos + 4])[0]
        out.append((jpeg[pos + 1], jpeg[pos + 4:pos + 4 + 16]))
        pos += 2 + length
    return out


def xmp_fields(image: Image.Image) -> dict[str, str]:
    """Return the simple text of each XMP property of `image` by its prefixed name."""
    xmp = image.info["xmp"].decode("utf-8")
    return {m[0]: re.sub(r"<[^>]+>", "", m[1]) for m in re.findall(r"<(\w+:\w+)>(.*?)</\1>", xmp, re.S)}


# --- variants ------------------------------------------------------------------------------------

def manifest(result: photos.PhotoResult) -> list[tuple[object, ...]]:
    """Return what matters of each variant: path, size, mode, progressive, EXIF, XMP and IIM texts."""
    rows = []
    for file in result.files:
        if not file.relpath.endswith(".jpg"):
            continue
        image = opened(result, file.relpath)
        exif = image.getexif()
        iptc = IptcImagePlugin.getiptcinfo(image) or {}
        xmp = xmp_fields(image)
        rows.append((file.relpath, image.size, image.mode, bool(image.info.get("progressive")),
                     exif.get(0x013B), exif.get(0x8298), exif.get(0x010E), exif.get_ifd(0x8769).get(0xA001),
                     xmp["dc:creator"], xmp["photoshop:Credit"], xmp["dc:rights"], xmp["dc:description"],
                     xmp["xmpRights:UsageTerms"], xmp["xmpRights:WebStatement"],
                     xmp["Iptc4xmpCore:AltTextAccessibility"],
                     iptc.get((1, 90)), iptc.get((2, 80)), iptc.get((2, 110)), iptc.get((2, 116)), iptc.get((2, 120)),
                     ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))).strip()))
    return rows


def test_manifest_of_variants(site: SiteMaker) -> None:
    photo = site.photo("r1", "team.jpg", Image.new("RGB", (1000, 750), (90, 120, 150)), quality=90)
    site.release("r1", photo)
    result = make(site)
    texts = ("Juergen Mueller/ Kreis Sued", "(c) Kreis Sued", "Die Strasse in Sued", 1,
             "Jürgen Müller/ Kreis Süd", "Jürgen Müller/ Kreis Süd", "© Kreis Süd", "Die Straße in Süd",
             "Nur mit Fotonachweis, nur im Zusammenhang mit der Meldung", "https://presse.example.org/nutzung/",
             "Eine Straße", b"\x1b%G", "Jürgen Müller/ Kreis Süd".encode(), "Jürgen Müller/ Kreis Süd".encode(),
             "© Kreis Süd".encode(), "Die Straße in Süd".encode(), "sRGB built-in")
    assert manifest(result) == [
        ("r1/photos/team-thumb.jpg", (120, 90), "RGB", True, *texts),
        ("r1/photos/team-web.jpg", (300, 225), "RGB", True, *texts),
        ("r1/photos/team-print.jpg", (600, 450), "RGB", True, *texts),
    ]
    assert [f.relpath for f in result.files][-1] == "r1/fotos.zip"
    variants = result.variants[("r1", "team.jpg")]
    assert [(v.name, v.relpath, v.width, v.height) for v in variants] == [
        ("thumb", "r1/photos/team-thumb.jpg", 120, 90), ("web", "r1/photos/team-web.jpg", 300, 225),
        ("print", "r1/photos/team-print.jpg", 600, 450)]
    assert [v.size for v in variants] == [len(output(result, v.relpath)) for v in variants]
    assert (result.made, result.reused, result.errors) == (3, 0, [])


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF"])
def test_orientation_is_applied(site: SiteMaker, fmt: str) -> None:
    stored = Image.new("RGB", (600, 400), (220, 30, 30))
    ImageDraw.Draw(stored).rectangle((300, 0, 600, 400), fill=(30, 30, 220))
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90° clockwise: the stored left half (red) becomes the top
    site.variants = CLEAN
    options = {"tiffinfo": {0x0112: 6}} if fmt == "TIFF" else {"exif": exif.tobytes()}
    site.release("r1", site.photo("r1", f"hoch.{fmt.lower()}", stored, format=fmt, **options))
    image = opened(make(site), "r1/photos/hoch-clean.jpg")
    assert image.size == (200, 300)
    assert _near(image.getpixel((100, 30)), (220, 30, 30))
    assert _near(image.getpixel((100, 270)), (30, 30, 220))
    assert 0x0112 not in image.getexif()


def _near(actual: object, expected: tuple[int, ...], tolerance: int = 12) -> bool:
    assert isinstance(actual, tuple)
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected))


def _adobe_rgb_to_srgb(rgb: tuple[int, int, int]) -> tuple[int, ...]:
    """Convert one colour with ImageCms directly, as the expected value of the ICC test."""
    source = ImageCms.ImageCmsProfile(io.BytesIO(rgb_profile("Adobe RGB (compatible)", ADOBE_RGB)))
    pixel = ImageCms.profileToProfile(Image.new("RGB", (1, 1), rgb), source, ImageCms.createProfile("sRGB"))
    return pixel.getpixel((0, 0))  # type: ignore[return-value]


def _sixteen_bit() -> Image.Image:
    image = Image.new("I;16", (64, 48))
    image.paste(32896, (0, 0, 64, 48))  # 0x8080: half way, 128 in 8 bits
    return image


def _palette() -> Image.Image:
    return Image.new("RGB", (64, 48), (200, 100, 50)).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)


def _transparent_palette() -> Image.Image:
    image = Image.new("P", (64, 48), 0)
    image.putpalette([0, 0, 0, 200, 100, 50])
    image.info["transparency"] = 0
    return image


COLOUR_INPUTS = {
    "cmyk-jpeg": (lambda: Image.new("CMYK", (64, 48), (255, 0, 0, 0)), "JPEG", {}, (0, 255, 255)),
    "rgba-png": (lambda: Image.new("RGBA", (64, 48), (200, 0, 0, 0)), "PNG", {}, (255, 255, 255)),
    "la-png": (lambda: Image.new("LA", (64, 48), (0, 128)), "PNG", {}, (128, 128, 128)),
    "16-bit-png": (_sixteen_bit, "PNG", {}, (128, 128, 128)),
    "palette-png": (_palette, "PNG", {}, (200, 100, 50)),
    "palette-transparent-png": (_transparent_palette, "PNG", {}, (255, 255, 255)),
    "gray-jpeg": (lambda: Image.new("L", (64, 48), 77), "JPEG", {}, (77, 77, 77)),
    "bilevel-tiff": (lambda: Image.new("1", (64, 48), 1), "TIFF", {}, (255, 255, 255)),
    "webp": (lambda: Image.new("RGB", (64, 48), (10, 150, 90)), "WEBP", {"lossless": True}, (10, 150, 90)),
    "lab-tiff": (lambda: Image.new("LAB", (64, 48), (128, 128, 128)), "TIFF", {}, (119, 119, 119)),
    "adobe-rgb-jpeg": (lambda: Image.new("RGB", (64, 48), (50, 100, 150)), "JPEG",
                       {"icc_profile": rgb_profile("Adobe RGB (compatible)", ADOBE_RGB), "quality": 100},
                       _adobe_rgb_to_srgb((50, 100, 150))),
}


@pytest.mark.parametrize("case", sorted(COLOUR_INPUTS))
def test_colour_inputs_become_srgb_rgb(site: SiteMaker, case: str) -> None:
    factory, fmt, options, expected = COLOUR_INPUTS[case]
    site.variants = CLEAN
    site.release("r1", site.photo("r1", f"bild.{fmt.lower()}", factory(), format=fmt, **options))
    result = make(site)
    assert result.errors == []
    image = opened(result, "r1/photos/bild-clean.jpg")
    assert (image.mode, image.size) == ("RGB", (64, 48))
    assert _near(image.getpixel((32, 24)), expected, tolerance=4), image.getpixel((32, 24))


def test_icc_conversion_changes_colours() -> None:
    assert not _near(_adobe_rgb_to_srgb((50, 100, 150)), (50, 100, 150), tolerance=5)


def test_camera_jpeg_with_multi_picture_preview(site: SiteMaker) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 10, 10)).save(buffer, "MPO", save_all=True,
                                                      append_images=[Image.new("RGB", (160, 120), (10, 200, 10))])
    photo = site.photo("r1", "mpo.jpg", buffer.getvalue())
    site.release("r1", photo)
    assert photos.check_photo(photo, SHOWN, 0) == []
    image = opened(make(site), "r1/photos/mpo-print.jpg")
    assert image.size == (600, 450) and _near(image.getpixel((300, 100)), (200, 10, 10))


def test_broken_cache_index_is_rebuilt(site: SiteMaker) -> None:
    _two_releases(site)
    index = site.root.parent / "cache" / "photos" / "index.json"
    index.parent.mkdir(parents=True)
    index.write_text('{"x": 1, "' + str(site.releases[0].photos[0].path) + '": 7}')
    assert make(site).made == 9
    index.write_text("[kein json")
    assert make(site).made == 0
    assert str(site.releases[0].photos[0].path) in json.loads(unseal(index.read_bytes()) or b"")


def test_never_upscaled(site: SiteMaker) -> None:
    site.release("r1", site.photo("r1", "klein.png", Image.new("RGB", (250, 100), (1, 2, 3)), format="PNG"))
    result = make(site)
    assert [(v.name, v.width, v.height) for v in result.variants[("r1", "klein.png")]] == [
        ("thumb", 120, 48), ("web", 250, 100), ("print", 250, 100)]


# --- the credit strip ------------------------------------------------------------------------------

def _mean(image: Image.Image, box: tuple[int, int, int, int]) -> float:
    values = image.crop(box).convert("L").tobytes()
    return sum(values) / len(values)


def _brightest(image: Image.Image, box: tuple[int, int, int, int]) -> int:
    return max(image.crop(box).convert("L").tobytes())


def test_credit_strip_burnt_in_and_absent_for_metadata(site: SiteMaker) -> None:
    site.variants = (VariantSpec("burnt", 400, "burn", 90), VariantSpec("clean", 400, "metadata", 90))
    site.release("r1", site.photo("r1", "grau.png", Image.new("RGB", (800, 600), (128, 128, 128)), format="PNG"))
    result = make(site)
    burnt, clean = opened(result, "r1/photos/grau-burnt.jpg"), opened(result, "r1/photos/grau-clean.jpg")
    bottom = (0, 290, 400, 300)
    assert _mean(burnt, bottom) < 90 and _brightest(burnt, (0, 276, 400, 300)) > 220
    assert abs(_mean(clean, bottom) - 128) < 3 and _brightest(clean, (0, 276, 400, 300)) < 135
    assert abs(_mean(burnt, (0, 0, 400, 250)) - 128) < 3  # only a strip at the bottom
    assert abs(_mean(burnt, (0, 0, 400, 250)) - _mean(clean, (0, 0, 400, 250))) < 1


@pytest.mark.parametrize("width", [200, 400, 1200, 3000])
def test_credit_font_scales_with_width(width: int) -> None:
    layout = photo_image.layout_credit("Jürgen Müller/ Kreis Süd", width)
    assert layout.lines == ("Foto: Jürgen Müller/ Kreis Süd",)
    assert layout.size == max(12, round(width * 0.02))


@pytest.mark.parametrize("width", [120, 400, 1200])
def test_long_credit_shrinks_or_wraps_within_the_image(width: int) -> None:
    credit = "Sehr lange Fotografinnen-Bezeichnung Maximiliane Müller-Lüdenscheidt-Großkopf/ Kreisverwaltung Süd"
    layout = photo_image.layout_credit(credit + "-Ü" * 20, width)
    font = photo_image.credit_font(layout.size)
    assert len(layout.lines) > 1 and layout.size >= 10
    assert all(font.getlength(line) <= width - 2 * layout.pad for line in layout.lines)
    assert "".join(layout.lines).replace(" ", "") == f"Foto: {credit}{'-Ü' * 20}".replace(" ", "")


def test_long_credit_keeps_off_the_right_edge(site: SiteMaker) -> None:
    site.variants = (VariantSpec("web", 400, "burn", 95),)
    photo = site.photo("r1", "grau.png", Image.new("RGB", (400, 300), (128, 128, 128)), format="PNG",
                       credit="Maximiliane Müller-Lüdenscheidt-Großkopf, Kreisverwaltung Süd, Abteilung Öffentlichkeit")
    site.release("r1", photo)
    image = opened(make(site), "r1/photos/grau-web.jpg")
    layout = photo_image.layout_credit(photo.credit, 400, 300)
    strip = 2 * layout.pad + layout.line_height * len(layout.lines)
    assert len(layout.lines) == 2
    assert _brightest(image, (398, 300 - strip, 400, 300)) < 100


def test_umlauts_have_glyphs() -> None:
    font = photo_image.credit_font(40)

    def mask(text: str) -> bytes:
        return bytes(font.getmask(text))

    missing = mask("\U0010fffd")
    assert all(mask(char) != missing for char in "äöüÄÖÜß©„“–é")


# --- metadata ----------------------------------------------------------------------------------------

@needs_exiftool
def test_exiftool_reads_xmp_iim_and_exif(site: SiteMaker) -> None:
    site.release("r1", site.photo("r1", "team.jpg", Image.new("RGB", (700, 500), (90, 120, 150))))
    target = site.root.parent / "team-web.jpg"
    target.write_bytes(output(make(site), "r1/photos/team-web.jpg"))
    tags = json.loads(subprocess.run([str(EXIFTOOL), "-j", "-G1", "-charset", "iptc=UTF8", str(target)],
                                     capture_output=True, check=True).stdout)[0]
    expected = {
        "XMP-dc:Creator": "Jürgen Müller/ Kreis Süd", "XMP-photoshop:Credit": "Jürgen Müller/ Kreis Süd",
        "XMP-dc:Rights": "© Kreis Süd", "XMP-dc:Description": "Die Straße in Süd",
        "XMP-xmpRights:UsageTerms": "Nur mit Fotonachweis, nur im Zusammenhang mit der Meldung",
        "XMP-xmpRights:WebStatement": "https://presse.example.org/nutzung/",
        "XMP-iptcCore:AltTextAccessibility": "Eine Straße",
        "IPTC:CodedCharacterSet": "UTF8", "IPTC:By-line": "Jürgen Müller/ Kreis Süd",
        "IPTC:Credit": "Jürgen Müller/ Kreis Süd", "IPTC:CopyrightNotice": "© Kreis Süd",
        "IPTC:Caption-Abstract": "Die Straße in Süd",
        "IFD0:Artist": "Juergen Mueller/ Kreis Sued", "IFD0:Copyright": "(c) Kreis Sued",
        "IFD0:ImageDescription": "Die Strasse in Sued", "ExifIFD:ColorSpace": "sRGB",
    }
    assert {k: tags.get(k) for k in expected} == expected
    assert tags["File:CurrentIPTCDigest"] == tags["Photoshop:IPTCDigest"]
    assert not [k for k in tags if "Warning" in k]


def _camera_file() -> bytes:
    """Return a JPEG as a camera writes it: GPS, serial number, maker note, comment, foreign XMP."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x013B] = "Kamera AG", "Modell 7", "Hans Geheim"
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}
    exif[0x8769] = {0xA431: "SN-4711-GEHEIM", 0x927C: b"MAKERNOTE-GEHEIM", 0xA434: "Objektiv 35"}
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           b'<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="Leck-Software"/>'
           b"</rdf:RDF></x:xmpmeta>")
    return jpeg_bytes(Image.new("RGB", (400, 300), (100, 110, 120)), exif=exif.tobytes(),
                      comment=b"Kommentar-GEHEIM", xmp=xmp)


def test_nothing_private_reaches_a_variant(site: SiteMaker) -> None:
    source = _camera_file()
    assert b"GEHEIM" in source and b"Leck-Software" in source
    site.release("r1", site.photo("r1", "kamera.jpg", source))
    result = make(site)
    for variant in result.variants[("r1", "kamera.jpg")]:
        data = output(result, variant.relpath)
        assert b"GEHEIM" not in data and b"Leck-Software" not in data and b"Kamera AG" not in data
        assert 0xFE not in [marker for marker, _ in markers(data)]  # no COM segment
        image = Image.open(io.BytesIO(data))
        assert image.getexif().get_ifd(0x8825) == {}
        assert set(image.getexif()) == {0x010E, 0x011A, 0x011B, 0x0128, 0x0213, 0x013B, 0x8298, 0x8769}
        assert set(image.getexif().get_ifd(0x8769)) == {0x9000, 0x9101, 0xA000, 0xA001, 0xA002, 0xA003}


@needs_exiftool
def test_exiftool_finds_nothing_private(site: SiteMaker) -> None:
    site.release("r1", site.photo("r1", "kamera.jpg", _camera_file()))
    target = site.root.parent / "kamera-print.jpg"
    target.write_bytes(output(make(site), "r1/photos/kamera-print.jpg"))
    tags = json.loads(subprocess.run([str(EXIFTOOL), "-j", "-G1", str(target)], capture_output=True,
                                     check=True).stdout)[0]
    leaks = [k for k in tags if re.search(r"GPS|Serial|Make|Model|Lens|Comment|Thumbnail|CreatorTool", k)
             and not k.startswith("ICC-header:")]  # the sRGB profile's own (empty) device model
    assert leaks == [] and tags["ICC-header:DeviceModel"] == ""
    assert not [v for v in tags.values() if re.search(r"GEHEIM|Kamera|Leck|Hans", str(v))]


def test_segments_in_order() -> None:
    meta = PhotoMeta("A", "B", "C", "D", "E", "F")
    data = photo_image.encode_variant(Image.new("RGB", (32, 32)), SMALL[0], meta)
    assert [m for m, _ in markers(data)][:6] == [0xE0, 0xE1, 0xE1, 0xE2, 0xED, 0xDB]


@pytest.mark.parametrize(("text", "ascii_"), [
    ("Jürgen Müller/ Kreis Süd", "Juergen Mueller/ Kreis Sued"), ("Straße", "Strasse"), ("© Kreis Süd", "(c) Kreis Sued"),
    ("„Zitat“ – ‚halb‘", '"Zitat" - \'halb\''), ("Łódź, Ærø, Café", "Lodz, AEro, Cafe"), ("Äpfel\nÖl", "Aepfel Oel"),
    ("東京 Foto", "Foto"), ("100 %", "100 %"),
])
def test_exif_text_is_transliterated(text: str, ascii_: str) -> None:
    assert to_ascii(text) == ascii_


@given(st.text())
def test_transliteration_is_printable_ascii_without_question_marks(text: str) -> None:
    result = to_ascii(text)
    assert result.isascii() and all(c.isprintable() for c in result)
    assert "?" not in result or "?" in text


def test_xmp_is_well_formed_and_escaped() -> None:
    import xml.etree.ElementTree as ET

    meta = PhotoMeta("A & B <Foto>", "Satz mit „Zitat“ & <Tag>", "Alt", "© X", "Nur so", "https://x.example/?a=1&b=2")
    packet = build_xmp(meta)
    root = ET.fromstring(packet.decode("utf-8").split("?>", 1)[1].rsplit("<?xpacket", 1)[0])
    texts = [e.text for e in root.iter() if e.text and e.text.strip()]
    assert texts == ["A & B <Foto>", "A & B <Foto>", "Satz mit „Zitat“ & <Tag>", "Alt", "© X", "True", "Nur so",
                     "https://x.example/?a=1&b=2", "https://x.example/?a=1&b=2"]


def test_app13_segment_layout() -> None:
    meta = PhotoMeta("Müller", "Bild", "alt", "© K", "", "")
    segment = build_app13(meta)
    iim = build_iim(meta)
    assert segment[:2] == b"\xff\xed" and struct.unpack(">H", segment[2:4])[0] == len(segment) - 2
    assert segment[4:24] == b"Photoshop 3.0\x008BIM\x04\x04"
    assert segment[24:26] == b"\x00\x00" and struct.unpack(">I", segment[26:30])[0] == len(iim)
    assert iim == (b"\x1c\x01\x00\x00\x02\x00\x04" b"\x1c\x01\x5a\x00\x03\x1b%G" b"\x1c\x02\x00\x00\x02\x00\x04"
                   b"\x1c\x02\x50\x00\x07M\xc3\xbcller" b"\x1c\x02\x6e\x00\x07M\xc3\xbcller"
                   b"\x1c\x02\x74\x00\x04\xc2\xa9 K" b"\x1c\x02\x78\x00\x04Bild")


def test_iim_fields_are_cut_at_a_character_boundary() -> None:
    iim = build_iim(PhotoMeta("x", "ü" * 1500, "a", "c", "", ""))
    caption = iim[iim.index(b"\x1c\x02\x78") + 5:]
    assert len(caption) == 2000 and caption.decode("utf-8") == "ü" * 1000


def test_splice_after_app_segments() -> None:
    jpeg = jpeg_bytes(Image.new("RGB", (8, 8)))
    spliced = splice_segment(jpeg, b"\xff\xed\x00\x04ab")
    assert [m for m, _ in markers(spliced)][:3] == [0xE0, 0xED, 0xDB]
    with pytest.raises(ValueError):
        splice_segment(b"GIF89a", b"\xff\xed\x00\x02")


# --- bad input -------------------------------------------------------------------------------------

def _png_claiming(width: int, height: int) -> bytes:
    """Return a real small PNG whose IHDR claims `width` x `height` (CRC recomputed)."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def _jpeg_claiming(width: int, height: int) -> bytes:
    """Return a small JPEG whose SOF header claims `width` x `height`."""
    data = bytearray(jpeg_bytes(Image.new("RGB", (16, 16))))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "GIF")
    return buffer.getvalue()


def _truncated(fmt: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((300, 200), 50).convert("RGB").save(buffer, fmt)
    return buffer.getvalue()[: len(buffer.getvalue()) // 2]


TOO_LARGE = ("is too large: more than 100 megapixels",
             "scale it down; a file that claims this size may be a decompression bomb")
DAMAGED = ("is truncated or damaged", "copy or export it again from the original")
NOT_A_PHOTO = "check that the photo, not another file, is saved under this name"
BAD_INPUTS = {
    "bomb.png": (_png_claiming(20000, 20000), TOO_LARGE),
    "bomb.jpg": (_jpeg_claiming(20000, 20000), TOO_LARGE),
    "warning-size.png": (_png_claiming(12000, 10000), TOO_LARGE),  # Pillow only warns here: escalated
    "truncated.jpg": (_truncated(), DAMAGED),
    "truncated.png": (_truncated("PNG"), DAMAGED),
    "truncated.webp": (_truncated("WEBP"), DAMAGED),
    "truncated.tif": (_truncated("TIFF"), DAMAGED),
    "animation.gif": (_gif(), ("is a GIF image, not a JPEG, PNG, WebP or TIFF image", "export it as JPEG")),
    "text.jpg": (b"Dies ist kein Foto.\n", ("is a text file, not a JPEG, PNG, WebP or TIFF image", NOT_A_PHOTO)),
    "iphone.jpg": (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64,
                   ("is a HEIC image, not a JPEG, PNG, WebP or TIFF image", "export it as JPEG")),
    "vector.jpg": (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
                   ("is an SVG or XML file, not a JPEG, PNG, WebP or TIFF image", NOT_A_PHOTO)),
    "noise.jpg": (bytes(range(256)) * 4, ("is not a readable image (JPEG, PNG, WebP or TIFF expected)", None)),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_a_clear_error_in_check_and_build(site: SiteMaker, name: str) -> None:
    data, (message, hint) = BAD_INPUTS[name]
    photo = site.photo("r1", name, data, line=12)
    site.release("r1", site.photo("r1", "gut.png", Image.new("RGB", (50, 40)), format="PNG", line=7), photo)
    expected = [f"{SHOWN}:12: photos[1].file: {name} {message}" + (f"\n  hint: {hint}" if hint else "")]
    assert [str(e) for e in photos.check_photo(photo, SHOWN, 1)] == expected
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = make(site)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # kB: never allocated
    assert [str(e) for e in result.errors] == expected
    assert ("r1", "gut.png") in result.variants and ("r1", name) not in result.variants
    assert "r1/fotos.zip" not in [f.relpath for f in result.files]  # incomplete release: no ZIP


def test_missing_file_is_an_error(site: SiteMaker) -> None:
    photo = site.photo("r1", "fehlt.jpg", line=4)
    site.release("r1", photo)
    expected = [f"{SHOWN}:4: photos[0].file: fehlt.jpg does not exist"]
    assert [str(e) for e in photos.check_photo(photo, SHOWN, 0)] == expected
    assert [str(e) for e in make(site).errors] == expected


def test_decompression_bomb_warning_filter_stays_local(site: SiteMaker) -> None:
    photo = site.photo("r1", "bomb.png", _png_claiming(12000, 10000))
    before = list(warnings.filters)
    assert photos.check_photo(photo, SHOWN, 0)
    assert warnings.filters == before


def test_complete_jpeg_with_trailing_data_is_accepted(site: SiteMaker) -> None:
    photo = site.photo("r1", "anhang.jpg", jpeg_bytes(Image.new("RGB", (64, 48))) + b"TRAILER" * 10)
    assert photos.check_photo(photo, SHOWN, 0) == []


def test_same_stem_twice_is_an_error(site: SiteMaker) -> None:
    first = site.photo("r1", "team.jpg", Image.new("RGB", (50, 40)), line=8)
    second = site.photo("r1", "team.png", Image.new("RGB", (50, 40)), format="PNG", line=12)
    site.release("r1", first, second)
    result = make(site)
    assert [str(e) for e in result.errors] == [
        f"{SHOWN}:12: photos[1].file: team.png gives the same variant names as photos[0] (team.jpg): "
        "team-<variant>.jpg\n  hint: use each file once, and give files different names before the extension"]
    assert list(result.variants) == [("r1", "team.jpg")]


VALID_JPEG = jpeg_bytes(Image.effect_noise((64, 48), 40).convert("RGB"), quality=80)
VALID_PNG = io.BytesIO()
Image.effect_noise((40, 30), 40).save(VALID_PNG, "PNG")
PREFIXES = [b"", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xdb", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x01\x00\x00WEBPVP8 ",
            b"II*\x00", b"MM\x00*"]


def _run_job_on(path: Path, data: bytes) -> None:
    """Write `data` to `path`; check it and make a variant: only our errors may come out."""
    path.write_bytes(data)
    photo = Photo(path.name, path, "c", "k", "a", Rights("press", "p"), 3)
    for error in photos.check_photo(photo, SHOWN, 0):
        assert error.message.startswith(f"photos[0].file: {path.name} ")
    job = photos.variants._Job(path, PhotoMeta("k", "c", "a", "", "", ""), path.parent / "cache", ((SMALL[0], "0" * 64),))
    outcome = photos.run_job(job)
    assert isinstance(outcome, (dict, photos.PhotoProblem))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.sampled_from(PREFIXES), body=st.binary(max_size=600))
def test_random_bytes_give_only_our_error(tmp_path: Path, prefix: bytes, body: bytes) -> None:
    _run_job_on(tmp_path / "zufall.jpg", prefix + body)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=st.sampled_from([VALID_JPEG, VALID_PNG.getvalue()]), cut=st.integers(0, 4000),
       flips=st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), max_size=8))
def test_damaged_images_give_only_our_error(tmp_path: Path, source: bytes, cut: int,
                                            flips: list[tuple[int, int]]) -> None:
    data = bytearray(source[: max(1, len(source) - cut)])
    for position, value in flips:
        data[position % len(data)] = value
    _run_job_on(tmp_path / "kaputt.jpg", bytes(data))


# --- warnings ----------------------------------------------------------------------------------------

def test_small_source_warns_for_print(site: SiteMaker) -> None:
    site.variants = (VariantSpec("web", 1200, "burn", 85), VariantSpec("print", 3000, "metadata", 92))
    photo = site.photo("r1", "klein.jpg", Image.new("RGB", (1600, 900)), line=5)
    assert [str(w) for w in photos.photo_warnings(photo, site.config(), SHOWN, 0)] == [
        f"{SHOWN}:5: warning: photos[0].file: klein.jpg is 1600 × 900 pixels, too small for print\n"
        "  hint: print needs at least 1 megapixel and 3000 pixels in width; ask for the original"]
    big = site.photo("r1", "gross.png", Image.new("L", (3000, 400)), format="PNG")
    assert photos.photo_warnings(big, site.config(), SHOWN, 0) == []


@pytest.mark.parametrize("placeholder", ["tbd", "TBD", "xxx", "XXXX", "Foto", "?", "...", "unbekannt", "  ", "-", "n.n."])
def test_placeholder_credit_and_caption_warn(site: SiteMaker, placeholder: str) -> None:
    photo = site.photo("r1", "a.png", Image.new("RGB", (1500, 1000)), format="PNG", credit=placeholder,
                       caption=placeholder, line=6)
    site.variants = CLEAN
    warned = photos.photo_warnings(photo, site.config(), SHOWN, 2)
    assert [(w.message, w.warning) for w in warned] == [
        (f"photos[2].credit: {placeholder!r} looks like a placeholder", True),
        (f"photos[2].caption: {placeholder!r} looks like a placeholder", True)]


def test_good_texts_do_not_warn(site: SiteMaker) -> None:
    site.variants = CLEAN
    photo = site.photo("r1", "a.png", Image.new("RGB", (1500, 1000)), format="PNG", credit="Foto-Studio Xaver/ Kreis")
    assert photos.photo_warnings(photo, site.config(), SHOWN, 0) == []


def test_credit_with_foto_prefix_warns(site: SiteMaker) -> None:
    site.variants = CLEAN
    photo = site.photo("r1", "a.png", Image.new("RGB", (1500, 1000)), format="PNG", credit="Foto: Max Muster")
    assert [str(w) for w in photos.photo_warnings(photo, site.config(), SHOWN, 0)] == [
        f"{SHOWN}:9: warning: photos[0].credit: 'Foto: Max Muster' starts with 'Foto:'\n"
        "  hint: write only the name: pressekit adds 'Foto:' itself"]


def test_check_release_photos_collects_errors_and_warnings(site: SiteMaker) -> None:
    release = site.release("r1", site.photo("r1", "a.txt", b"kein Bild", line=5),
                           site.photo("r1", "b.png", Image.new("RGB", (30, 20)), format="PNG", line=9, credit="tbd"))
    found = photos.check_release_photos(release, site.config())
    assert [(e.line, e.warning, e.message.split(":")[0]) for e in found] == [
        (5, False, "photos[0].file"), (9, True, "photos[1].credit"), (9, True, "photos[1].file")]


# --- cache, parallel run, ZIP ------------------------------------------------------------------------

def _two_releases(site: SiteMaker) -> None:
    site.release("r1", site.photo("r1", "a.jpg", Image.new("RGB", (700, 500), (200, 30, 30))),
                 site.photo("r1", "b.png", Image.new("RGB", (500, 700), (30, 200, 30)), format="PNG"))
    site.release("r2", site.photo("r2", "c.jpg", Image.new("RGB", (640, 480), (30, 30, 200))))


def test_second_run_makes_nothing(site: SiteMaker) -> None:
    _two_releases(site)
    first, second = make(site), make(site)
    assert (first.made, first.reused, second.made, second.reused) == (9, 0, 0, 9)
    assert [(f.relpath, f.read()) for f in first.files] == [(f.relpath, f.read()) for f in second.files]
    assert (site.root.parent / "cache" / "photos" / "index.json").exists()


def test_changed_credit_remakes_exactly_that_photo(site: SiteMaker) -> None:
    _two_releases(site)
    first = make(site)
    r1 = site.releases[0]
    changed = replace(r1.photos[1], credit="Erika Mustermann")
    site.releases[0] = replace(r1, photos=(r1.photos[0], changed))
    second = make(site)
    assert (second.made, second.reused) == (3, 6)
    before = {f.relpath: f.read() for f in first.files}
    after = {f.relpath: f.read() for f in second.files}
    assert sorted(k for k in after if after[k] != before[k]) == [
        "r1/fotos.zip", "r1/photos/b-print.jpg", "r1/photos/b-thumb.jpg", "r1/photos/b-web.jpg"]


def test_changed_source_remakes_and_touched_source_does_not(site: SiteMaker) -> None:
    _two_releases(site)
    make(site)
    path = site.releases[1].photos[0].path
    path.touch()
    assert make(site).made == 0
    Image.new("RGB", (640, 480), (30, 30, 190)).save(path, "JPEG")
    assert make(site).made == 3


def test_parallel_run_gives_the_same_bytes_and_reports_progress(site: SiteMaker, tmp_path: Path) -> None:
    _two_releases(site)
    calls: list[tuple[int, int]] = []
    parallel = photos.make_variants(site.releases, site.config(), tmp_path / "c2", jobs=2,
                                    progress=lambda done, total: calls.append((done, total)))
    serial = make(site, tmp_path / "c1")
    assert [(f.relpath, f.read()) for f in parallel.files] == [(f.relpath, f.read()) for f in serial.files]
    assert calls[0] == (0, 3) and calls[-1] == (3, 3) and len(calls) == 4
    assert parallel.variants == serial.variants


def test_zip_holds_print_variants_and_credits(site: SiteMaker) -> None:
    _two_releases(site)
    result = make(site)
    archive = zipfile.ZipFile(io.BytesIO(output(result, "r1/fotos.zip")))
    assert archive.namelist() == ["BILDNACHWEIS.txt", "a-print.jpg", "b-print.jpg"]
    assert archive.read("a-print.jpg") == output(result, "r1/photos/a-print.jpg")
    assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert archive.read("BILDNACHWEIS.txt").decode("utf-8") == (
        "Bildnachweis: Meldung r1\nKreis Süd\n"
        + "".join(f"\n{name}\nBildunterschrift: Die Straße in Süd\nFoto: Jürgen Müller/ Kreis Süd\n"
                  "Nutzungsrechte: Nur mit Fotonachweis, nur im Zusammenhang mit der Meldung\n"
                  "Nutzungsbedingungen: https://presse.example.org/nutzung/\nCopyright: © Kreis Süd\n"
                  for name in ("a-print.jpg", "b-print.jpg"))
        + "\nFotos nur mit Fotonachweis.\n")


def test_zip_and_variants_are_deterministic(site: SiteMaker, tmp_path: Path) -> None:
    _two_releases(site)
    one, two = make(site, tmp_path / "c1"), make(site, tmp_path / "c2")
    assert [(f.relpath, f.read()) for f in one.files] == [(f.relpath, f.read()) for f in two.files]


def test_print_variant_is_the_widest_clean_one() -> None:
    specs = (VariantSpec("a", 500, "burn", 85), VariantSpec("b", 900, "burn", 85), VariantSpec("c", 700, "metadata", 92))
    assert variant_roles([(s.name, s.width, s.credit == "burn") for s in specs]).print == "c"
    assert variant_roles([(s.name, s.width, s.credit == "burn") for s in specs[:2]]).print == "b"
