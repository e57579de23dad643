"""What a list request asks for, as typed values: filters, scope, sorting and paging.

The API parses query strings into these (`lockstep.api.queries`); the repositories translate
them into SQL. Neither side sees the other's vocabulary: no query strings below the API, no
SQL above the adapters.

`scope` is the project whose rows are listed; None lists every project's (an admin's
`all_tenants`). `matches_nothing` marks a filter that Manila answers with an empty list (an
unknown key, an integer the column cannot hold, share servers, which Lockstep has none of).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """Which slice of a sorted collection a list request wants."""

    limit: int
    offset: int = 0
    marker: str | None = None
    sort_key: str = "created_at"
    sort_dir: str = "asc"


class ShareField(enum.StrEnum):
    """Share columns a list may filter on by equality."""

    ID = "id"
    STATUS = "status"
    HOST = "host"
    SHARE_TYPE_ID = "share_type_id"
    SNAPSHOT_ID = "snapshot_id"
    SHARE_NETWORK_ID = "share_network_id"
    PROJECT_ID = "project_id"
    USER_ID = "user_id"
    SIZE = "size"
    SHARE_PROTO = "share_proto"
    CONSISTENCY_GROUP_ID = "consistency_group_id"
    AVAILABILITY_ZONE = "availability_zone"
    NAME = "name"
    DESCRIPTION = "description"
    SOURCE_CGSNAPSHOT_MEMBER_ID = "source_cgsnapshot_member_id"
    TASK_STATE = "task_state"


@dataclass(frozen=True)
class ShareQuery:
    page: Page
    scope: str | None
    include_public: bool = False  # with a scope: other projects' public shares too
    by_share_server: bool = False  # asked for the shares of a share server (needs its own policy rule)
    matches_nothing: bool = False
    # Every pair must hold; a key may repeat (two values for one field match nothing).
    equals: tuple[tuple[ShareField, str | int], ...] = ()
    metadata: tuple[tuple[str, str], ...] = ()
    # extra-spec key with the stored spellings that match the asked value ("True", "true", "<is> True")
    extra_specs: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # 2.35: shares with an export location of this id / path
    export_location_id: str | None = None
    export_location_path: str | None = None
    # 2.36: `name~` / `description~`, a substring (case-insensitive)
    name_contains: str | None = None
    description_contains: str | None = None
    # 2.69: the recycle bin is listed only when asked for (`is_soft_deleted=true`)
    soft_deleted: bool = False


class SnapshotField(enum.StrEnum):
    """Snapshot columns a list may filter on by equality (admins: all of them)."""

    ID = "id"
    PROJECT_ID = "project_id"
    USER_ID = "user_id"
    SHARE_ID = "share_id"
    NAME = "name"
    DESCRIPTION = "description"
    SIZE = "size"
    SHARE_SIZE = "share_size"
    SHARE_PROTO = "share_proto"
    STATUS = "status"
    PROGRESS = "progress"
    PROVIDER_LOCATION = "provider_location"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"


@dataclass(frozen=True)
class SnapshotQuery:
    page: Page
    scope: str | None
    used: bool | None = None  # True: a share was created from it; False: none was; None: either
    matches_nothing: bool = False
    equals: tuple[tuple[SnapshotField, str | int], ...] = ()
    # 2.36: `name~` / `description~`, a substring (case-insensitive)
    name_contains: str | None = None
    description_contains: str | None = None

    metadata: tuple[tuple[str, str], ...] = ()  # every pair must be in the snapshot's metadata (2.73)


class GroupField(enum.StrEnum):
    """Group columns a share-group list may filter on (the values are the column names)."""

    ID = "id"
    PROJECT_ID = "project_id"
    USER_ID = "user_id"
    NAME = "name"
    DESCRIPTION = "description"
    STATUS = "status"
    HOST = "host"
    SHARE_NETWORK_ID = "share_network_id"
    SHARE_SERVER_ID = "share_server_id"
    SHARE_GROUP_TYPE_ID = "share_group_type_id"
    SOURCE_CGSNAPSHOT_ID = "source_cgsnapshot_id"
    AVAILABILITY_ZONE = "availability_zone"
    CONSISTENT_SNAPSHOT_SUPPORT = "consistent_snapshot_support"


@dataclass(frozen=True)
class GroupQuery:
    """Consistency groups and share groups (the CG API filters on nothing)."""

    page: Page
    scope: str | None
    equals: tuple[tuple[GroupField, str], ...] = ()
    contains: tuple[tuple[GroupField, str], ...] = ()  # `name~`: a case-insensitive substring (SQL LIKE)


class CGSnapshotField(enum.StrEnum):
    """Group snapshot columns a share-group-snapshot list may filter on."""

    ID = "id"
    PROJECT_ID = "project_id"
    USER_ID = "user_id"
    NAME = "name"
    DESCRIPTION = "description"
    STATUS = "status"
    CONSISTENCY_GROUP_ID = "consistency_group_id"


@dataclass(frozen=True)
class CGSnapshotQuery:
    page: Page
    scope: str | None
    equals: tuple[tuple[CGSnapshotField, str], ...] = ()


class ShareNetworkField(enum.StrEnum):
    ID = "id"
    USER_ID = "user_id"
    NAME = "name"
    DESCRIPTION = "description"
    NEUTRON_NET_ID = "neutron_net_id"
    NEUTRON_SUBNET_ID = "neutron_subnet_id"
    NETWORK_TYPE = "network_type"
    SEGMENTATION_ID = "segmentation_id"
    CIDR = "cidr"
    IP_VERSION = "ip_version"
    GATEWAY = "gateway"
    MTU = "mtu"
    STATUS = "status"


#: Share network fields held by its subnets: a filter on one matches a network if any subnet matches.
SUBNET_NETWORK_FIELDS = frozenset({
    ShareNetworkField.NEUTRON_NET_ID, ShareNetworkField.NEUTRON_SUBNET_ID, ShareNetworkField.NETWORK_TYPE,
    ShareNetworkField.SEGMENTATION_ID, ShareNetworkField.CIDR, ShareNetworkField.IP_VERSION,
    ShareNetworkField.GATEWAY, ShareNetworkField.MTU,
})


@dataclass(frozen=True)
class ShareNetworkQuery:
    """Share networks: offset paging in creation order (no marker or sort keys)."""

    offset: int
    limit: int
    scope: str | None
    asks_all_tenants: bool = False  # `all_tenants` was given, whatever its value (needs a policy rule)
    created_since: dt.datetime | None = None  # inclusive
    created_before: dt.datetime | None = None  # exclusive
    matches_nothing: bool = False
    equals: tuple[tuple[ShareNetworkField, str | int], ...] = ()
    security_service_id: str | None = None  # only networks linked to this security service
    # 2.36: `name~` / `description~`, a substring (case-insensitive)
    name_contains: str | None = None
    description_contains: str | None = None


@dataclass(frozen=True)
class PoolQuery:
    """Reported pools: regular expressions on their name parts, and a share type they must suit."""

    patterns: tuple[tuple[str, str], ...] = ()  # (field, pattern) as asked, unknown fields included
    share_type: str | None = None  # name or id


class AccessRuleField(enum.StrEnum):
    """Access rule columns a list may filter on by equality."""

    ID = "id"
    ACCESS_TYPE = "access_type"
    ACCESS_TO = "access_to"
    ACCESS_KEY = "access_key"
    ACCESS_LEVEL = "access_level"


@dataclass(frozen=True)
class AccessRuleQuery:
    """The rules of one share (in the order they were granted), filtered."""

    share_id: str
    equals: tuple[tuple[AccessRuleField, str], ...] = ()
    metadata: tuple[tuple[str, str], ...] = ()  # every pair must be in the rule's metadata


class SecurityServiceField(enum.StrEnum):
    """Security service attributes a list may filter on by equality (non-admins: the first seven)."""

    NAME = "name"
    ID = "id"
    TYPE = "type"
    USER = "user"
    SERVER = "server"
    DNS_IP = "dns_ip"
    DOMAIN = "domain"
    OU = "ou"
    PASSWORD = "password"
    DESCRIPTION = "description"
    PROJECT_ID = "project_id"
    DEFAULT_AD_SITE = "default_ad_site"


@dataclass(frozen=True)
class SecurityServiceQuery:
    """Security services: offset paging in creation order."""

    offset: int
    limit: int
    scope: str | None
    share_network_id: str | None = None  # the services linked to this network, whoever owns them
    matches_nothing: bool = False
    equals: tuple[tuple[SecurityServiceField, str], ...] = ()


class MessageField(enum.StrEnum):
    """User-message columns a list filters on by equality."""

    REQUEST_ID = "request_id"
    RESOURCE_TYPE = "resource_type"
    RESOURCE_ID = "resource_id"
    ACTION_ID = "action_id"
    DETAIL_ID = "detail_id"
    MESSAGE_LEVEL = "message_level"


@dataclass(frozen=True)
class MessageQuery:
    page: Page
    scope: str | None
    equals: tuple[tuple[MessageField, str], ...] = ()
    created_since: dt.datetime | None = None  # inclusive
    created_before: dt.datetime | None = None  # inclusive
