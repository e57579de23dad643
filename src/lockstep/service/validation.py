"""Input checks shared by the use cases (decision 3: wrong types answer 400 naming the field)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

from lockstep.domain.errors import Invalid

MAX_NAME = 255
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


def new_id() -> str:
    return str(uuid.uuid4())


def is_uuid_like(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return str(uuid.UUID(value)).replace("-", "") == value.replace("-", "").lower()
    except ValueError:
        return False


def optional_text(body: Mapping[str, Any], *keys: str, field: str | None = None) -> str | None:
    """The first of `keys` present in body, checked to be a string of at most 255 characters."""
    for key in keys:
        if key in body:
            value = body[key]
            if value is None:
                return None
            name = field or key
            if not isinstance(value, str):
                raise Invalid(f"Invalid input received: '{name}' must be a string, got {type(value).__name__}.")
            if len(value) > MAX_NAME:
                raise Invalid(f"Invalid input received: '{name}' is longer than {MAX_NAME} characters.")
            return value
    return None


def require_dict(value: object, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid(f"Invalid input received: '{name}' must be an object.")
    return value


def check_metadata(metadata: object) -> dict[str, str]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise Invalid("Invalid input received: 'metadata' must be an object.")
    result: dict[str, str] = {}
    for key, value in metadata.items():
        if isinstance(value, bool):
            value = "True" if value else "False"
        if not isinstance(value, str):
            raise Invalid("The server could not comply with the request since it is either malformed or "
                          "otherwise incorrect.")
        if not key:
            raise Invalid("Metadata property key is blank.")
        if len(key) > 255:
            raise Invalid("Metadata property key is greater than 255 characters.")
        if not value:
            raise Invalid("Metadata property value is blank.")
        if len(value) > 1023:
            raise Invalid("Metadata property value is greater than 1023 characters.")
        result[key] = value
    return result
