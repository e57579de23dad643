"""Access rules: who may reach a share and how, the states a rule moves through, and the checks a
grantee must pass. Pure: no I/O.

A rule is granted `queued_to_apply`, and the worker moves it `applying -> active | error`; a revoke
moves it `queued_to_deny -> denying ->` gone; a level change `queued_to_update -> updating ->
active | error`. The share's `access_rules_status` is not stored: it is computed from its rules'
states (`rules_status`), so it can never disagree with them.
"""

from __future__ import annotations

import datetime as dt
import enum
import ipaddress
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from lockstep.domain.errors import Invalid


class AccessState(enum.StrEnum):
    QUEUED_TO_APPLY = "queued_to_apply"
    APPLYING = "applying"
    ACTIVE = "active"
    ERROR = "error"
    QUEUED_TO_DENY = "queued_to_deny"
    DENYING = "denying"
    QUEUED_TO_UPDATE = "queued_to_update"
    UPDATING = "updating"


#: What the worker moves a queued rule to when it takes the rule's change to the backend.
TAKEN: Mapping[AccessState, AccessState] = {
    AccessState.QUEUED_TO_APPLY: AccessState.APPLYING,
    AccessState.QUEUED_TO_UPDATE: AccessState.UPDATING,
    AccessState.QUEUED_TO_DENY: AccessState.DENYING,
}
IN_FLIGHT = (AccessState.APPLYING, AccessState.UPDATING, AccessState.DENYING)
PENDING = (*TAKEN, *IN_FLIGHT)
BEING_DENIED = (AccessState.QUEUED_TO_DENY, AccessState.DENYING)
#: A deny may start from every state but these (a rule in error is cleared by denying it).
DENIABLE = tuple(s for s in AccessState if s not in BEING_DENIED)
#: The rules a backend must enforce: granted or changed and not failed or being denied.
ENFORCED = (AccessState.QUEUED_TO_APPLY, AccessState.APPLYING, AccessState.ACTIVE, AccessState.QUEUED_TO_UPDATE,
            AccessState.UPDATING)


class RulesStatus(enum.StrEnum):
    """A share's `access_rules_status`."""

    ACTIVE = "active"
    SYNCING = "syncing"
    ERROR = "error"


def rules_status(states: Iterable[str]) -> RulesStatus:
    """`error` if any rule failed, else `syncing` while any change is pending, else `active`."""
    seen = set(states)
    if AccessState.ERROR in seen:
        return RulesStatus.ERROR
    if seen & set(PENDING):
        return RulesStatus.SYNCING
    return RulesStatus.ACTIVE


class AccessType(enum.StrEnum):
    IP = "ip"
    USER = "user"
    CERT = "cert"
    CEPHX = "cephx"


ACCESS_LEVELS = ("rw", "ro")
MAX_ACCESS_TO = 255  # characters: what the column holds
MAX_LOCK_REASON = 1023


@dataclass(frozen=True)
class AccessLock:
    """The locks placed with a rule when it was granted (2.82), and who placed them."""

    deletion: bool
    visibility: bool
    user_id: str
    project_id: str
    by_admin: bool  # an admin's lock: only an admin may lift it or see through it
    reason: str | None
    share_lock_id: str | None  # the share's deletion lock that a rule's deletion lock places with it


@dataclass
class AccessRule:
    id: str
    share_id: str
    access_type: str
    access_to: str
    access_level: str
    state: str
    access_key: str | None
    created_at: dt.datetime
    updated_at: dt.datetime | None
    metadata: dict[str, str] = field(default_factory=dict)
    lock: AccessLock | None = None

    @property
    def deletion_locked(self) -> bool:
        return self.lock is not None and self.lock.deletion

    @property
    def visibility_locked(self) -> bool:
        return self.lock is not None and self.lock.visibility


