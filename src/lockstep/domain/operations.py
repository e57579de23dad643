"""Recorded work: an operation row the worker claims and settles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Operation:
    id: int
    kind: str
    target_id: str
    backend: str | None
    attempts: int
    payload: dict[str, Any]
