"""The package type-checks under mypy --strict: types are part of how the pipeline's data flows read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_mypy_strict_over_the_package() -> None:
    root = Path(__file__).parent.parent
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "pressekit"], cwd=root,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
