"""The release as e-mail: press-service plain text, an HTML alternative and a complete MIME message.

The header fields are encoded, folded and checked by `headers` (which explains why the email package
does not fold them); this module renders the bodies and assembles the MIME structure around them.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import mimetypes
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, formataddr
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from jinja2 import Environment
from markupsafe import Markup

from ..config import Config
from ..dates import embargo_prefix
from ..errors import PressekitError, display_path
from ..markup import absolutize
from ..model import Contact, Photo, PhotoRights, Release, Rights, Variant
from ..output import OutputFile
from ..templates import make_environment, reporting_template_errors
from ..text import one_line
from .headers import (
    HeaderError, MailError, address_field, ascii_field, attachment_disposition, check_headers, parse_address,
    unstructured_field,
)
from .plaintext import html_to_blocks, text_lines

@dataclass(frozen=True)
class EmailParts:
    """The three renderings of one release as e-mail."""

    text: str       # email.txt
    html: str       # email.html
    message: bytes  # release.eml


@dataclass(frozen=True)
class PhotoView:
    """What the e-mail templates show of a photo: texts one line each, absolute URLs."""

    caption: str
    credit: str
    alt: str
    thumb_url: str
    thumb_width: int | None
    thumb_height: int | None
    print_url: str
    print_width: int | None
    print_size: int | None
    rights: Rights | None
    usage: PhotoRights

    @property
    def short_alt(self) -> str:
        """The alt text cut at a word to at most ALT_MAX characters: shown in a small box when images are
        blocked, above the caption that says the rest."""
        if len(self.alt) <= ALT_MAX:
            return self.alt
        return self.alt[:ALT_MAX - 1].rsplit(" ", 1)[0].rstrip(",;:.-–") + "…"


ALT_MAX = 60


@dataclass(frozen=True)
class DownloadView:
    """An attachment as the e-mail links it: `<title> (PDF, 1,2 MB): <url>`."""

    title: str
    kind: str   # the file's extension in capitals: PDF, DOCX ...
    size: int
    url: str


@dataclass(frozen=True)
class MailAttachment:
    """A file attached to the message (the web variant of a photo)."""

    filename: str
    data: bytes
    content_type: str = "application/octet-stream"


Variants = Mapping[tuple[str, str], tuple[Variant, ...]]

# --- the pipeline's entry points ---------------------------------------------


def render_email(release: Release, config: Config, variants: Variants, body_html: str, *,
                 variant_files: Mapping[str, Path] | None = None, env: Environment | None = None,
                 attachment_sizes: Mapping[str, int] | None = None) -> EmailParts:
    """Return email.txt, email.html and release.eml of a release; raise MailError/HeaderError.

    `attachment_sizes` (file -> bytes) is what the build measured; without it the files are measured here.
    """
    env = env or mail_environment(config)  # a caller rendering many releases passes one environment
    sizes = measure_attachments(release) if attachment_sizes is None else attachment_sizes
    context = email_context(release, config, variants, body_html, sizes)
    layout = "email-ots.txt" if config.email.layout == "ots" else "email.txt"
    with reporting_template_errors(config.root, display_path(release.source, config.root)):
        text = env.get_template(layout).render(context)
        html = env.get_template("email.html").render(context)
    attachments = (photo_attachments(release, config, variants, variant_files)
                   if config.email.attach_photos else ())
    return EmailParts(text, html, build_message(release, config, text, html, attachments=attachments))


def email_files(release: Release, config: Config, variants: Variants, body_html: str, *,
                variant_files: Mapping[str, Path] | None = None, env: Environment | None = None,
                attachment_sizes: Mapping[str, int] | None = None) -> list[OutputFile]:
    """Return `<id>/email.txt`, `<id>/email.html` and `<id>/release.eml` as output files."""
    parts = render_email(release, config, variants, body_html, variant_files=variant_files, env=env,
                         attachment_sizes=attachment_sizes)
    return [
        OutputFile(f"{release.id}/email.txt", parts.text.encode("utf-8")),
        OutputFile(f"{release.id}/email.html", parts.html.encode("utf-8")),
        OutputFile(f"{release.id}/release.eml", parts.message),
    ]


def find_release(releases: Sequence[Release], release_id: str) -> Release:
    """Return the release with that id; raise PressekitError with a did-you-mean hint."""
    for release in releases:
        if release.id == release_id:
            return release
    ids = sorted(r.id for r in releases)
    close = difflib.get_close_matches(release_id, ids, n=1) or [i for i in ids if release_id and release_id in i][:1]
    hint = f"did you mean '{close[0]}'?" if close else "the id is the folder name under releases/"
    raise PressekitError(f"no release with the id '{release_id}'", hint)


# --- what the templates see --------------------------------------------------


def mail_environment(config: Config, compiled: bool = False) -> Environment:
    """The site's Jinja environment plus the `lines` filter (a configured text, one line per paragraph);
    `compiled` as for `make_environment`."""
    env = make_environment(config, compiled=compiled)
    env.filters["lines"] = text_lines
    return env


def measure_attachments(release: Release) -> dict[str, int]:
    """Return file -> size in bytes of the release's attachments; raise MailError when one is unreadable."""
    try:
        return {a.file: a.path.stat().st_size for a in release.attachments}
    except OSError as exc:
        raise MailError(f"{release.id}: cannot read the attachment {exc.filename}: {exc.strerror}") from exc


