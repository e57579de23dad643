"""Where a resource lives: Manila's `host@backend#pool` strings as one typed value.

A share host (`host`) runs a worker that owns some backends; each backend reports one or more
pools. Records store the full string (`lockstep@default#default`); workers own and claim work by
`host@backend` (`backend_key`); drivers only need the pool part.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, order=True)
class PoolRef:
    host: str
    backend: str = ""
    pool: str = ""

    @classmethod
    def parse(cls, text: str | None) -> PoolRef:
        """Any prefix of the form is accepted: `host`, `host@backend`, `host@backend#pool`."""
        rest, _, pool = (text or "").partition("#")
        host, _, backend = rest.partition("@")
        return cls(host, backend, pool)

    @classmethod
    def of_backend(cls, backend_key: str, pool: str = "") -> PoolRef:
        """From a worker's `host@backend` key and a pool name the backend's driver reported."""
        return replace(cls.parse(backend_key), pool=pool)

    @property
    def backend_key(self) -> str:
        """`host@backend`: what a worker owns and what operations are routed by."""
        return f"{self.host}@{self.backend}" if self.backend else self.host

    def __str__(self) -> str:
        return f"{self.backend_key}#{self.pool}" if self.pool else self.backend_key


def backend_key(pool_name: str | None) -> str:
    """The `host@backend` part of a stored `host@backend#pool` (empty for an unplaced record)."""
    return PoolRef.parse(pool_name).backend_key


def pool_of(pool_name: str | None) -> str:
    """The pool part of a stored `host@backend#pool` (empty if none)."""
    return PoolRef.parse(pool_name).pool


def owning_backend(pool_name: str | None) -> str | None:
    """Which worker's backend must run work on a record: its `host@backend`, or None while the record
    is unplaced (then any worker may place it)."""
    return backend_key(pool_name) or None
