"""The README's walk-throughs, run verbatim against a live server on real storage (posix)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import LiveServer, live_server

README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough(title: str) -> str:
    text = README.read_text()
    section = text.split(f"## Walk-through: {title}", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert blocks, f"no shell block under {title!r}"
    return "\n".join(blocks)


def run(script: str, server: LiveServer) -> str:
    script = script.replace("http://127.0.0.1:8786", server.url)
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}\n{server.log_text()}"
    return proc.stdout


@pytest.fixture(scope="module")
def posix_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("readme")
    with live_server(tmp / "data", f"sqlite:///{tmp / 'db.sqlite'}", LOCKSTEP_BACKEND="posix") as server:
        yield server


def test_share_snapshot_walkthrough(posix_server: LiveServer) -> None:
    out = run(walkthrough("a share, a snapshot, a share from the snapshot"), posix_server)
    assert out.strip().splitlines()[-1] == "first draft"


def test_consistency_group_walkthrough(posix_server: LiveServer) -> None:
    out = run(walkthrough("a consistency group, a cgsnapshot, a group restored from it"), posix_server)
    lines = out.strip().splitlines()
    assert "'method': 'sequential'" in lines[0]
    assert sorted(lines[1:]) == ["balance=100", "txn 41 committed"]
