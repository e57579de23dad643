"""The README's NFS walk-through (one file out of a cut), run verbatim against a live `lockstep serve` with
`nfs = "ganesha"`. Ganesha runs in the harness's server namespace and the libnfs commands in the client's,
so the script's addresses are the harness's: the NFS server's 127.0.0.1 is 10.231.1.1 here, and the
client's 127.0.0.1 (its rules) is 10.231.1.2."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_readme import run, walkthrough
from tests.nfs.harness import CLIENT_IP, SERVER_IP, Namespaces, namespaces
from tests.support import live_server

pytestmark = [pytest.mark.nfs, pytest.mark.root]


@pytest.fixture
def ns() -> Iterator[Namespaces]:
    if os.geteuid() != 0:
        pytest.skip("NFS tests need root (network namespaces, Ganesha)")
    with namespaces() as made:
        yield made


def test_one_file_out_of_a_cut_over_nfs(ns: Namespaces, tmp_path: Path) -> None:
    script = walkthrough("one file out of a cut, over NFS")
    script = script.replace('"access_to": "127.0.0.1"', f'"access_to": "{CLIENT_IP}"')
    script = script.replace("nfs://127.0.0.1/", f"nfs://{SERVER_IP}/").replace("/tmp/", f"{tmp_path}/")
    for command in ("nfs-cp ", "nfs-ls ", "nfs-cat "):
        script = script.replace(command, f"ip netns exec {ns.client_netns} {command}")
    with live_server(tmp_path / "data", f"sqlite:///{tmp_path / 'db.sqlite'}", LOCKSTEP_BACKEND="posix",
                     LOCKSTEP_NFS="ganesha", LOCKSTEP_NFS_ADDRESS=SERVER_IP,
                     LOCKSTEP_NFS_WRAP=shlex.join(ns.wrap)) as server:
        lines = run(script, server).strip().splitlines()
    assert len(lines) == 8, lines
    assert lines[:4] == ["queued_to_apply", "copied 12 bytes", "copied 7 bytes", "queued_to_apply"], lines
    assert re.fullmatch(rf"{re.escape(SERVER_IP)}:/snapshots/[0-9a-f-]{{36}}", lines[4]), lines  # where to mount
    assert lines[5].split()[-1] == "accounts", lines  # nfs-ls: one file, `wal` came after the cut
    assert lines[6:] == ["balance=100", "read-only"], lines
