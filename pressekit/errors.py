"""Errors that know where they come from and how to show themselves."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def with_hint(text: str, hint: str | None) -> str:
    """The one way a problem is shown: its text, then `  hint: ...` on a line of its own when there is one."""
    return f"{text}\n  hint: {hint}" if hint else text


class PressekitError(Exception):
    """Base of every error pressekit reports to the user (never with a traceback), with an optional hint."""

    def __init__(self, message: str = "", hint: str | None = None):
        super().__init__(message, hint)  # both in args, so that it survives pickling from a worker
        self.message, self.hint = message, hint

    def __str__(self) -> str:
        return with_hint(self.message, self.hint)


@dataclass(frozen=True, order=True)
class SourceError:
    """One problem at one place of the input: `path:line: message`."""

    path: str
    line: int
    message: str
    hint: str | None = None
    warning: bool = False

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path  # line 0: a folder, not a line of a file
        return with_hint(f"{where}: {'warning: ' if self.warning else ''}{self.shown_message}", self.hint)

    @property
    def shown_message(self) -> str:
        """The message as printed (see `escaped_breaks`): every problem stays one `path:line:` line."""
        return escaped_breaks(self.message)


def escaped_breaks(text: str) -> str:
    """Text that quotes values from the input, with every line break shown escaped (`\\n`), as Python
    writes it, so that no value can pose as a line of its own in a message."""
    shown = []
    for line in text.splitlines(keepends=True):
        content = line.splitlines()[0] if line.splitlines() else ""
        shown.append(content + repr(line[len(content):])[1:-1])
    return "".join(shown)


class BuildFailed(PressekitError):
    """Raised with every problem found, after all input has been checked."""

    def __init__(self, errors: list[SourceError]):
        self.errors = sorted(errors, key=lambda e: (e.path, e.line, e.message))
        super().__init__("\n".join(str(e) for e in self.errors))

    def __reduce__(self) -> tuple[type[BuildFailed], tuple[list[SourceError]]]:
        return BuildFailed, (self.errors,)  # raised in a worker process, it reaches the parent whole


def display_path(path: Path, root: Path) -> str:
    """Return `path` relative to the site root when it lies inside it, for messages."""
    text, prefix = str(path), str(root).rstrip("/") + "/"  # a string test: this runs for every release
    return text[len(prefix):] if text.startswith(prefix) else text
