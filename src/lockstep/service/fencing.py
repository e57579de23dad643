"""Fencing: a worker writes for an operation only while it still holds the claim it started with.

Every claim of an operation raises the row's `epoch`. A worker that stopped (SIGSTOP, a long pause, a
network partition) past its lease may find its operation taken over by another worker; when it resumes
it must not settle anything. So each writing unit of work a handler opens first locks the operation's
row and checks that it still belongs to this owner at this epoch (`OperationRepository.hold`): if not,
it rolls back and raises `LostLease`. While the row is locked no other worker can claim it (claims skip
locked rows), so whatever that transaction writes is written by the operation's one owner.

The settling transaction also deletes the operation row (`complete`), so a record's new status and the
end of the work are one commit: there is no moment where the record is settled and the operation could
still be run again by a new owner, nor the reverse.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from lockstep.service.unit_of_work import Database, UnitOfWork

_IDENTITY: tuple[int, str] | None = None


def process_identity() -> str:
    """This process among all of Lockstep's, `<machine>:<pid>:<nonce>`: the first part of every owner string
    its workers claim with (`Worker.owner` is `<process identity>/<worker nonce>`), and what a driver on
    shared storage tags its clients with (the cephfs driver's ceph-fuse sessions), so that the clients of
    exactly the process whose lease ran out can be fenced. The nonce tells apart two processes that got the
    same pid (a container restarted); made after a fork, never inherited."""
    global _IDENTITY
    if _IDENTITY is None or _IDENTITY[0] != os.getpid():
        _IDENTITY = (os.getpid(), f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")
    return _IDENTITY[1]


def process_of(owner: str) -> str:
    """The process identity (`process_identity`) in an operation's owner string."""
    return owner.split("/", 1)[0]


class LostLease(Exception):
    """The operation was taken over by another worker: this one must write nothing more for it."""


@dataclass
class Fence:
    op_id: int
    owner: str
    epoch: int
    completed: bool = field(default=False)  # the operation row went with a settling transaction

    def __str__(self) -> str:
        return f"operation {self.op_id} (epoch {self.epoch}, owner {self.owner})"


class FencedDatabase:
    """The database as a handler of one claimed operation sees it: every write is fenced."""

    def __init__(self, db: Database, fence: Fence) -> None:
        self.db = db
        self.fence = fence

    def read(self) -> contextlib.AbstractContextManager[UnitOfWork]:
        return self.db.read()

    @contextlib.contextmanager
    def write(self) -> Iterator[UnitOfWork]:
        if self.fence.completed:
            raise RuntimeError(f"{self.fence} is complete; nothing may be written for it after that")
        with self.db.write() as uow:
            if not uow.operations.hold(self.fence.op_id, self.fence.owner, self.fence.epoch):
                raise LostLease(f"lost the lease on {self.fence}: another worker took it over")
            yield uow

    def complete(self, uow: UnitOfWork) -> None:
        """Delete the operation row in `uow` (the settling transaction, already fenced by `write`)."""
        if uow.operations.finish(self.fence.op_id, self.fence.owner, self.fence.epoch):
            self.fence.completed = True
