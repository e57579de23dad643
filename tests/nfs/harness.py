"""Namespaces for NFS tests: a server network namespace (with a private /run for rpcbind and
Ganesha) and a client network namespace joined to it by a veth pair, each with its own address.

Everything here is made by the test and removed by it: two named network namespaces, the veth pair
between them, and a process that holds the server's mount namespace. The client is libnfs's
command-line tools (`nfs-ls`, `nfs-cp`, `nfs-cat`) run in the client namespace over NFSv3, each in
a subprocess with a timeout (a refused mount must not hang the test).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lockstep.adapters.nfs.ganesha import GaneshaServer
from tests.support import InProcessServer

SUBNET = "10.231.1"
SERVER_IP = f"{SUBNET}.1"
CLIENT_IP = f"{SUBNET}.2"
STRANGER_IP = f"{SUBNET}.3"  # an address no namespace has: a rule for it lets nobody here in
NFS_PORT = 2049
MOUNT_PORT = 20048
TIMEOUT = 30
_SERIAL = itertools.count()


def _run(*command: str) -> None:
    subprocess.run(command, check=True, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT)


@dataclass(frozen=True)
class Namespaces:
    server_netns: str
    client_netns: str
    holder_pid: int  # a process in the server's mount namespace (with its own /run)

    @property
    def wrap(self) -> tuple[str, ...]:
        """The command prefix that runs a server process in the server's namespaces (pids stay real)."""
        return ("nsenter", f"--net=/run/netns/{self.server_netns}", f"--mount=/proc/{self.holder_pid}/ns/mnt", "--")


@contextmanager
def namespaces(propagation: str = "private") -> Iterator[Namespaces]:
    """`propagation="slave"`: mounts made later under a shared mount of this host (a loop image the server
    mounts at start) reach the server's mount namespace, and their unmounts too; its own mounts stay its own."""
    tag = f"{os.getpid()}{next(_SERIAL)}"  # unique per call (interface names: at most 15 characters)
    server, client = f"lsnfs-s{tag}", f"lsnfs-c{tag}"
    veth_server, veth_client = f"lsv{tag}s", f"lsv{tag}c"
    holder: subprocess.Popen[bytes] | None = None
    _run("ip", "netns", "add", server)
    try:
        _run("ip", "netns", "add", client)
        _run("ip", "-n", server, "link", "set", "lo", "up")
        _run("ip", "-n", server, "addr", "add", "127.0.0.2/8", "dev", "lo")  # Ganesha needs a second one
        _run("ip", "-n", client, "link", "set", "lo", "up")
        _run("ip", "link", "add", veth_server, "netns", server, "type", "veth", "peer", "name", veth_client,
             "netns", client)
        _run("ip", "-n", server, "addr", "add", f"{SERVER_IP}/24", "dev", veth_server)
        _run("ip", "-n", client, "addr", "add", f"{CLIENT_IP}/24", "dev", veth_client)
        _run("ip", "-n", server, "link", "set", veth_server, "up")
        _run("ip", "-n", client, "link", "set", veth_client, "up")
        holder = subprocess.Popen(
            ["unshare", "-m", "--propagation", propagation, "--", "sh", "-c",
             "mount -t tmpfs lockstep-nfs-run /run && echo ready && exec sleep infinity"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"ready\n", "could not give the server namespace a private /run"
        yield Namespaces(server, client, holder.pid)
    finally:
        # Whatever still runs in the server's network namespace is the test's (a Ganesha that outlived
        # the Lockstep process that started it, rpcbind).
        pids = subprocess.run(["ip", "netns", "pids", server], capture_output=True, text=True, timeout=TIMEOUT)
        for pid in pids.stdout.split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        if holder is not None:
            holder.kill()
            holder.wait()
            if holder.stdout is not None:
                holder.stdout.close()
        subprocess.run(["ip", "netns", "del", client], capture_output=True, timeout=TIMEOUT)
        subprocess.run(["ip", "netns", "del", server], capture_output=True, timeout=TIMEOUT)


@dataclass(frozen=True)
class NfsClient:
    """libnfs over NFSv3 from the client namespace."""

    netns: str

    def url(self, pseudo: str, name: str = "") -> str:
        path = f"{pseudo}/{name}" if name else pseudo
        return f"nfs://{SERVER_IP}{path}?nfsport={NFS_PORT}&mountport={MOUNT_PORT}&version=3"

    def _run(self, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ip", "netns", "exec", self.netns, *command], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=TIMEOUT)

    def ls(self, pseudo: str) -> subprocess.CompletedProcess[str]:
        return self._run("nfs-ls", self.url(pseudo))

    def cat(self, pseudo: str, name: str) -> subprocess.CompletedProcess[str]:
        return self._run("nfs-cat", self.url(pseudo, name))

    def put(self, local: Path, pseudo: str, name: str) -> subprocess.CompletedProcess[str]:
        return self._run("nfs-cp", str(local), self.url(pseudo, name))


def refused_mount(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode != 0 and "MNT3ERR_ACCES" in result.stdout + result.stderr


def refused_write(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode != 0 and "NFS3ERR_ROFS" in result.stdout + result.stderr


# What an in-process NFS test works with: the server (its worker runs Ganesha), a client in its own
# network namespace, and the test's scratch directory.
@dataclass
class NfsSite:
    server: InProcessServer
    client: NfsClient
    tmp: Path

    @property
    def ganesha(self) -> GaneshaServer:
        assert self.server.worker is not None and self.server.worker.context.nfs is not None
        server = self.server.worker.context.nfs.server
        assert isinstance(server, GaneshaServer)
        return server
