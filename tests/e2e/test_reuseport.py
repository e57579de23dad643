"""`lockstep serve` gives each API process its own listening socket (SO_REUSEPORT): the connections of a client
pool are spread over the API processes; the address stays this server's (a second `lockstep serve` or any
server without SO_REUSEPORT is refused); an API process killed with -9 is replaced without a connection made
meanwhile being refused or reset (live processes: which process holds which connection is the point)."""

from __future__ import annotations

import errno
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_supervisor import alive, children, roles, wait_for
from tests.support import LiveServer, live_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(tmp_path / "data", f"sqlite:///{tmp_path / 'lockstep.sqlite'}",
                     LOCKSTEP_PROCESSES="2") as srv:
        yield srv


def connect(server: LiveServer, count: int, *,
            paused: frozenset[int] | set[int] = frozenset()) -> list[http.client.HTTPConnection]:
    """`count` keep-alive connections, each answered once; with `paused` pids, opened while those processes are
    stopped, so that all are pending at once when they resume (as a busy server sees a client pool's burst)."""
    conns = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=30) for _ in range(count)]
    for pid in paused:
        os.kill(pid, signal.SIGSTOP)
    try:
        for conn in conns:
            conn.connect()  # the kernel completes the handshake; the connection waits in a listen queue
    finally:
        for pid in paused:  # one after the other: the first to run would take every connection it can
            os.kill(pid, signal.SIGCONT)
            time.sleep(0.2)
    for conn in conns:
        conn.request("GET", "/")
    for conn in conns:
        response = conn.getresponse()
        response.read()
        assert response.status in (200, 300), response.status
    return conns


def holders(server: LiveServer, conns: list[http.client.HTTPConnection], pids: set[int]) -> dict[int, int]:
    """client port -> pid of the process holding the server's end of that connection (from /proc)."""
    inodes = {}  # server-side socket inode -> client port
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        remote_port = int(fields[2].split(":")[1], 16)
        if local_port == server.port:
            inodes[int(fields[9])] = remote_port
    wanted = {conn.sock.getsockname()[1] for conn in conns if conn.sock is not None}
    found = {}
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                port = inodes.get(int(target[8:-1]))
                if port is not None and port in wanted:
                    found[port] = pid
    return found


def test_a_client_pool_is_spread_over_the_api_processes(server: LiveServer) -> None:
    apis = roles(children(server.procs[0].pid), "api")
    assert len(apis) == 2, apis
    conns = connect(server, 32, paused=apis)
    try:
        held = holders(server, conns, apis)
        assert len(held) == 32, held
        served = {pid: list(held.values()).count(pid) for pid in apis}
        # The kernel hashes each connection to a socket: a binomial split, below 6 of 32 about once in 10,000
        # runs. (With one shared socket, the first process to wake took all of them.)
        assert min(served.values()) >= 6, f"connections per API process: {served}"
    finally:
        for conn in conns:
            conn.close()


def test_a_second_serve_on_the_port_is_refused(server: LiveServer) -> None:
    second = subprocess.run([sys.executable, "-m", "lockstep.cli", "serve"], env=server.env, capture_output=True,
                            text=True, timeout=120)
    output = (second.stdout + second.stderr).strip()
    assert second.returncode != 0 and "Traceback" not in output and len(output.splitlines()) == 1, output
    assert f"127.0.0.1:{server.port} is already in use" in output, output
    # Nor does a server that binds the usual way (SO_REUSEADDR, no SO_REUSEPORT).
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with pytest.raises(OSError) as refused:
            other.bind(("127.0.0.1", server.port))
        assert refused.value.errno == errno.EADDRINUSE
    server.client().get("/")  # the first server still serves


def test_connections_made_while_an_api_process_is_replaced_are_served(server: LiveServer) -> None:
    parent = server.procs[0].pid
    before = roles(children(parent), "api")
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    wait_for("the API process to die", lambda: not alive(victim))
    # Its socket stays open in the supervisor: the connections the kernel hashes to it wait in its queue until
    # the replacement takes it over, and none is refused or reset.
    conns = connect(server, 16)
    try:
        after = roles(children(parent), "api")
        assert len(after) == 2 and victim not in after, after
        held = holders(server, conns, after)
        assert len(held) == 16, held
        replacement = after - before
        assert replacement and set(held.values()) & replacement, (held, replacement)
    finally:
        for conn in conns:
            conn.close()


def test_an_api_process_that_keeps_dying_gives_up_its_socket_until_restarted(server: LiveServer) -> None:
    parent = server.procs[0].pid
    first = roles(children(parent), "api")
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    wait_for("its replacement", lambda: len(roles(children(parent), "api") - first) == 1)
    survivor = max(first)
    replacement = (roles(children(parent), "api") - first).pop()
    os.kill(replacement, signal.SIGKILL)  # dead again within 10 s: restarted after a back-off of 1 s
    wait_for("the API process to die", lambda: not alive(replacement))
    wait_for("the back-off", lambda: "restarting it in 1.0 s" in server.log_text())
    # Meanwhile its socket is closed, and every new connection goes to the other API process.
    conns = connect(server, 16)
    try:
        assert set(holders(server, conns, {survivor}).values()) == {survivor}
        assert len(holders(server, conns, {survivor})) == 16
    finally:
        for conn in conns:
            conn.close()
    # Restarted, it has a listening socket again and takes its share.
    wait_for("the restart", lambda: len(roles(children(parent), "api")) == 2)
    apis = roles(children(parent), "api")
    conns = connect(server, 32, paused=apis)
    try:
        held = holders(server, conns, apis)
        assert len(held) == 32 and len(set(held.values())) == 2, held
    finally:
        for conn in conns:
            conn.close()


def test_the_only_api_process_keeps_its_socket_through_a_back_off(tmp_path: Path) -> None:
    """With one API process there is no other socket to send connections to: one made during the back-off
    waits in the queue and is answered by the restarted process, instead of being refused."""
    with live_server(tmp_path / "data", f"sqlite:///{tmp_path / 'lockstep.sqlite'}") as server:
        parent = server.procs[0].pid
        (first,) = roles(children(parent), "api")
        os.kill(first, signal.SIGKILL)
        wait_for("its replacement", lambda: len(roles(children(parent), "api") - {first}) == 1)
        (second,) = roles(children(parent), "api")
        os.kill(second, signal.SIGKILL)  # dead again within 10 s: restarted after a back-off of 1 s
        wait_for("the back-off", lambda: "restarting it in 1.0 s" in server.log_text())
        assert not roles(children(parent), "api")
        conns = connect(server, 4)
        for conn in conns:
            conn.close()
