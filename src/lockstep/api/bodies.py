"""Parsers shared by several resources' routes: JSON in, command values out (Manila's messages).

Decision 3: a wrong type or an overlong name answers 400 naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lockstep.domain.errors import Invalid
from lockstep.domain.model import RESET_STATUSES, TASK_STATES, Status, parse_bool
from lockstep.service.commands import KEEP, Change, ResetStatus, ResetTaskState, TextChanges
from lockstep.service.validation import MAX_NAME


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


def reset_status(target_id: str, body: object, allowed: tuple[Status, ...] = RESET_STATUSES) -> ResetStatus:
    status = body.get("status") if isinstance(body, dict) else None
    if status is None:
        raise Invalid("Must specify 'status'")
    if status not in [str(s) for s in allowed]:
        raise Invalid(f"Invalid state. Valid states: {', '.join(str(s) for s in allowed)}.")
    return ResetStatus(target_id, Status(status))


def optional_string(entity: Mapping[str, Any], key: str) -> str | None:
    """A reference (an id, a zone name): absent or null is None, anything but a string is refused."""
    value = entity.get(key)
    if value is not None and not isinstance(value, str):
        raise Invalid(f"Invalid input received: '{key}' must be a string.")
    return value


def text_change(entity: Mapping[str, Any], key: str, *, field: str | None = None) -> Change[str | None]:
    return optional_text(entity, key, field=field) if key in entity else KEEP


def text_changes(entity: Mapping[str, Any]) -> TextChanges:
    """`name` and `description`, as consistency group and cgsnapshot updates take them."""
    return TextChanges(name=text_change(entity, "name"), description=text_change(entity, "description"))


def strict_bool(value: object) -> bool:
    try:
        return parse_bool(value, strict=True)
    except ValueError:
        raise Invalid(f"Invalid input received: Invalid value for is_public: {value}.") from None


def unknown_fields(entity: Mapping[str, Any], allowed: tuple[str, ...], message: str) -> None:
    """`message` gets `{fields}`: the unknown keys printed as Manila printed a Python set of them."""
    invalid = [k for k in entity if k not in allowed]
    if invalid:
        raise Invalid(message.format(fields="{" + ", ".join(repr(k) for k in sorted(invalid)) + "}"))


def reset_task_state(share_id: str, body: object) -> ResetTaskState:
    """Manila's JSON schema first (both spellings are checked; only `task_state` is used), then the value."""
    if not isinstance(body, dict):
        raise Invalid(f"Invalid input for field/attribute reset_task_state. Value: {body}. {body!r} is not of "
                      "type 'object'")
    for key in ("os-task_state", "task_state"):
        if key in body and not any(body[key] == state and type(body[key]) is type(state) for state in TASK_STATES):
            value = body[key]
            raise Invalid(f"Invalid input for field/attribute {key}. Value: {value}. {value!r} is not one of "
                          f"{list(TASK_STATES)!r}")
    if "task_state" not in body:
        return ResetTaskState(share_id, Invalid("Must specify 'task_state'"))
    return ResetTaskState(share_id, body["task_state"])