def email_context(release: Release, config: Config, variants: Variants, body_html: str,
                  attachment_sizes: Mapping[str, int] | None = None) -> dict[str, Any]:
    """Return the template context shared by the text and HTML layouts."""
    page_url = config.release_url(release.id)
    sizes = attachment_sizes or {}
    absolute = absolutize(body_html, page_url)
    blocks = html_to_blocks(absolute)
    return {
        "release": release,
        "subject": subject_of(release, config),
        "body": [line for block in blocks for line in block],
        "blocks": blocks,
        "body_html": Markup(inline_styles(absolute)),
        "photos": [photo_view(release, photo, config, variants) for photo in release.photos],
        "contact": release.contact,
        "dateline": one_line(release.dateline or config.site.dateline),
        "release_url": page_url,
        "links": config.email.links,
        "unsubscribe_address": unquote(urlsplit(config.send.unsubscribe_mailto).path),
        "zip_url": f"{page_url}fotos.zip" if release.photos else "",
        "downloads": [DownloadView(one_line(a.title), PurePosixPath(a.file).suffix.lstrip(".").upper() or "Datei",
                                   sizes.get(a.file, 0), page_url + quote(a.file)) for a in release.attachments],
    }


def subject_of(release: Release, config: Config) -> str:
    """The Subject: the title, prefixed `Sperrfrist DD.MM.YYYY HH:MM Uhr: ` under an embargo."""
    if release.embargo is None:
        return release.title
    return f"{embargo_prefix(release.embargo, config.site.tz)}: {release.title}"


def sender_of(config: Config) -> tuple[str, str]:
    """(display name, address) from [email] from, else from the default contact and the organisation."""
    if config.email.sender:
        return parse_address(config.email.sender, "pressekit.toml: [email] from")
    contact: Contact | None = config.contact(None)
    if contact is None or not contact.email:
        raise MailError("the e-mail has no sender",
                        "set [email] from in pressekit.toml, or give the first [contacts.*] an email")
    org = config.site.organisation
    name = f"{contact.label} {org}" if contact.label else (f"{contact.name}, {org}" if contact.name else org)
    return parse_address(formataddr((one_line(name), contact.email)), "the first contact's email")


def photo_view(release: Release, photo: Photo, config: Config, variants: Variants) -> PhotoView:
    """Thumbnail and print file as the site's variant roles choose them (the original without variants)."""
    files = config.roles.pick(variants.get((release.id, photo.file), ()))
    thumb, printed = (files.thumb, files.print) if files else (None, None)
    original = f"{config.site.base_url}{quote(release.id)}/{quote(photo.file)}"
    return PhotoView(
        caption=one_line(photo.labelled_caption), credit=one_line(photo.credit), alt=one_line(photo.alt),
        thumb_url=_variant_url(thumb, config) if thumb else original,
        thumb_width=thumb.width if thumb else None, thumb_height=thumb.height if thumb else None,
        print_url=_variant_url(printed, config) if printed else original,
        print_width=printed.width if printed else None, print_size=printed.size if printed else None,
        rights=photo.rights, usage=photo.usage,
    )


