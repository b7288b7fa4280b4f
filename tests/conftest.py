"""Shared fixtures: golden-file comparison and small sites written by the tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

GOLDENS = Path(__file__).parent / "goldens"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true", help="rewrite golden files from the current output")


@pytest.fixture
def golden(request: pytest.FixtureRequest):
    """Compare bytes with tests/goldens/<name>; --update-goldens rewrites (refused under CI)."""
    update = request.config.getoption("--update-goldens")
    if update and os.environ.get("CI"):
        pytest.fail("--update-goldens is refused when CI is set")

    def check(name: str, actual: bytes | str) -> None:
        data = actual.encode("utf-8") if isinstance(actual, str) else actual
        path = GOLDENS / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            return
        assert path.exists(), f"golden file {name} is missing; run pytest --update-goldens and review it"
        expected = path.read_bytes()
        if data != expected:
            assert data.decode("utf-8", "replace") == expected.decode("utf-8", "replace"), f"{name} differs"
            assert data == expected, f"{name} differs"

    return check
