"""The credit and rights texts of a photo, in every form they travel: XMP, IPTC-IIM, EXIF ASCII, BILDNACHWEIS.txt.

No Pillow here: these are texts and bytes (`image` puts them into the JPEGs).
"""

from __future__ import annotations

import hashlib
import html
import io
import re
import struct
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..config import Config
from ..errors import SourceError
from ..model import Photo, Release

# IPTC-IIM 4.2 dataset: (number, name, PhotoMeta field, the most bytes it may hold).
IIM_FIELDS = ((40, "Special Instructions", "usage_terms", 256), (80, "By-line", "by_line", 32),
              (110, "Credit", "credit", 32), (116, "Copyright Notice", "copyright", 128),
              (120, "Caption/Abstract", "caption", 2000))
IIM_MAX_BYTES = max(limit for *_, limit in IIM_FIELDS)
XMP_MAX_CHARS = 2000

_ASCII = {
    "ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss", "ẞ": "SS",
    "©": "(c)", "®": "(R)", "℗": "(P)", "™": "(TM)", "€": "EUR", "£": "GBP", "§": "Par.",
    "„": '"', "“": '"', "”": '"', "‟": '"', "«": '"', "»": '"', "‚": "'", "‘": "'", "’": "'", "‹": "'", "›": "'",
    "–": "-", "—": "-", "‒": "-", "‐": "-", "‑": "-", "−": "-", "…": "...", "×": "x", "·": ".", "•": "-",
    "°": " Grad", "½": "1/2", "¼": "1/4", "¾": "3/4", "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe",
    "Ø": "O", "ø": "o", "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Þ": "Th", "þ": "th", "ı": "i",
}
_SPACE = re.compile(r"\s+")
_PLACEHOLDERS = {"tbd", "tba", "todo", "xxx", "foto", "fotos", "bild", "photo", "unbekannt", "unknown", "n/a",
                 "na", "nn", "n.n", "fehlt", "platzhalter", "credit", "fotonachweis", "bildnachweis", "caption",
                 "bildunterschrift", "lorem ipsum", "test", "dummy", "folgt", "kommt noch"}


@dataclass(frozen=True)
class PhotoMeta:
    """The texts every variant of one photo carries in its metadata."""

    credit: str          # Fotonachweis: photoshop:Credit, IIM Credit
    caption: str         # dc:description, IIM Caption, EXIF ImageDescription
    alt: str             # Iptc4xmpCore:AltTextAccessibility
    copyright: str       # dc:rights, IIM Copyright Notice, EXIF Copyright
    usage_terms: str     # xmpRights:UsageTerms (the rights label)
    web_statement: str   # xmpRights:WebStatement and plus:Licensor (the rights URL)
    creator: str = ""    # the photographer: dc:creator, IIM By-line, EXIF Artist (empty: the credit)
    source_type: str = ""  # Iptc4xmpExt:DigitalSourceType (IPTC NewsCodes URI)

    @property
    def by_line(self) -> str:
        """Who made the picture: the photographer when named, else the whole credit."""
        return self.creator or self.credit


def photo_meta(photo: Photo, config: Config) -> PhotoMeta:
    """Return the metadata texts of `photo`: its credit, caption and alt, and its rights' texts."""
    usage = photo.usage
    return PhotoMeta(credit=usage.credit, creator=usage.creator, caption=photo.labelled_caption, alt=photo.alt,
                     copyright=usage.copyright, usage_terms=usage.usage_terms, web_statement=usage.url,
                     source_type=photo.digital_source_type)


def looks_placeholder(text: str) -> bool:
    """Return True for an empty-looking or placeholder text such as "tbd", "xxx", "?", "Foto"."""
    word = text.strip().lower().strip(" .:;,-_!?")
    if not any(c.isalnum() for c in text):
        return True
    return word in _PLACEHOLDERS or bool(re.fullmatch(r"(.)\1{2,}", word))


def text_warnings(photo: Photo, shown: str, index: int | None) -> list[SourceError]:
    """Return warnings for placeholder-like credit, caption or alt, and for texts the metadata cannot hold."""
    prefix = f"photos[{index}]." if index is not None else "photo "
    hints = {"credit": "write the Fotonachweis, e.g. 'Birgit Kalle/ Kreis Soest'",
             "caption": "write the caption the press will print", "alt": "describe what the picture shows"}
    out = [SourceError(shown, photo.line, f"{prefix}{field}: {getattr(photo, field)!r} looks like a placeholder",
                       hint, warning=True)
           for field, hint in hints.items() if looks_placeholder(getattr(photo, field))]
    if re.match(r"\s*(foto|bild|photo)\s*:", photo.credit, re.IGNORECASE):
        out.append(SourceError(shown, photo.line, f"{prefix}credit: {photo.credit!r} starts with 'Foto:'",
                               "write only the name: pressekit adds 'Foto:' itself", warning=True))
    if len(photo.caption) > XMP_MAX_CHARS:
        out.append(SourceError(shown, photo.line, f"{prefix}caption: {len(photo.caption)} characters; the photo "
                               f"metadata keeps the first {XMP_MAX_CHARS}", warning=True))
    return out


