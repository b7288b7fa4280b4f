"""Split `index.md` into YAML front matter and body; parse the YAML keeping every line.

Every scalar stays a string (YAML 1.1 would turn `plz: 01234` into 668 and `embargo: no`
into False): typing is the job of the validation in `releases.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import yaml

from .errors import SourceError
from .text import decode_utf8

_LOADER = getattr(yaml, "CBaseLoader", yaml.BaseLoader)

Data = Union[str, list["Node"], dict[str, "Node"], None]


@dataclass(frozen=True)
class Node:
    """A front-matter value and the line (1-based, in index.md) where it stands."""

    value: Data
    line: int


@dataclass(frozen=True)
class Document:
    fields: dict[str, Node]
    body: str
    body_line: int
    line: int = 1  # line of the opening '---'


_ODD_BREAK = re.compile("[\u2028\u2029\x85]")  # line breaks to YAML and str.splitlines, not to editors
_KEY = re.compile(r"\s*(?:-\s+)?([A-Za-z_][\w-]*)\s*:")


def split_lines(text: str) -> list[str]:
    """The lines of text with their ends; only \\n ends a line (str.splitlines also breaks at U+2028 ...)."""
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


def _odd_break(line: str, number: int, shown: str) -> SourceError:
    char = _ODD_BREAK.search(line)
    key = _KEY.match(line)
    where = f"{key.group(1)}: " if key else ""
    return SourceError(shown, number, f"{where}contains the invisible line break U+{ord(char.group()) if char else 0:04X}; "
                       "expected a single line", "delete the character (it comes from pasting out of Word or a PDF)")


def split_document(text: str, shown: str) -> tuple[Document | None, list[SourceError]]:
    """Split text into front matter and body, and parse the front matter."""
    lines = split_lines(text)
    if not lines or lines[0].rstrip() != "---":
        return None, [SourceError(shown, 1, "index.md must start with front matter between '---' lines",
                                  "begin the file with '---', the fields, then '---'")]
    end = _closing(lines)
    if end is None:
        return None, [SourceError(shown, 1, "the front matter opened here is never closed",
                                  "add a line '---' after the last field")]
    errors = [SourceError(shown, i + 1, "a tab character in the front matter", "indent YAML with spaces")
              for i in range(1, end) if "\t" in lines[i]]
    errors += [_odd_break(lines[i], i + 1, shown) for i in range(1, end) if _ODD_BREAK.search(lines[i])]
    if errors:
        return None, errors
    fields, errors = parse_yaml("".join(lines[1:end]), shown, first_line=2)
    if fields is None:
        return None, errors
    return Document(fields, "".join(lines[end + 1:]), end + 2), errors


def body_of(text: str) -> tuple[str, int] | None:
    """The body of a document `split_document` accepts, and the line it starts at; None when it has no
    closed front matter. (The body of an unchanged release is read again this way, not kept in the cache.)"""
    lines = split_lines(text)
    if not lines or lines[0].rstrip() != "---":
        return None
    end = _closing(lines)
    return None if end is None else ("".join(lines[end + 1:]), end + 2)


def _closing(lines: list[str]) -> int | None:
    """The index of the line that closes the front matter opened by the first line."""
    return next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)


def read_document(source: Path, shown: str) -> tuple[Document | None, list[SourceError]]:
    """A Markdown file with front matter, decoded as UTF-8 (errors at their line) and split."""
    text, errors = decode_utf8(source.read_bytes(), shown)
    if text is None:
        return None, errors
    return split_document(text, shown)


def parse_yaml(text: str, shown: str, first_line: int) -> tuple[dict[str, Node] | None, list[SourceError]]:
    """Parse a YAML mapping into Nodes; duplicate keys, aliases and non-mappings are errors."""
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + (mark.line if mark else 0)
        return None, [SourceError(shown, line, f"the front matter is not valid YAML: {exc.problem}")]
    except yaml.YAMLError as exc:
        return None, [SourceError(shown, first_line, f"the front matter is not valid YAML: {exc}")]
    if root is None:
        return {}, []
    errors: list[SourceError] = []
    node = _convert(root, shown, first_line, errors, set())
    if not isinstance(node.value, dict):
        errors.append(SourceError(shown, node.line, "the front matter must be 'key: value' lines"))
        return None, errors
    return node.value, errors


def _convert(node: yaml.Node, shown: str, first: int, errors: list[SourceError], seen: set[int]) -> Node:
    line = first + node.start_mark.line
    if id(node) in seen:
        errors.append(SourceError(shown, line, "YAML anchors and aliases are not allowed here"))
        return Node(None, line)
    seen.add(id(node))
    if isinstance(node, yaml.ScalarNode):
        return Node(node.value, line)
    if isinstance(node, yaml.SequenceNode):
        return Node([_convert(item, shown, first, errors, seen) for item in node.value], line)
    mapping: dict[str, Node] = {}
    for key_node, value_node in node.value:
        key_line = first + key_node.start_mark.line
        if not isinstance(key_node, yaml.ScalarNode):
            errors.append(SourceError(shown, key_line, "a key must be a plain word"))
            continue
        if key_node.value in mapping:
            errors.append(SourceError(shown, key_line, f"'{key_node.value}' is given twice",
                                      f"the first is on line {mapping[key_node.value].line}; keep one"))
            continue
        value = _convert(value_node, shown, first, errors, seen)
        mapping[key_node.value] = Node(value.value, key_line if isinstance(value.value, str) or value.value is None else value.line)
    return Node(mapping, line)
