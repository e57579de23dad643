"""`lockstep serve` start-up mistakes end in one `lockstep: ...` line with the fix, never a traceback,
and never after "serving" was announced (live processes: the exit and its output are the point)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support import free_port, run_cli, server_env


def serve(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "lockstep.cli", "serve", *args], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    return proc


def the_one_line(proc: subprocess.CompletedProcess[str]) -> str:
    output = (proc.stdout + proc.stderr).strip()
    assert "Traceback" not in output, output
    assert "serving" not in proc.stdout, output
    lines = output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("lockstep: "), output
    return lines[0]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    data_dir = tmp_path / "data"
    env = server_env(data_dir, f"sqlite:///{data_dir / 'lockstep.sqlite'}", free_port())
    data_dir.mkdir()
    run_cli(env, "db", "upgrade")
    return env


def test_port_in_use(env: dict[str, str]) -> None:
    host, port = env["LOCKSTEP_LISTEN"].split(":")
    with socket.socket() as taken:
        taken.bind((host, int(port)))
        taken.listen()
        line = the_one_line(serve(env))
    assert f"{host}:{port} is already in use" in line and "LOCKSTEP_LISTEN" in line, line


def test_unknown_driver_name(env: dict[str, str]) -> None:
    line = the_one_line(serve({**env, "LOCKSTEP_BACKEND": "btrfz"}))
    assert "unknown driver 'btrfz'" in line and "fake" in line and "LOCKSTEP_BACKEND" in line, line


def test_unreachable_database(env: dict[str, str]) -> None:
    line = the_one_line(serve({**env, "LOCKSTEP_DATABASE_URL": "postgresql://lockstep:secret@127.0.0.1:1/lockstep"}))
    assert line.startswith("lockstep: cannot use the database postgresql://lockstep@127.0.0.1:1/lockstep"), line
    assert "secret" not in line and "LOCKSTEP_DATABASE_URL" in line


def test_schema_not_upgraded(env: dict[str, str], tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    line = the_one_line(serve({**env, "LOCKSTEP_DATA_DIR": str(fresh),
                               "LOCKSTEP_DATABASE_URL": f"sqlite:///{fresh / 'lockstep.sqlite'}"}))
    assert "run `lockstep db upgrade` first" in line, line


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux) to drop root")
def test_unwritable_data_dir(env: dict[str, str]) -> None:
    """As an unprivileged user (root may write anywhere), a data dir owned by root and not writable."""
    with tempfile.TemporaryDirectory(prefix="lockstep-locked-") as top:
        os.chmod(top, 0o755)  # pytest's own tmp_path is not reachable by other users
        locked = Path(top) / "locked"
        locked.mkdir(mode=0o555)
        proc = _serve_as_nobody(env, locked)
    if "Permission denied" in proc.stderr and "lockstep" not in proc.stderr:
        pytest.skip(f"the test's Python is not usable by an unprivileged user: {proc.stderr.strip()}")
    line = the_one_line(proc)
    assert line.startswith(f"lockstep: cannot write to the data directory {locked / 'data'}"), line
    assert "LOCKSTEP_DATA_DIR" in line


def _serve_as_nobody(env: dict[str, str], locked: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m", "lockstep.cli", "serve"],
        env={**env, "LOCKSTEP_DATA_DIR": str(locked / "data"), "LOCKSTEP_DATABASE_URL": ""},
        capture_output=True, text=True, timeout=120)


def test_data_dir_that_cannot_be_a_directory(env: dict[str, str], tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    line = the_one_line(serve({**env, "LOCKSTEP_DATA_DIR": str(blocker / "data"), "LOCKSTEP_DATABASE_URL": ""}))
    assert line.startswith(f"lockstep: cannot write to the data directory {blocker / 'data'}"), line


def test_unknown_config_key(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "lockstep.toml"
    path.write_text("proceses = 4\n")
    line = the_one_line(serve(env, "--config", str(path)))
    assert "unknown key 'proceses'" in line and "processes" in line, line


def test_worker_that_cannot_start_ends_the_start_up(env: dict[str, str], tmp_path: Path) -> None:
    """A backend whose setup fails: the worker process's error, then the supervisor's, and nothing left running."""
    path = tmp_path / "lockstep.toml"
    path.write_text(f'[backend.default]\ndriver = "posix"\npath = "{tmp_path / "a-file" / "x"}"\n')
    (tmp_path / "a-file").write_text("")
    proc = serve({k: v for k, v in env.items() if k != "LOCKSTEP_BACKEND"}, "--config", str(path))
    output = (proc.stdout + proc.stderr).strip()
    assert "Traceback" not in output and "serving" not in proc.stdout, output
    assert [line for line in output.splitlines() if line.startswith("lockstep: ")][-1].startswith(
        "lockstep: the worker process could not start"), output
