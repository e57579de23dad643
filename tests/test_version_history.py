"""docs/api-version-history.md has one row for every microversion the server advertises."""

from __future__ import annotations

import re
from pathlib import Path

from lockstep.api.microversions import MAX_VERSION, MIN_VERSION

HISTORY = Path(__file__).resolve().parent.parent / "docs" / "api-version-history.md"


def test_every_version_has_a_row() -> None:
    rows = re.findall(r"^\| \**(\d+\.\d+)\** \|", HISTORY.read_text(encoding="utf-8"), re.MULTILINE)
    expected = [f"{MIN_VERSION.major}.{minor}" for minor in range(MIN_VERSION.minor, MAX_VERSION.minor + 1)]
    assert rows == expected
