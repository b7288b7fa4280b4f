"""The release as e-mail: rendering the bodies, the header guard and the MIME message.

Entered only through this module. `message` renders email.txt/email.html and assembles the MIME
structure, `headers` encodes, folds and checks the header fields, `plaintext` turns HTML into the
press-service text. Never imports release validation (`releases`): it renders validated values.
"""

from .headers import (
    HeaderError, MailError, address_field, check_headers, parse_address, unstructured_field,
)
from .message import (
    DownloadView, EmailParts, MailAttachment, PhotoView, Variants, build_message, email_context, email_files,
    find_release, mail_environment, measure_attachments, photo_attachments, photo_view, render_email, sender_of,
    subject_of,
)

__all__ = [
    "DownloadView", "EmailParts", "HeaderError", "MailAttachment", "MailError", "PhotoView", "Variants",
    "address_field", "build_message", "check_headers", "email_context", "email_files", "find_release",
    "mail_environment", "measure_attachments", "parse_address", "photo_attachments", "photo_view", "render_email",
    "sender_of", "subject_of", "unstructured_field",
]