# Grantees ----------------------------------------------------------------------------------------
_ONLY_DOTS_OR_SPACES = re.compile(r"[\s|.]+$")
# Any first character, then 3 to 254 characters none of which is special (Manila's rule).
_USER_NAME = re.compile(r'.[^"/\\\[\]:;|=,+*?<>]{3,254}$')


def check_grantee(access_type: str, access_to: str, *, cephx: bool, ipv6: bool) -> None:
    """Manila's checks of a rule's type and target (`cephx` from 2.13, IPv6 from 2.38)."""
    if access_type == AccessType.IP:
        _check_ip(access_to, ipv6)
    elif access_type == AccessType.USER:
        _check_user(access_to)
    elif access_type == AccessType.CERT:
        if not 0 < len(access_to.strip()) < 65:
            raise Invalid("Invalid CN (common name). Must be 1-64 chars long.")
    elif access_type == AccessType.CEPHX and cephx:
        _check_cephx(access_to)
    elif cephx:
        raise Invalid("Only 'ip', 'user', 'cert' or 'cephx' access types are supported.")
    else:
        raise Invalid("Only 'ip', 'user' or 'cert' access types are supported.")
    if len(access_to) > MAX_ACCESS_TO:
        raise Invalid(f"Invalid input received: 'access_to' is longer than {MAX_ACCESS_TO} characters.")


def _check_ip(access_to: str, ipv6: bool) -> None:
    try:
        if ipv6:
            ipaddress.ip_network(access_to)
        else:
            ipaddress.IPv4Network(access_to)
    except ValueError as exc:
        raise Invalid(str(exc)) from None


def _check_user(access_to: str) -> None:
    if _ONLY_DOTS_OR_SPACES.match(access_to):
        raise Invalid("Invalid user or group name,cannot consist solely of periods or spaces.")
    if not _USER_NAME.match(access_to):
        raise Invalid('Invalid user or group name. Must be 4-255 characters and consist of alphanumeric '
                      'characters and exclude special characters "/\\[]:;|=,+*?<>')


def _check_cephx(access_to: str) -> None:
    if not access_to:
        raise Invalid("Ceph IDs may not be empty.")
    if not set(access_to) <= set(string.printable):
        raise Invalid("Ceph IDs must consist of ASCII printable characters.")
    if "." in access_to:
        raise Invalid("Ceph IDs may not contain periods.")


def same_grantee(access_type: str, one: str, other: str) -> bool:
    """Whether two targets of a type name the same grantee: ip rules compare as networks
    (`10.0.0.1` is `10.0.0.1/32`), the others as given."""
    if access_type != AccessType.IP:
        return one == other
    try:
        return ipaddress.ip_network(one) == ipaddress.ip_network(other)
    except ValueError:
        return one == other


def check_level(level: object) -> str:
    """The level a grant asks for: absent means `rw`."""
    if level is None:
        return "rw"
    if level not in ACCESS_LEVELS:
        raise Invalid(f"Invalid access rule: Invalid share access level: {level}.")
    return str(level)


# Snapshot access (2.32) ------------------------------------------------------------------------------
class SnapshotTarget(enum.StrEnum):
    """What a snapshot access rule opens: a snapshot, or one member of a cgsnapshot (Lockstep's extension:
    Manila keeps group snapshot members out of /snapshots, so they have access rules of their own)."""

    SNAPSHOT = "snapshot"
    MEMBER = "cgsnapshot_member"


#: A snapshot is read-only storage: every rule on it grants `ro`, whatever a client asks.
SNAPSHOT_ACCESS_LEVEL = "ro"


@dataclass
class SnapshotAccessRule:
    """One rule of a snapshot or cgsnapshot member; its states are a share rule's, without the level changes."""

    id: str
    target_id: str
    target_kind: str
    access_type: str
    access_to: str
    state: str
    created_at: dt.datetime
    updated_at: dt.datetime | None

    @property
    def access_level(self) -> str:
        return SNAPSHOT_ACCESS_LEVEL
