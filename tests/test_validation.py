"""One test per validation rule: the exact `path:line: message` a press officer sees."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pressekit.errors import BuildFailed
from pressekit.releases import load_site
from sitekit import CONFIG, write_photo, write_release, write_site

RID = "2025-03-04-test"
SHOWN = f"releases/{RID}/index.md"


def errors_of(root: Path) -> list[str]:
    with pytest.raises(BuildFailed) as info:
        load_site(root)
    return [str(e) for e in info.value.errors]


def site_with(tmp_path: Path, text: str, files: tuple[str, ...] = ()) -> Path:
    root = write_site(tmp_path / "site")
    folder = write_release(root, RID, text)
    for name in files:
        write_photo(folder / name)
    return root


CASES = {
    "unknown key with hint": (
        "---\ntitle: T\ndate: 2025-03-04\ntgas: [a]\n---\nText\n",
        [f"{SHOWN}:4: unknown field 'tgas'\n  hint: did you mean 'tags'?"]),
    "missing title": (
        "---\ndate: 2025-03-04\n---\nText\n",
        [f"{SHOWN}:1: title: is missing\n  hint: every release needs a title"]),
    "missing date": (
        "---\ntitle: T\n---\nText\n",
        [f"{SHOWN}:1: date: is missing\n  hint: every release needs a date (YYYY-MM-DD)"]),
    "date not a date": (
        "---\ntitle: T\ndate: gestern\n---\nText\n",
        [f"{SHOWN}:3: date: 'gestern' is not a date\n  hint: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS+01:00"]),
    "impossible date": (
        "---\ntitle: T\ndate: 2025-02-30\n---\nText\n",
        [f"{SHOWN}:3: date: '2025-02-30' is not a valid date (day is out of range for month)\n"
         "  hint: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS+01:00"]),
    "impossible time": (
        "---\ntitle: T\ndate: 2025-03-04\nembargo: 2025-03-04T25:00:00+01:00\n---\nText\n",
        [f"{SHOWN}:4: embargo: '2025-03-04T25:00:00+01:00' is not a valid date and time (hour must be in 0..23)\n"
         "  hint: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS+01:00"]),
    "datetime without offset": (
        "---\ntitle: T\ndate: 2025-03-04T10:00:00\n---\nText\n",
        [f"{SHOWN}:3: date: '2025-03-04T10:00:00' has no time zone offset (add e.g. +01:00 or +02:00)\n"
         "  hint: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS+01:00"]),
    "unknown contact": (
        "---\ntitle: T\ndate: 2025-03-04\ncontact: presse\n---\nText\n",
        [f"{SHOWN}:4: contact: 'presse' is not a contact in pressekit.toml\n  hint: did you mean 'pressestelle'?"]),
    "unknown rights": (
        "---\ntitle: T\ndate: 2025-03-04\nphotos:\n  - file: a.jpg\n    caption: C\n    credit: K\n    alt: A\n"
        "    rights: exklusiv\n---\nText\n",
        [f"{SHOWN}:9: photos[0].rights: 'exklusiv' is not a rights entry in pressekit.toml\n"
         "  hint: known rights: press, frei"]),
    "duplicate key": (
        "---\ntitle: T\ndate: 2025-03-04\ntitle: U\n---\nText\n",
        [f"{SHOWN}:4: 'title' is given twice\n  hint: the first is on line 2; keep one"]),
    "tab in yaml": (
        "---\ntitle: T\ndate: 2025-03-04\ntags:\n\t- a\n---\nText\n",
        [f"{SHOWN}:5: a tab character in the front matter\n  hint: indent YAML with spaces"]),
    "unclosed front matter": (
        "---\ntitle: T\ndate: 2025-03-04\n\nText\n",
        [f"{SHOWN}:1: the front matter opened here is never closed\n  hint: add a line '---' after the last field"]),
    "no front matter": (
        "Nur Text\n",
        [f"{SHOWN}:1: index.md must start with front matter between '---' lines\n"
         "  hint: begin the file with '---', the fields, then '---'"]),
    "invalid yaml": (
        "---\ntitle: T\ndate: [2025\n---\nText\n",
        [f"{SHOWN}:4: the front matter is not valid YAML: did not find expected ',' or ']'"]),
    "control character in caption": (
        "---\ntitle: T\ndate: 2025-03-04\nphotos:\n  - file: a.jpg\n    caption: \"C\\x80\"\n    credit: K\n"
        "    alt: A\n---\nText\n",
        [f"{SHOWN}:6: photos[0].caption: contains the control character U+0080\n"
         "  hint: remove invisible characters pasted from another program"]),
    "control character in body": (
        "---\ntitle: T\ndate: 2025-03-04\n---\nText\n\nZweiter\x0b Absatz\n",
        [f"{SHOWN}:7: the body contains the control character U+000B\n"
         "  hint: remove invisible characters pasted from another program"]),
    "title with line break": (
        "---\ntitle: \"Zeile eins\\nBcc: x@example.org\"\ndate: 2025-03-04\n---\nText\n",
        [f"{SHOWN}:2: title: contains a line break; expected a single line"]),
    "title with unicode line separator": (
        "---\ntitle: \"Zeile\\u2028zwei\"\ndate: 2025-03-04\n---\nText\n",
        [f"{SHOWN}:2: title: contains a line break; expected a single line"]),
    "missing photo fields": (
        "---\ntitle: T\ndate: 2025-03-04\nphotos:\n  - file: a.jpg\n---\nText\n",
        [f"{SHOWN}:5: photos[0].alt: is missing\n  hint: every photo needs an alt text describing the picture for blind readers",
         f"{SHOWN}:5: photos[0].caption: is missing\n  hint: every photo needs a caption",
         f"{SHOWN}:5: photos[0].credit: is missing\n  hint: every photo needs a credit (the Fotonachweis)"]),
    "photo key typo": (
        "---\ntitle: T\ndate: 2025-03-04\nphotos:\n  - file: a.jpg\n    caption: C\n    credits: K\n    alt: A\n---\nT\n",
        [f"{SHOWN}:5: photos[0].credit: is missing\n  hint: every photo needs a credit (the Fotonachweis)",
         f"{SHOWN}:7: photos[0]: unknown field 'credits'\n  hint: did you mean 'credit'?"]),
    "missing photo file": (
        "---\ntitle: T\ndate: 2025-03-04\nphotos:\n  - file: b.jpg\n    caption: C\n    credit: K\n    alt: A\n---\nT\n",
        [f"{SHOWN}:5: photos[0].file: 'b.jpg' does not exist in {RID}/\n  hint: did you mean 'a.jpg'?"]),
    "path outside folder": (
        "---\ntitle: T\ndate: 2025-03-04\nphotos:\n  - file: ../../pressekit.toml\n    caption: C\n    credit: K\n"
        "    alt: A\n---\nT\n",
        [f"{SHOWN}:5: photos[0].file: '../../pressekit.toml' points outside the release folder\n"
         "  hint: give a file name inside the release folder, e.g. foto.jpg"]),
    "absolute path": (
        "---\ntitle: T\ndate: 2025-03-04\nattachments:\n  - file: /etc/passwd\n    title: P\n---\nT\n",
        [f"{SHOWN}:5: attachments[0].file: '/etc/passwd' points outside the release folder\n"
         "  hint: give a file name inside the release folder, e.g. foto.jpg"]),
    "draft not boolean": (
        "---\ntitle: T\ndate: 2025-03-04\ndraft: vielleicht\n---\nT\n",
        [f"{SHOWN}:4: draft: 'vielleicht' is not true or false"]),
    "tags not a list": (
        "---\ntitle: T\ndate: 2025-03-04\ntags: Verkehr\n---\nT\n",
        [f"{SHOWN}:4: tags: expected a list, like [Verwaltung, Verkehr]"]),
    "body too large": (
        "---\ntitle: T\ndate: 2025-03-04\n---\n" + "x" * 200_001,
        [f"{SHOWN}:5: the body has 200,001 characters; the limit is 200,000\n"
         "  hint: split the text or link a PDF attachment"]),
    "too many brackets": (
        "---\ntitle: T\ndate: 2025-03-04\n---\n" + "[" * 20_000,
        [f"{SHOWN}:5: the body has 20,000 '[' characters; the limit is 2,000"]),
}


@pytest.mark.parametrize("text, expected", CASES.values(), ids=CASES.keys())
def test_validation_rule(tmp_path: Path, text: str, expected: list[str]) -> None:
    root = site_with(tmp_path, text, files=("a.jpg",))
    assert errors_of(root) == expected


def test_yaml_scalars_stay_strings(tmp_path: Path) -> None:
    root = site_with(tmp_path, "---\ntitle: 01234\ndate: 2025-03-04\nsubtitle: no\n---\nText\n")
    _, [release] = load_site(root)
    assert (release.title, release.subtitle) == ("01234", "no")


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    root = site_with(tmp_path, "---\ntitle: T\ndate: 2025-03-04\n---\nText\n")
    index = root / "releases" / RID / "index.md"
    index.write_bytes(b"\xef\xbb\xbf" + index.read_bytes())
    _, [release] = load_site(root)
    assert release.title == "T"


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    root = site_with(tmp_path, "---\ntitle: T\ndate: 2025-03-04\n---\nText\n")
    index = root / "releases" / RID / "index.md"
    index.write_bytes(index.read_bytes() + "Gr\xfc\xdfe\n".encode("latin-1"))
    assert errors_of(root) == [f"{SHOWN}:6: the file is not UTF-8 (byte 0xfc)\n  hint: save the file with UTF-8 encoding"]


def test_symlink_out_of_the_folder(tmp_path: Path) -> None:
    root = site_with(tmp_path, "---\ntitle: T\ndate: 2025-03-04\nattachments:\n  - file: geheim.txt\n    title: G\n---\nT\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("geheim")
    os.symlink(secret, root / "releases" / RID / "geheim.txt")
    assert errors_of(root) == [
        f"{SHOWN}:5: attachments[0].file: 'geheim.txt' is a link that leads outside the release folder\n"
        "  hint: copy the file into the release folder instead of linking it"]


def test_duplicate_release_id(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site")
    text = "---\ntitle: T\ndate: 2025-03-04\n---\nT\n"
    write_release(root, f"2024/{RID}", text)
    write_release(root, f"2025/{RID}", text)
    assert errors_of(root) == [
        f"releases/2025/{RID}/index.md:1: the release id '{RID}' is used twice\n"
        f"  hint: releases/2024/{RID}/index.md has the same folder name; ids must be unique"]


def test_bad_folder_name(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site")
    write_release(root, "Neue Meldung", "---\ntitle: T\ndate: 2025-03-04\n---\nT\n")
    assert errors_of(root) == [
        "releases/Neue Meldung/index.md:1: the folder name 'Neue Meldung' cannot be a release id\n"
        "  hint: use lower-case letters, digits and hyphens, e.g. 2025-07-02-iso-zertifikat"]


def test_every_problem_in_every_file_in_one_run(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site")
    write_release(root, "2025-01-01-a", "---\ntitle: A\ndate: 2025-13-01\n---\nT\n")
    write_release(root, "2025-01-02-b", "---\ndate: 2025-01-02\ncontact: niemand\n---\nT\n")
    assert errors_of(root) == [
        "releases/2025-01-01-a/index.md:3: date: '2025-13-01' is not a valid date (month must be in 1..12)\n"
        "  hint: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS+01:00",
        "releases/2025-01-02-b/index.md:1: title: is missing\n  hint: every release needs a title",
        "releases/2025-01-02-b/index.md:3: contact: 'niemand' is not a contact in pressekit.toml\n"
        "  hint: known contacts: pressestelle, umwelt",
    ]


CONFIG_CASES = {
    "unknown key": (CONFIG.replace('language = "de"', 'langauge = "de"'),
                    ["pressekit.toml:5: [site] has an unknown key 'langauge'\n  hint: did you mean 'language'?"]),
    "missing required": (CONFIG.replace('organisation = "Landkreis Beispielheim"\n', ""),
                         ["pressekit.toml:1: [site] is missing the required key 'organisation'"]),
    "wrong type": (CONFIG.replace("[feeds]", "").replace("[email]", "[feeds]\nitems = \"viele\"\n\n[email]"),
                   ["pressekit.toml:46: [feeds] items must be a whole number, not 'viele'"]),
    "password in file": (CONFIG + '\n[smtp]\npassword = "geheim"\n',
                         ["pressekit.toml:49: [smtp] password must not be in the file\n"
                          "  hint: put it in an environment variable and name that variable in password_env"]),
    "bad timezone": (CONFIG.replace("Europe/Berlin", "Europa/Berlin"),
                     ["pressekit.toml:6: [site] timezone 'Europa/Berlin' is not a known time zone\n"
                      "  hint: use an IANA name such as 'Europe/Berlin'"]),
    "invalid toml": (CONFIG.replace('title = "Pressemitteilungen', 'title = Pressemitteilungen'),
                     ["pressekit.toml:2: not valid TOML: Invalid value (at line 2, column 9)"]),
    "unknown section": (CONFIG + "\n[fotos]\nx = 1\n",
                        ["pressekit.toml:48: unknown section [fotos]\n  hint: did you mean [photos]?"]),
}


@pytest.mark.parametrize("config, expected", CONFIG_CASES.values(), ids=CONFIG_CASES.keys())
def test_config_rule(tmp_path: Path, config: str, expected: list[str]) -> None:
    root = write_site(tmp_path / "site", config=config)
    assert errors_of(root) == expected


def test_many_bundles_are_parsed_in_parallel_with_the_same_result(tmp_path: Path, monkeypatch) -> None:
    from pressekit import releases

    root = write_site(tmp_path / "site")
    for n in range(1, 9):
        date = "2025-13-01" if n % 3 == 0 else f"2025-01-0{n}"
        write_release(root, f"2025-01-0{n}-r{n}", f"---\ntitle: R{n}\ndate: {date}\n---\nText {n}\n")
    serial = [str(e) for e in errors_of(root)]
    monkeypatch.setattr(releases, "PARALLEL_PARSE", 2)
    assert [str(e) for e in errors_of(root)] == serial
    assert len(serial) == 2


def test_one_walk_finds_the_bundles_and_stamps_their_files(tmp_path: Path) -> None:
    """releases/ is walked once for the input stamp and the parse cache: a folder with index.md is a
    bundle and its subfolders belong to it; hidden names are skipped; a symlinked folder is reported."""
    from pressekit.scan import scan_tree

    top = tmp_path / "releases"
    for folder in ("2025/2025-03-04-a", "2025-03-05-b/fotos/2025-03-06-c", ".entwurf/2025-03-07-d", "leer"):
        (top / folder).mkdir(parents=True)
    for path in ("2025/2025-03-04-a/index.md", "2025-03-05-b/index.md", "2025-03-05-b/fotos/2025-03-06-c/index.md",
                 "2025-03-05-b/fotos/bild.jpg", ".entwurf/2025-03-07-d/index.md", "2025-03-05-b/.notiz"):
        (top / path).write_text("x")
    (top / "verlinkt").symlink_to(top / "2025-03-05-b", target_is_directory=True)
    scan = scan_tree(top)
    assert list(scan.bundles) == [f"{top}/2025-03-05-b/index.md", f"{top}/2025/2025-03-04-a/index.md"]
    assert [f[0] for f in scan.bundles[f"{top}/2025-03-05-b/index.md"]] == [
        f"{top}/2025-03-05-b/fotos/2025-03-06-c/index.md", f"{top}/2025-03-05-b/fotos/bild.jpg", f"{top}/2025-03-05-b/index.md"]
    assert scan.links == [f"{top}/verlinkt"]
    before = scan.digest
    (top / "2025-03-05-b" / "fotos" / "bild.jpg").write_text("ein anderes Bild")
    assert scan_tree(top).digest != before
    assert scan_tree(top).bundles[f"{top}/2025-03-05-b/index.md"] != scan.bundles[f"{top}/2025-03-05-b/index.md"]
    unchanged = scan_tree(top).digest
    (top / "2025-03-05-b" / ".notiz").write_text("verborgen, zählt nicht")
    assert scan_tree(top).digest == unchanged


def test_a_release_pickles_with_every_field_and_its_cached_digests(tmp_path: Path) -> None:
    """The parse cache and the worker processes get releases through pickle, in its compact form."""
    import pickle

    root = write_site(tmp_path / "site", {"2025-03-04-radweg": "---\ntitle: Radweg\ndate: 2025-03-04\ntags: [Verkehr]\n"
                                          "---\nText.\n"})
    _, (release,) = load_site(root)
    release.keep_digests()
    fingerprint, head = release.fingerprint, release.without_body.fingerprint
    copy = pickle.loads(pickle.dumps(release, protocol=pickle.HIGHEST_PROTOCOL))
    assert copy == release and copy.__dict__ == {k: v for k, v in release.__dict__.items() if k != "without_body"}
    lean = copy.without_body  # made from the copy's fields with the fingerprint kept, not digested again
    assert "fingerprint" in lean.__dict__ and (copy.fingerprint, lean.fingerprint) == (fingerprint, head)
    assert lean == release.without_body and lean.body == "" and copy.body == "Text.\n"
    assert pickle.loads(pickle.dumps(release.without_body)) == release.without_body


def test_the_parse_cache_keeps_a_release_without_its_body_and_reads_it_again_from_index_md(tmp_path: Path) -> None:
    """Bodies are most of an archive's cache: it keeps every other field and reads the body when asked."""
    import copyreg
    import io
    import pickle

    from pressekit.errors import BuildFailed
    from pressekit.model import Release, reduce_without_body

    root = write_site(tmp_path / "site", {"2025-03-04-radweg": "---\ntitle: Radweg\ndate: 2025-03-04\n---\n"
                                          "Der Radweg **wächst**.\n\nZweiter Absatz.\n"})
    _, (release,) = load_site(root)
    fingerprint, head = release.fingerprint, release.without_body.fingerprint
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {**copyreg.dispatch_table, Release: reduce_without_body}
    pickler.dump(release)
    kept = buffer.getvalue()
    assert "wächst".encode() not in kept

    restored = pickle.loads(kept)
    assert (restored.fingerprint, restored.without_body.fingerprint) == (fingerprint, head)
    assert restored.without_body.body == ""
    assert restored.body == release.body and restored == release
    assert pickle.loads(pickle.dumps(pickle.loads(kept))) == release  # the worker processes get it whole

    release.source.write_text("---\ntitle: Radweg\ndate: 2025-03-04\nsummary: neu\n---\nAnders.\n", "utf-8")
    with pytest.raises(BuildFailed) as failed:
        pickle.loads(kept).body  # noqa: B018 - the file changed after it was checked: never a mixed release
    assert failed.value.errors[0].message == "index.md changed while the build was reading it"
    assert failed.value.errors[0].path == "releases/2025-03-04-radweg/index.md"
