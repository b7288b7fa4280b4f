"""Markdown rendering: the quick inline path equals Python-Markdown's, and no input yields active content."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import markdown
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pressekit import markup
from pressekit.text import slugify

REFERENCE = markdown.Markdown(
    extensions=markup.EXTENSIONS,
    extension_configs={"toc": {"slugify": slugify, "toc_depth": "2-6"},
                       "footnotes": {"BACKLINK_TITLE": "Zurück zum Text (Fußnote %d)"}},
    output_format="html",
)

PIECE_LIST = [
    "Wort", "Straße", "„Zitat“", " ", "  \n", "\n", "\n\n", "*", "**", "_", "[", "]", "(", ")", "<", ">", "`", "&",
    "&amp;", "\\", "!", "#", "## Titel\n", "- Punkt\n", "1. Punkt\n", "| a | b |\n|---|---|\n| 1 | 2 |\n",
    "[Link](https://example.org/)", "<https://example.org/>", "[^1]", "\n[^1]: Fußnote\n", "*[HTML]: Hypertext\n",
    "HTML", "<b>fett</b>", "<script>alert(1)</script>", '<a href="javascript:alert(1)">x</a>', "{: .klasse }",
    "```\ncode\n```\n", "Begriff\n: Erklärung\n", "![Bild](x.png)", "'", '"', "ä", "ß", "-", ":", "\t",
    "*Wort*", "_Wort_", "**fett**", "Zeile  \nneu", "a \\* b", "&copy;", "<b>", "`x`",
]
PIECES = st.sampled_from(PIECE_LIST)


def reference_html(source: str) -> str:
    REFERENCE.reset()
    return markup.sanitize(REFERENCE.convert(source))


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, max_size=30).map("".join))
def test_quick_inline_path_equals_python_markdown(source: str) -> None:
    assert markup.render_html(source) == reference_html(source)


@pytest.mark.parametrize("piece", PIECE_LIST)
def test_plain_text_path_keeps_every_single_pattern(piece: str) -> None:
    # One pattern in otherwise plain text: the text node the plain-text path must not skip.
    for source in (f"Ein Satz {piece} im Text.", f"- Punkt {piece} Ende\n", f"## Titel {piece}\n\nText *x* {piece} y"):
        assert markup.render_html(source) == reference_html(source)


class _Active(HTMLParser):
    """Collects what a browser would run: script elements, event handlers, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "iframe", "object", "embed", "style"):
            self.found.append(tag)
        for name, value in attrs:
            if name.startswith("on") or (value and re.match(r"\s*(javascript|vbscript|data):", value, re.I)):
                self.found.append(f"{tag} {name}={value}")


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, max_size=30).map("".join))
def test_no_input_yields_script_handlers_or_javascript_links(source: str) -> None:
    checker = _Active()
    checker.feed(markup.render_html(source))
    assert checker.found == []


def test_german_heading_anchors_and_quotes() -> None:
    html = markup.render_html("## Größe & Straße\n\n„Zitat“ des Kreis' Vorstands.")
    assert '<h2 id="groesse-strasse">Größe &amp; Straße</h2>' in html
    assert "<p>„Zitat“ des Kreis' Vorstands.</p>" in html


def test_summary_is_the_first_paragraph_as_text() -> None:
    html = markup.render_html("## Titel\n\nErster *Absatz* &amp; mehr.\n\nZweiter.")
    assert markup.summary_of("", html) == "Erster Absatz & mehr."
    assert markup.summary_of("  Eigene   Zusammenfassung ", html) == "Eigene Zusammenfassung"