def _variant_url(variant: Variant, config: Config) -> str:
    return config.site.base_url + quote(variant.relpath)


_STYLES = {
    "p": "margin:0 0 16px 0;",
    "h1": "margin:24px 0 8px 0;font-size:22px;line-height:1.3;",
    "h2": "margin:24px 0 8px 0;font-size:19px;line-height:1.3;",
    "h3": "margin:20px 0 8px 0;font-size:17px;line-height:1.3;",
    "h4": "margin:16px 0 8px 0;font-size:16px;", "h5": "margin:16px 0 8px 0;font-size:15px;",
    "h6": "margin:16px 0 8px 0;font-size:15px;",
    "a": "color:#0b5394;text-decoration:underline;",
    "ul": "margin:0 0 16px 0;padding-left:24px;", "ol": "margin:0 0 16px 0;padding-left:24px;",
    "li": "margin:0 0 4px 0;",
    "table": "border-collapse:collapse;margin:0 0 16px 0;width:100%;",
    "th": "border:1px solid #cccccc;padding:4px 8px;background-color:#f2f2f2;text-align:left;",
    "td": "border:1px solid #cccccc;padding:4px 8px;",
    "blockquote": "margin:0 0 16px 0;padding:0 0 0 12px;border-left:3px solid #cccccc;color:#444444;",
    "pre": "margin:0 0 16px 0;padding:8px;background-color:#f6f6f6;white-space:pre-wrap;font-size:14px;",
    "code": "font-family:Consolas,Menlo,monospace;",
    "img": "max-width:100%;height:auto;border:0;",
    "hr": "border:0;border-top:1px solid #dddddd;margin:16px 0;",
}
_START_TAG = re.compile(r'<(%s)((?:\s+[^\s="/>]+(?:="[^"]*")?)*)\s*(/?)>' % "|".join(_STYLES))


def inline_styles(fragment: str) -> str:
    """Give the body's tags inline styles (mail clients ignore style sheets); keep their own styles last."""
    def styled(m: re.Match[str]) -> str:
        tag, attrs, close = m.groups()
        own = re.search(r'\sstyle="([^"]*)"', attrs)
        attrs = attrs.replace(own.group(0), "") if own else attrs
        style = _STYLES[tag] + (own.group(1) if own else "")
        return f'<{tag}{attrs} style="{style}"{close and " /"}>'
    return _START_TAG.sub(styled, fragment)


def photo_attachments(release: Release, config: Config, variants: Variants,
                      variant_files: Mapping[str, Path] | None) -> tuple[MailAttachment, ...]:
    """The web variant of each photo whose file is known; raise MailError above [email] attach_limit_mb."""
    out: list[MailAttachment] = []
    for photo in release.photos:
        files = config.roles.pick(variants.get((release.id, photo.file), ()))
        web = files.web if files else None
        path = (variant_files or {}).get(web.relpath) if web else None
        if path is None:
            continue  # the photo stage has not made it: the HTML e-mail links the photo instead
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise MailError(f"{release.id}: cannot read the photo to attach {path}: {exc.strerror}") from exc
        name = PurePosixPath(web.relpath).name  # type: ignore[union-attr]
        out.append(MailAttachment(name, data, mimetypes.guess_type(name)[0] or "application/octet-stream"))
    total, limit = sum(len(a.data) for a in out), config.email.attach_limit_mb
    if total > limit * 1024 * 1024:
        raise MailError(f"{release.id}: the photos to attach have {total / 1048576:.1f} MB together; "
                        f"[email] attach_limit_mb allows {limit:g} MB\n"
                        "  hint: raise attach_limit_mb, or set attach_photos = false to send links only")
    return tuple(out)


# --- the MIME message --------------------------------------------------------


