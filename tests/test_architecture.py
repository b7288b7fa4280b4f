"""The layout is the architecture: the import graph of the package, read with `ast`, keeps its shape.

Every import counts, also one inside a function or under `if TYPE_CHECKING:`: a lazy import is still
a dependency a reader has to follow. The allowed lists are the truth of today, kept tight: a new
importer of a library or a subpackage is a decision to make here, in review, not by accident.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pressekit"
MAX_LINES = 400

# Modules over MAX_LINES (none now); a module that grows past it is split by concept, not listed here.
OVER_LIMIT: set[str] = set()

# The subpackages and the only modules outside them that enter them (through `__init__` alone).
ENTRANCES = {
    "pressekit.mail": {"pressekit.cli", "pressekit.send.composer", "pressekit.send.followup",
                       "pressekit.subscriptions.mailer", "pressekit.validate", "pressekit.workers"},
    "pressekit.send": {"pressekit.cli_send", "pressekit.subscriptions.mailer", "pressekit.subscriptions.publish"},
    "pressekit.photos": {"pressekit.assemble", "pressekit.build", "pressekit.cli", "pressekit.send.composer",
                         "pressekit.validate"},
}

# Third-party and standard libraries whose use is confined to the modules named.
LIBRARIES = {
    "feedgen": {"pressekit.feeds"},
    "PIL": {"pressekit.photos.check", "pressekit.photos.image", "pressekit.photos.variants"},
    "jinja2": {"pressekit.templates", "pressekit.pages", "pressekit.views", "pressekit.validate", "pressekit.preview_pages",
               "pressekit.mail.message", "pressekit.subscriptions.site"},
    "email": {"pressekit.mail.headers", "pressekit.mail.message", "pressekit.send.composer", "pressekit.bounces",
              "pressekit.subscriptions.mailer"},
    "smtplib": {"pressekit.send.smtp", "pressekit.send.command", "pressekit.send.delivery",
                "pressekit.subscriptions.mailer"},
}

# Release validation: the mail package renders validated values and never reaches these.
VALIDATION = {"pressekit.releases", "pressekit.release_fields", "pressekit.validate", "pressekit.check"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(name: str, path: Path) -> set[str]:
    """Every module `name` imports anywhere in its text: `from .x import y` is `x.y` when that is a module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found.update(f"{module}.{a.name}" if f"{module}.{a.name}" in MODULES else module for a in node.names)
    return found


IMPORTS = {name: imported(name, path) for name, path in MODULES.items()}
INTERNAL = {name: {m for m in found if m in MODULES and m != name} for name, found in IMPORTS.items()}


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Each import cycle found by a depth-first walk, as the modules along it."""
    state: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for after in sorted(graph.get(node, ())):
            if state.get(after) == 1:
                found.append(stack[stack.index(after):] + [after])
            elif after not in state:
                visit(after)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def package_of(module: str) -> str:
    """The subpackage of a module (`pressekit.send.composer` -> `pressekit.send`); a top-level module is itself."""
    return ".".join(module.split(".")[:2])


def package_graph(graph: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """The import graph with every subpackage collapsed to one node: who depends on whom, package by package."""
    packages: dict[str, set[str]] = {}
    for name, found in graph.items():
        packages.setdefault(package_of(name), set()).update(package_of(m) for m in found)
    return {name: found - {name} for name, found in packages.items()}


def inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for after in INTERNAL[todo.pop()] - seen:
            seen.add(after)
            todo.append(after)
    return seen


def test_the_cycle_finder_sees_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_no_import_cycle() -> None:
    assert cycles(INTERNAL) == []


def test_the_package_graph_joins_the_modules_of_a_subpackage() -> None:
    # no cycle between modules, one between the packages pressekit.a and pressekit.b
    graph = {"pressekit.a.x": {"pressekit.b"}, "pressekit.b": {"pressekit.a.y"}, "pressekit.a.y": set()}
    assert cycles(graph) == []
    assert cycles(package_graph(graph)) == [["pressekit.a", "pressekit.b", "pressekit.a"]]


def test_no_import_cycle_between_packages() -> None:
    # A lazy import inside a subpackage still ties the packages together: send, subscriptions, mail
    # and photos each depend one way only (subscriptions uses send, send never subscriptions).
    assert cycles(package_graph(INTERNAL)) == []


def test_subpackages_are_entered_only_through_their_init_by_the_named_modules() -> None:
    for package, allowed in ENTRANCES.items():
        outside = {m: found for m, found in INTERNAL.items() if not inside(m, package)}
        through_init = {m for m, found in outside.items() if package in found}
        deeper = sorted((m, f) for m, found in outside.items() for f in found if inside(f, package) and f != package)
        assert deeper == [], f"{package} entered past its __init__"
        assert through_init == allowed, package


def test_mail_never_reaches_release_validation() -> None:
    for name in MODULES:
        if inside(name, "pressekit.mail"):
            assert reachable(name) & VALIDATION == set(), name


def test_only_the_named_modules_import_these_libraries() -> None:
    for library, allowed in LIBRARIES.items():
        users = {name for name, found in IMPORTS.items() if any(inside(m, library) for m in found)}
        assert users == allowed, library


def test_no_module_over_400_lines_but_the_listed_ones() -> None:
    over = {name for name, path in MODULES.items() if len(path.read_text(encoding="utf-8").splitlines()) > MAX_LINES}
    assert over == OVER_LIMIT
