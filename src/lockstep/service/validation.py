"""Ids: new ones, and whether a value looks like one (as Manila's uuidutils decides)."""

from __future__ import annotations

import uuid

MAX_NAME = 255  # characters in a name or description
MAX_ID = 255  # characters in a user or project id (the columns that hold them; PostgreSQL refuses longer)


def new_id() -> str:
    return str(uuid.uuid4())


def is_uuid_like(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return str(uuid.UUID(value)).replace("-", "") == value.replace("-", "").lower()
    except ValueError:
        return False
