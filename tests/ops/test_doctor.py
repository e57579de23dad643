"""`lockstep doctor`: one line per check, what to do for each failure, exit status 0 only when all pass."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.support import free_port, postgres_database, run_cli, server_env


def doctor(env: dict[str, str]) -> tuple[int, list[str]]:
    result = run_cli(env, "doctor", check=False)
    return result.returncode, result.stdout.splitlines()


def line_of(lines: list[str], check: str) -> str:
    found = [line for line in lines if line[7:].startswith(f"{check}:")]
    assert len(found) == 1, lines
    return found[0]


def test_passes_on_a_ready_host_and_fails_on_an_unmigrated_database(tmp_path: Path) -> None:
    env = server_env(tmp_path / "data", f"sqlite:///{tmp_path / 'lockstep.sqlite'}", free_port())
    code, lines = doctor(env)
    assert code == 1, lines
    database = line_of(lines, "database")
    assert database.startswith("[FAIL]") and "run `lockstep db upgrade`" in database
    assert line_of(lines, "python").startswith("[ ok ]")
    run_cli(env, "db", "upgrade")
    code, lines = doctor(env)
    assert code == 0, lines
    assert all(line.startswith("[ ok ]") for line in lines[:-1]), lines
    assert lines[-1] == f"lockstep doctor: {len(lines) - 1} of {len(lines) - 1} checks passed"


def test_fails_when_the_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = server_env(tmp_path / "data", f"sqlite:///{tmp_path / 'lockstep.sqlite'}", port)
        run_cli(env, "db", "upgrade")
        code, lines = doctor(env)
    assert code == 1
    listen = line_of(lines, "listen")
    assert listen.startswith("[FAIL]") and "in use" in listen and "->" in listen


def test_fails_when_postgresql_is_unreachable_and_checks_the_clock_when_it_is(tmp_path: Path) -> None:
    closed = free_port()
    env = server_env(tmp_path / "data", f"postgresql://postgres@127.0.0.1:{closed}/lockstep", free_port())
    code, lines = doctor(env)
    assert code == 1
    database = line_of(lines, "database")
    assert database.startswith("[FAIL]") and "Connection refused" in database and "database_url" in database
    assert not [line for line in lines if "clock:" in line]  # not checked without a database to compare with
    with postgres_database() as url:
        env = server_env(tmp_path / "data", url, free_port())
        run_cli(env, "db", "upgrade")
        code, lines = doctor(env)
        assert code == 0, lines
        clock = line_of(lines, "clock")
        assert clock.startswith("[ ok ]") and "against PostgreSQL" in clock


def test_a_real_backend_needs_its_tools(tmp_path: Path) -> None:
    """The posix backend serves NFS exports: the NFS server and rpcbind are checked (and pass or fail
    with the package to install, whichever this host has)."""
    env = server_env(tmp_path / "data", f"sqlite:///{tmp_path / 'lockstep.sqlite'}", free_port(),
                     LOCKSTEP_BACKEND="posix")
    run_cli(env, "db", "upgrade")
    code, lines = doctor(env)
    nfs, rpcbind = line_of(lines, "nfs server"), line_of(lines, "rpcbind")
    for line in (nfs, rpcbind):
        assert line.startswith("[ ok ]") or "apt-get install" in line, line
    assert (code == 0) == all(line.startswith("[ ok ]") for line in lines[:-1])
