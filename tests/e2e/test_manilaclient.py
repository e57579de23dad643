"""python-manilaclient 1.12.0 (the last release with consistency groups) against a live server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import LiveServer, live_server

Run = Callable[..., str]  # the manila CLI: arguments in, its table out

CLIENT_VERSION = "1.12.0"
VENV = Path(os.environ.get("LOCKSTEP_TEST_CACHE", Path.home() / ".cache" / "lockstep-tests")) / (
    f"manilaclient-{CLIENT_VERSION}")


def manila_binary() -> Path:
    binary = VENV / "bin" / "manila"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", f"python-manilaclient=={CLIENT_VERSION}"],
                       check=True, timeout=600)
    return binary


@pytest.fixture(scope="module")
def manila(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Run, LiveServer]]:
    binary = manila_binary()
    tmp = tmp_path_factory.mktemp("manilaclient")
    with live_server(tmp / "data", f"sqlite:///{tmp / 'db.sqlite'}") as server:
        def run(*args: str) -> str:
            cmd = [str(binary), "--os-token", "admin:demo", "--bypass-url", f"{server.url}/v2/demo", *args]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            assert proc.returncode == 0, f"{' '.join(args)}: {proc.stdout}\n{proc.stderr}"
            return proc.stdout
        yield run, server


def table_value(output: str, key: str) -> str:
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] == key:
            return cells[1]
    raise AssertionError(f"{key} not in {output}")


def wait_status(run: Run, command: str, name: str, status: str = "available") -> None:
    for _ in range(200):
        if table_value(run(command, name), "status") == status:
            return
    raise AssertionError(f"{name} did not become {status}")


def test_consistency_group_lifecycle_with_the_manila_cli(manila: tuple[Run, LiveServer]) -> None:
    run, server = manila
    created = run("cg-create", "--name", "reports")
    assert table_value(created, "status") == "creating"
    wait_status(run, "cg-show", "reports")
    assert "reports" in run("cg-list")
    share = run("create", "NFS", "1", "--name", "q3", "--consistency-group", "reports")
    assert table_value(share, "consistency_group_id") == table_value(run("cg-show", "reports"), "id")
    wait_status(run, "show", "q3")
    snap = run("cg-snapshot-create", "reports", "--name", "end-of-quarter")
    snap_id = table_value(snap, "id")
    wait_status(run, "cg-snapshot-show", "end-of-quarter")
    assert "end-of-quarter" in run("cg-snapshot-list")
    assert table_value(run("cg-snapshot-show", "end-of-quarter"), "lockstep:consistency").startswith("{'method'")
    members = run("cg-snapshot-members", "end-of-quarter")
    assert table_value(share, "id") in members
    run("cg-create", "--name", "reports-restored", "--source-cgsnapshot-id", snap_id)
    wait_status(run, "cg-show", "reports-restored")
    restored_id = table_value(run("cg-show", "reports-restored"), "id")
    assert restored_id in run("list", "--consistency-group", "reports-restored", "--columns", "id,consistency_group_id")
    run("cg-update", "reports", "--description", "quarterly")
    assert table_value(run("cg-show", "reports"), "description") == "quarterly"
    run("cg-snapshot-update", "end-of-quarter", "--name", "eoq")
    run("cg-reset-state", "--state", "error", "reports-restored")
    assert table_value(run("cg-show", "reports-restored"), "status") == "error"
    del server