def to_ascii(text: str) -> str:
    """Return `text` transliterated to printable ASCII for EXIF ("Müller" -> "Mueller"), never with '?'."""
    out = []
    for char in _SPACE.sub(" ", text).strip():
        if char.isascii():
            out.append(char if char.isprintable() else "")
        elif char in _ASCII:
            out.append(_ASCII[char])
        else:
            decomposed = unicodedata.normalize("NFKD", char)
            out.append("".join(c for c in decomposed if c.isascii() and c.isprintable()))
    return _SPACE.sub(" ", "".join(out)).strip()


def _clip(text: str, limit: int = XMP_MAX_CHARS) -> str:
    """Return one line of `text` of at most `limit` characters."""
    return _SPACE.sub(" ", text).strip()[:limit]


def _text(value: str) -> str:
    """`value` as XML character data: &, < and > escaped."""
    return html.escape(value, quote=False)


def _alt(tag: str, value: str) -> str:
    """Return an XMP language alternative holding `value` as x-default."""
    return (f"   <{tag}><rdf:Alt><rdf:li xml:lang=\"x-default\">{_text(_clip(value))}</rdf:li>"
            f"</rdf:Alt></{tag}>\n")


def build_xmp(meta: PhotoMeta) -> bytes:
    """Return a UTF-8 XMP packet with the IPTC Core/Extension fields of `meta`."""
    parts = [
        f"   <dc:creator><rdf:Seq><rdf:li>{_text(_clip(meta.by_line))}</rdf:li></rdf:Seq></dc:creator>\n",
        f"   <photoshop:Credit>{_text(_clip(meta.credit))}</photoshop:Credit>\n",
        _alt("dc:description", meta.caption),
        _alt("Iptc4xmpCore:AltTextAccessibility", meta.alt),
    ]
    if meta.copyright:
        parts += [_alt("dc:rights", meta.copyright), "   <xmpRights:Marked>True</xmpRights:Marked>\n"]
    if meta.usage_terms:
        parts.append(_alt("xmpRights:UsageTerms", meta.usage_terms))
    if meta.web_statement:
        url = _text(_clip(meta.web_statement))
        parts.append(f"   <xmpRights:WebStatement>{url}</xmpRights:WebStatement>\n")
        # PLUS Licensor URL: with Web Statement, Credit, Copyright and Creator, Google shows "Licensable"
        parts.append("   <plus:Licensor><rdf:Seq><rdf:li rdf:parseType=\"Resource\">"
                     f"<plus:LicensorURL>{url}</plus:LicensorURL></rdf:li></rdf:Seq></plus:Licensor>\n")
    if meta.source_type:
        parts.append(f"   <Iptc4xmpExt:DigitalSourceType>{_text(meta.source_type)}</Iptc4xmpExt:DigitalSourceType>\n")
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"\n'
        '    xmlns:xmpRights="http://ns.adobe.com/xap/1.0/rights/"\n'
        '    xmlns:Iptc4xmpCore="http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"\n'
        '    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"\n'
        '    xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/">\n'
        + "".join(parts)
        + "  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    )
    return packet.encode("utf-8")


def _dataset(record: int, number: int, value: bytes) -> bytes:
    """Return one IIM dataset: tag marker, record, dataset number, 2-byte length, data."""
    return struct.pack(">BBBH", 0x1C, record, number, len(value)) + value


def _iim_text(text: str, limit: int) -> bytes:
    """Return `text` as UTF-8 of at most `limit` bytes, cut at a character boundary."""
    data = _clip(text).encode("utf-8")[:limit]
    return data.decode("utf-8", "ignore").encode("utf-8")


def build_iim(meta: PhotoMeta) -> bytes:
    """Return the IPTC-IIM datasets: 1:90 UTF-8 marker, then IIM_FIELDS (2:40 Special Instructions: the usage terms; 2:80 By-line: the photographer), each cut to its limit."""
    return (
        _dataset(1, 0, b"\x00\x04")          # envelope record version 4
        + _dataset(1, 90, b"\x1b%G")         # coded character set: UTF-8
        + _dataset(2, 0, b"\x00\x04")        # application record version 4
        + b"".join(_dataset(2, number, _iim_text(getattr(meta, field), limit))
                   for number, _, field, limit in IIM_FIELDS if getattr(meta, field).strip())
    )