def build_message(release: Release, config: Config, text: str, html: str, *, to: str | None = None,
                  message_id: str | None = None, extra_headers: Sequence[tuple[str, str]] = (),
                  attachments: Sequence[MailAttachment] = (), date: datetime | None = None,
                  utf8: bool = False) -> bytes:
    """Return the deterministic RFC 5322 message (text + HTML alternatives); raise HeaderError.

    `utf8`: the recipient's address may have a non-ASCII local part, written as UTF-8 (RFC 6532), for a
    message sent with SMTPUTF8; every other header stays ASCII (encoded words) and is checked the same."""
    where = display_path(release.source, config.root)
    fields = [address_field("From", *sender_of(config))]
    if to is not None:
        fields.append(address_field("To", *parse_address(to, "the recipient", utf8)))
    fields.append(unstructured_field("Subject", subject_of(release, config), where))
    when = format_datetime((date or release.published).astimezone(config.site.tz))
    mid = message_id or f"<{release.id}@{config.site.domain}>"
    if not re.fullmatch(r"<[!-;=?-~]+@[!-;=?-~]+>", mid):
        raise HeaderError(f"Message-ID: {mid!r} is not of the form <id@domain>")
    fields += [("Date", when, when), ("Message-ID", mid, mid)]
    fields += [ascii_field(name, value) for name, value in extra_headers]
    fields += [("MIME-Version", "1.0", "1.0"), ("Content-Language", config.site.language, config.site.language)]
    names = [f[0].lower() for f in fields]
    if twice := sorted({n for n in names if names.count(n) > 1}):
        raise HeaderError(f"the header {twice[0]} would be given twice")
    seed = "\0".join([release.id, mid, text, html] + [hashlib.sha256(a.data).hexdigest() for a in attachments])
    head = "".join(f"{name}: {raw}\r\n".replace("\r\n", "\n").replace("\n", "\r\n") for name, raw, _ in fields)
    body_headers, body = _body(text, html, attachments, hashlib.sha256(seed.encode("utf-8")).hexdigest()[:16])
    data = (head + _header_block(body_headers)).encode("utf-8" if utf8 else "ascii") + b"\r\n" + body
    check_headers(data, {name: expected for name, _, expected in fields} | dict(body_headers), utf8)
    return data


# The MIME structure is written directly (every header is already encoded and folded above):
# the email package's generator would parse each header again, at a cost that dominates sending.
Headers = list[tuple[str, str]]


def _header_block(headers: Headers) -> str:
    return "".join(f"{name}: {value}\r\n" for name, value in headers)


def _body(text: str, html: str, attachments: Sequence[MailAttachment], token: str) -> tuple[Headers, bytes]:
    """The top-level Content-Type header and the encoded body of the message."""
    alternative = _multipart("alternative", f"=_pk_alt_{token}",
                             [_leaf('text/plain; charset="utf-8"', text.encode("utf-8")),
                              _leaf('text/html; charset="utf-8"', html.encode("utf-8"))])
    if not attachments:
        return alternative
    files = [_leaf(a.content_type, a.data, disposition=attachment_disposition(a.filename)) for a in attachments]
    return _multipart("mixed", f"=_pk_mix_{token}", [alternative, *files])


def _multipart(subtype: str, boundary: str, parts: list[tuple[Headers, bytes]]) -> tuple[Headers, bytes]:
    delimiter = f"--{boundary}\r\n".encode("ascii")
    body = b"".join(delimiter + _header_block(headers).encode("ascii") + b"\r\n" + payload + b"\r\n"
                    for headers, payload in parts)
    return [("Content-Type", f'multipart/{subtype}; boundary="{boundary}"')], body + f"--{boundary}--\r\n".encode("ascii")


def _leaf(content_type: str, data: bytes, disposition: str | None = None) -> tuple[Headers, bytes]:
    # base64 keeps the bytes exactly: the part decodes to email.txt as written, without a final newline
    # added or LF turned into CRLF, and no line of the message gets near 998 octets.
    headers = [("Content-Type", content_type), ("Content-Transfer-Encoding", "base64")]
    if disposition:
        headers.append(("Content-Disposition", disposition))
    return headers, base64.encodebytes(data).replace(b"\n", b"\r\n")
