"""User messages (Manila's `/messages`, 2.37): why an asynchronous request failed.

Manila keeps only the ids (`action_id`, `detail_id`) and renders `user_message` from a fixed table.
Lockstep keeps Manila's ids, so that clients filtering by them keep working, and stores the words
with the message: `<action>: <what failed, for which object, and what to do>`. The words never
carry a driver's own error text (commands, paths), which is for operators' logs only.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

LEVEL_ERROR = "ERROR"


class ResourceType(enum.StrEnum):
    SHARE = "SHARE"
    SHARE_SNAPSHOT = "SHARE_SNAPSHOT"
    SHARE_GROUP = "SHARE_GROUP"
    # Manila has no message type for group snapshots (it records none); Lockstep does.
    SHARE_GROUP_SNAPSHOT = "SHARE_GROUP_SNAPSHOT"


class Action(enum.Enum):
    """Manila's action ids and their words."""

    ALLOCATE_HOST = ("001", "allocate host")
    CREATE = ("002", "create")
    UPDATE = ("005", "update")
    DELETE = ("007", "delete")
    EXTEND = ("008", "extend")
    SHRINK = ("009", "shrink")
    UPDATE_ACCESS_RULES = ("010", "update access rules")

    @property
    def id(self) -> str:
        return self.value[0]

    @property
    def words(self) -> str:
        return self.value[1]


class Detail(enum.StrEnum):
    """Manila's detail ids that Lockstep's failures fall under."""

    UNKNOWN_ERROR = "001"
    NO_VALID_HOST = "002"
    FILTER_CAPACITY = "009"
    DRIVER_FAILED_EXTEND = "015"
    DRIVER_FAILED_CREATING_FROM_SNAP = "017"
    DRIVER_REFUSED_SHRINK = "018"


@dataclass(frozen=True)
class Message:
    id: str
    project_id: str
    request_id: str | None
    resource_type: str
    resource_id: str
    action_id: str
    detail_id: str
    message_level: str
    user_message: str
    created_at: dt.datetime
    expires_at: dt.datetime