def iim_warnings(photo: Photo, config: Config, shown: str, index: int | None) -> list[SourceError]:
    """Return a warning for each text of `photo` longer than its IPTC-IIM datasets allow (`build_iim` cuts it)."""
    meta = photo_meta(photo, config)
    prefix = f"photos[{index}]." if index is not None else "photo "
    over: dict[str, tuple[int, int, list[str]]] = {}  # front-matter field -> (limit, bytes, dataset names)
    for _, name, field, limit in IIM_FIELDS:
        text = getattr(meta, field)
        size = len(_clip(text, len(text)).encode("utf-8"))
        source = _front_matter_field(field, meta, photo)
        if size > limit:
            over.setdefault(source, (limit, size, []))[2].append(name)
    return [SourceError(shown, photo.line,
                        f"{prefix}{source}: {'its text is ' if source == 'rights' else ''}longer than the "
                        f"{limit} bytes IPTC-IIM allows; it will be cut in IIM metadata",
                        f"{' and '.join(names)}: at most {limit} bytes; this text has {size}", warning=True)
            for source, (limit, size, names) in over.items()]


def _front_matter_field(field: str, meta: PhotoMeta, photo: Photo) -> str:
    """The front-matter field (or `rights`, the config's text) an IIM text comes from."""
    if field == "by_line":
        return "photographer" if photo.photographer else "credit"
    if field == "usage_terms" or (field == "copyright" and photo.rights.copyright):
        return "rights"
    return "credit" if field == "copyright" else field


def _resource(resource_id: int, data: bytes) -> bytes:
    """Return one Photoshop image resource block (8BIM, id, empty name, size, data padded to even)."""
    block = b"8BIM" + struct.pack(">H", resource_id) + b"\x00\x00" + struct.pack(">I", len(data)) + data
    return block + b"\x00" * (len(data) % 2)


def build_app13(meta: PhotoMeta) -> bytes:
    """Return a complete JPEG APP13 segment (marker included) holding the IIM of `meta` and its digest."""
    iim = build_iim(meta)
    # 0x0425 is the MD5 of the IIM block: with it, Photoshop and exiftool trust the IIM as current.
    body = b"Photoshop 3.0\x00" + _resource(0x0404, iim) + _resource(0x0425, hashlib.md5(iim).digest())
    return b"\xff\xed" + struct.pack(">H", len(body) + 2) + body


def splice_segment(jpeg: bytes, segment: bytes) -> bytes:
    """Return `jpeg` with `segment` inserted after its leading APPn segments; ValueError if not a JPEG."""
    if jpeg[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG stream")
    pos = 2
    while pos + 4 <= len(jpeg) and jpeg[pos] == 0xFF and 0xE0 <= jpeg[pos + 1] <= 0xEF:
        pos += 2 + struct.unpack(">H", jpeg[pos + 2:pos + 4])[0]
    return jpeg[:pos] + segment + jpeg[pos:]


def credits_text(release: Release, config: Config, members: Sequence[tuple[str, Photo]]) -> str:
    """Return BILDNACHWEIS.txt: per photo its file, caption, credit, rights text and URL, copyright."""
    lines = [f"Bildnachweis: {release.title}", config.site.organisation]
    for name, photo in members:
        meta = photo_meta(photo, config)
        lines += ["", name, f"Bildunterschrift: {meta.caption}", f"Foto: {photo.credit}"]
        lines += [f"Nutzungsrechte: {meta.usage_terms}"] if meta.usage_terms else []
        lines += [f"Nutzungsbedingungen: {meta.web_statement}"] if meta.web_statement else []
        lines.append(f"Copyright: {meta.copyright}")
    if config.texts.photo_notice:
        lines += ["", config.texts.photo_notice]
    return "\n".join(lines) + "\n"


def _zip_info(name: str, compress: bool) -> zipfile.ZipInfo:
    """Return a ZIP member header with a fixed timestamp and permissions, for deterministic bytes."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.create_system, info.external_attr = 3, 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    return info


def build_zip(text: str, members: Sequence[tuple[str, Path]]) -> bytes:
    """Return the bytes of fotos.zip: BILDNACHWEIS.txt (deflated), then the given JPEG files (stored) in order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(_zip_info("BILDNACHWEIS.txt", True), text.encode("utf-8"), compresslevel=9)
        for name, path in members:
            archive.writestr(_zip_info(name, False), path.read_bytes())
    return buffer.getvalue()
