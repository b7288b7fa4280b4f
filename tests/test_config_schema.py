"""pressekit.toml's keys are the settings of the config dataclasses: read, defaulted and documented from them."""

from __future__ import annotations

import re
from pathlib import Path

from pressekit.config import Boilerplate, Dkim, Email, Feeds, Send, Site, Smtp, Subscriptions, Texts

from pressekit.config_file import load_config
from pressekit.model import Contact, Rights
from pressekit.schema import keys

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
TABLES = {"site": Site, "texts": Texts, "boilerplate": Boilerplate, "contacts.<key>": Contact, "rights.<key>": Rights,
          "feeds": Feeds, "email": Email, "send": Send, "subscriptions": Subscriptions, "dkim": Dkim, "smtp": Smtp}
SITE = '[site]\ntitle = "Presse"\norganisation = "Landkreis"\nbase_url = "https://presse.example.org/"\n'


def test_every_setting_has_its_documentation_and_a_row_in_the_readme() -> None:
    for table, cls in TABLES.items():
        row = next(line for line in README.splitlines() if line.startswith(f"| `[{table}]`"))
        settings = keys(cls)
        assert settings and all(k.doc for k in settings), table
        assert {k.toml for k in settings} <= set(re.findall(r"`(\w+)`", row)), table


def test_a_setting_is_read_under_its_toml_name_with_its_field_default(tmp_path: Path) -> None:
    (tmp_path / "pressekit.toml").write_text(SITE + '[email]\nfrom = "Presse <presse@example.org>"\n\n'
                                             '[smtp]\nport = 587\ntimeout = 5\n', encoding="utf-8")
    config, errors = load_config(tmp_path)
    assert errors == [] and config is not None
    assert config.email == Email(sender="Presse <presse@example.org>")
    assert config.smtp == Smtp(port=587, timeout=5.0)
    assert config.site.timezone == "Europe/Berlin" and config.feeds == Feeds()


def test_unknown_and_missing_keys_are_checked_against_the_settings(tmp_path: Path) -> None:
    (tmp_path / "pressekit.toml").write_text(SITE + '\n[feeds]\nitmes = 3\n\n[rights.frei]\nurl = "https://x.example/"\n',
                                             encoding="utf-8")
    config, errors = load_config(tmp_path)
    assert config is None
    assert sorted((e.line, e.message, e.hint or "") for e in errors) == [
        (7, "[feeds] has an unknown key 'itmes'", "did you mean 'items'?"),
        (9, "[rights.frei] is missing the required key 'label'", ""),
    ]
