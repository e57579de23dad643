"""Policy rules with Manila's names and defaults (oslo.policy), overridable by an operator file."""

from __future__ import annotations

import enum
import os
import threading
import time
from pathlib import Path

from oslo_config import cfg
from oslo_policy import policy as oslo_policy

from lockstep.domain.errors import PolicyNotAuthorized
from lockstep.service.context import RequestContext


class Rule(enum.StrEnum):
    CONTEXT_IS_ADMIN = "context_is_admin"
    ADMIN_OR_OWNER = "admin_or_owner"
    DEFAULT = "default"
    ADMIN_API = "admin_api"
    ADMIN_OR_OWNER_USER = "admin_or_owner_user"

    SHARE_CREATE = "share:create"
    SHARE_GET = "share:get"
    SHARE_GET_ALL = "share:get_all"
    SHARE_UPDATE = "share:update"
    SHARE_DELETE = "share:delete"
    SHARE_FORCE_DELETE = "share:force_delete"
    SHARE_RESET_STATUS = "share:reset_status"
    SHARE_EXTEND = "share:extend"
    SHARE_SHRINK = "share:shrink"
    SHARE_CREATE_SNAPSHOT = "share:create_snapshot"
    SHARE_DELETE_SNAPSHOT = "share:delete_snapshot"
    SHARE_SNAPSHOT_UPDATE = "share:snapshot_update"
    SHARE_GET_METADATA = "share:get_share_metadata"
    SHARE_UPDATE_METADATA = "share:update_share_metadata"
    SHARE_DELETE_METADATA = "share:delete_share_metadata"
    SHARE_LIST_BY_SERVER = "share:list_by_share_server_id"
    SHARE_SOFT_DELETE = "share:soft_delete"
    SHARE_RESTORE = "share:restore"
    SHARE_FORCE_EXTEND = "share:force_extend"
    SHARE_EXTEND_BEYOND_MAX_SIZE = "share:extend_beyond_max_share_size_spec"
    SHARE_UPDATE_ADMIN_ONLY_METADATA = "share:update_admin_only_metadata"
    SHARE_ALLOW_ACCESS = "share:allow_access"
    SHARE_DENY_ACCESS = "share:deny_access"
    SHARE_ACCESS_GET = "share:access_get"
    SHARE_ACCESS_GET_ALL = "share:access_get_all"
    ACCESS_RULE_GET = "share_access_rule:get"
    ACCESS_RULE_INDEX = "share_access_rule:index"
    ACCESS_RULE_UPDATE = "share_access_rule:update"
    ACCESS_METADATA_UPDATE = "share_access_metadata:update"
    ACCESS_METADATA_DELETE = "share_access_metadata:delete"
    # Locks placed with access rules (2.82); Lockstep serves no /resource-locks of its own.
    RESOURCE_LOCK_CREATE = "resource_lock:create"
    RESOURCE_LOCK_DELETE = "resource_lock:delete"
    RESOURCE_LOCK_BYPASS_SHOW = "resource_lock:bypass_locked_show_action"
    EXPORT_LOCATION_INDEX = "share_export_location:index"
    EXPORT_LOCATION_SHOW = "share_export_location:show"

    SNAPSHOT_GET = "share_snapshot:get_snapshot"
    SNAPSHOT_GET_ALL = "share_snapshot:get_all_snapshots"
    SNAPSHOT_FORCE_DELETE = "share_snapshot:force_delete"
    SNAPSHOT_RESET_STATUS = "share_snapshot:reset_status"
    SNAPSHOT_ALLOW_ACCESS = "share_snapshot:allow_access"
    SNAPSHOT_DENY_ACCESS = "share_snapshot:deny_access"
    SNAPSHOT_ACCESS_LIST = "share_snapshot:access_list"

    TYPE_INDEX = "share_type:index"
    TYPE_SHOW = "share_type:show"
    TYPE_DEFAULT = "share_type:default"
    TYPE_CREATE = "share_type:create"
    TYPE_DELETE = "share_type:delete"
    TYPE_UPDATE = "share_type:update"
    TYPE_ADD_ACCESS = "share_type:add_project_access"
    TYPE_REMOVE_ACCESS = "share_type:remove_project_access"
    TYPE_LIST_ACCESS = "share_type:list_project_access"
    EXTRA_SPEC_CREATE = "share_types_extra_spec:create"
    EXTRA_SPEC_UPDATE = "share_types_extra_spec:update"
    EXTRA_SPEC_SHOW = "share_types_extra_spec:show"
    EXTRA_SPEC_INDEX = "share_types_extra_spec:index"
    EXTRA_SPEC_DELETE = "share_types_extra_spec:delete"

    NETWORK_CREATE = "share_network:create"
    NETWORK_SHOW = "share_network:show"
    NETWORK_INDEX = "share_network:index"
    NETWORK_DETAIL = "share_network:detail"
    NETWORK_UPDATE = "share_network:update"
    NETWORK_DELETE = "share_network:delete"
    NETWORK_GET_ALL = "share_network:get_all_share_networks"

    CG_CREATE = "consistency_group:create"
    CG_GET = "consistency_group:get"
    CG_GET_ALL = "consistency_group:get_all"
    CG_UPDATE = "consistency_group:update"
    CG_DELETE = "consistency_group:delete"
    CG_RESET_STATUS = "consistency_group:reset_status"
    CG_FORCE_DELETE = "consistency_group:force_delete"

    CGSNAPSHOT_CREATE = "cgsnapshot:create"
    CGSNAPSHOT_GET = "cgsnapshot:get_cgsnapshot"
    CGSNAPSHOT_GET_ALL = "cgsnapshot:get_all"
    CGSNAPSHOT_UPDATE = "cgsnapshot:update"
    CGSNAPSHOT_DELETE = "cgsnapshot:delete"
    CGSNAPSHOT_RESET_STATUS = "cgsnapshot:reset_status"
    CGSNAPSHOT_FORCE_DELETE = "cgsnapshot:force_delete"

    SHARE_GROUP_CREATE = "share_group:create"
    SHARE_GROUP_GET = "share_group:get"
    SHARE_GROUP_GET_ALL = "share_group:get_all"
    SHARE_GROUP_UPDATE = "share_group:update"
    SHARE_GROUP_DELETE = "share_group:delete"
    SHARE_GROUP_RESET_STATUS = "share_group:reset_status"
    SHARE_GROUP_FORCE_DELETE = "share_group:force_delete"

    SHARE_GROUP_SNAPSHOT_CREATE = "share_group_snapshot:create"
    SHARE_GROUP_SNAPSHOT_GET = "share_group_snapshot:get"
    SHARE_GROUP_SNAPSHOT_GET_ALL = "share_group_snapshot:get_all"
    SHARE_GROUP_SNAPSHOT_UPDATE = "share_group_snapshot:update"
    SHARE_GROUP_SNAPSHOT_DELETE = "share_group_snapshot:delete"
    SHARE_GROUP_SNAPSHOT_RESET_STATUS = "share_group_snapshot:reset_status"
    SHARE_GROUP_SNAPSHOT_FORCE_DELETE = "share_group_snapshot:force_delete"

    GROUP_TYPE_INDEX = "share_group_type:index"
    GROUP_TYPE_SHOW = "share_group_type:show"
    GROUP_TYPE_DEFAULT = "share_group_type:default"
    GROUP_TYPE_CREATE = "share_group_type:create"
    GROUP_TYPE_DELETE = "share_group_type:delete"
    GROUP_TYPE_LIST_ACCESS = "share_group_type:list_project_access"
    GROUP_TYPE_ADD_ACCESS = "share_group_type:add_project_access"
    GROUP_TYPE_REMOVE_ACCESS = "share_group_type:remove_project_access"
    GROUP_SPEC_CREATE = "share_group_types_spec:create"
    GROUP_SPEC_INDEX = "share_group_types_spec:index"
    GROUP_SPEC_SHOW = "share_group_types_spec:show"
    GROUP_SPEC_UPDATE = "share_group_types_spec:update"
    GROUP_SPEC_DELETE = "share_group_types_spec:delete"

    POOLS_INDEX = "scheduler_stats:pools:index"
    POOLS_DETAIL = "scheduler_stats:pools:detail"
    AVAILABILITY_ZONE_INDEX = "availability_zone:index"

    # Records: security services, share network subnets, snapshot export locations and metadata.
    SECURITY_SERVICE_CREATE = "security_service:create"
    SECURITY_SERVICE_SHOW = "security_service:show"
    SECURITY_SERVICE_INDEX = "security_service:index"
    SECURITY_SERVICE_DETAIL = "security_service:detail"
    SECURITY_SERVICE_UPDATE = "security_service:update"
    SECURITY_SERVICE_DELETE = "security_service:delete"
    SECURITY_SERVICE_GET_ALL = "security_service:get_all_security_services"
    NETWORK_ADD_SECURITY_SERVICE = "share_network:add_security_service"
    NETWORK_REMOVE_SECURITY_SERVICE = "share_network:remove_security_service"
    NETWORK_UPDATE_SECURITY_SERVICE = "share_network:update_security_service"
    NETWORK_ADD_SECURITY_SERVICE_CHECK = "share_network:add_security_service_check"
    NETWORK_UPDATE_SECURITY_SERVICE_CHECK = "share_network:update_security_service_check"
    NETWORK_RESET_STATUS = "share_network:reset_status"
    NETWORK_SUBNET_CREATE_CHECK = "share_network:subnet_create_check"
    SUBNET_CREATE = "share_network_subnet:create"
    SUBNET_DELETE = "share_network_subnet:delete"
    SUBNET_SHOW = "share_network_subnet:show"
    SUBNET_INDEX = "share_network_subnet:index"
    SUBNET_GET_METADATA = "share_network_subnet:get_metadata"
    SUBNET_UPDATE_METADATA = "share_network_subnet:update_metadata"
    SUBNET_DELETE_METADATA = "share_network_subnet:delete_metadata"
    SNAPSHOT_GET_METADATA = "share_snapshot:get_metadata"
    SNAPSHOT_UPDATE_METADATA = "share_snapshot:update_metadata"
    SNAPSHOT_DELETE_METADATA = "share_snapshot:delete_metadata"
    SNAPSHOT_EXPORT_LOCATION_INDEX = "share_snapshot_export_location:index"
    SNAPSHOT_EXPORT_LOCATION_SHOW = "share_snapshot_export_location:show"
    SHARE_RESET_TASK_STATE = "share:reset_task_state"
    MESSAGE_GET = "message:get"
    MESSAGE_GET_ALL = "message:get_all"
    MESSAGE_DELETE = "message:delete"
    QUOTA_SHOW = "quota_set:show"
    QUOTA_UPDATE = "quota_set:update"
    QUOTA_DELETE = "quota_set:delete"
    # Manila checks no rule on /limits (every caller sees their own project's); Lockstep names one so that
    # an operator can restrict it like any other route.
    LIMITS = "limits:index"
    SERVICE_INDEX = "service:index"
    SERVICE_UPDATE = "service:update"


_ADMIN = {
    Rule.SHARE_FORCE_DELETE, Rule.SHARE_RESET_STATUS, Rule.SHARE_LIST_BY_SERVER,
    Rule.SNAPSHOT_FORCE_DELETE, Rule.SNAPSHOT_RESET_STATUS,
    Rule.TYPE_CREATE, Rule.TYPE_DELETE, Rule.TYPE_ADD_ACCESS, Rule.TYPE_REMOVE_ACCESS, Rule.TYPE_LIST_ACCESS,
    Rule.EXTRA_SPEC_CREATE, Rule.EXTRA_SPEC_UPDATE, Rule.EXTRA_SPEC_SHOW, Rule.EXTRA_SPEC_INDEX,
    Rule.EXTRA_SPEC_DELETE, Rule.NETWORK_GET_ALL,
    Rule.CG_RESET_STATUS, Rule.CG_FORCE_DELETE, Rule.CGSNAPSHOT_RESET_STATUS, Rule.CGSNAPSHOT_FORCE_DELETE,
    Rule.POOLS_INDEX, Rule.POOLS_DETAIL,
    Rule.SHARE_FORCE_EXTEND, Rule.SHARE_EXTEND_BEYOND_MAX_SIZE, Rule.SHARE_UPDATE_ADMIN_ONLY_METADATA,
    Rule.TYPE_UPDATE,
    Rule.SHARE_GROUP_RESET_STATUS, Rule.SHARE_GROUP_FORCE_DELETE, Rule.SHARE_GROUP_SNAPSHOT_RESET_STATUS,
    Rule.SHARE_GROUP_SNAPSHOT_FORCE_DELETE, Rule.GROUP_TYPE_CREATE, Rule.GROUP_TYPE_DELETE,
    Rule.GROUP_TYPE_LIST_ACCESS, Rule.GROUP_TYPE_ADD_ACCESS, Rule.GROUP_TYPE_REMOVE_ACCESS,
    # Reading group specs is admin-only too (as Manila 23 ships it).
    Rule.GROUP_SPEC_CREATE, Rule.GROUP_SPEC_INDEX, Rule.GROUP_SPEC_SHOW, Rule.GROUP_SPEC_UPDATE,
    Rule.GROUP_SPEC_DELETE,
    Rule.QUOTA_UPDATE, Rule.QUOTA_DELETE, Rule.SERVICE_INDEX, Rule.SERVICE_UPDATE,
}
_ANYONE = {Rule.SHARE_CREATE, Rule.SHARE_GET_ALL, Rule.SHARE_EXTEND, Rule.SHARE_SHRINK,
           Rule.EXPORT_LOCATION_INDEX, Rule.EXPORT_LOCATION_SHOW, Rule.TYPE_INDEX, Rule.TYPE_SHOW,
           Rule.TYPE_DEFAULT, Rule.AVAILABILITY_ZONE_INDEX,
           Rule.GROUP_TYPE_INDEX, Rule.GROUP_TYPE_SHOW, Rule.GROUP_TYPE_DEFAULT, Rule.LIMITS}

# The user who placed a lock (or an admin), Manila's admin_or_owner_user.
_OWNER_USER = {Rule.RESOURCE_LOCK_DELETE, Rule.RESOURCE_LOCK_BYPASS_SHOW}
# Records (security services, subnets, snapshot export locations and metadata): the rest is rule:default.
_ADMIN |= {Rule.SECURITY_SERVICE_GET_ALL, Rule.NETWORK_RESET_STATUS, Rule.SHARE_RESET_TASK_STATE}

BASE_DEFAULTS = {
    Rule.CONTEXT_IS_ADMIN: "role:admin",
    Rule.ADMIN_OR_OWNER: "is_admin:True or project_id:%(project_id)s",
    Rule.DEFAULT: "rule:admin_or_owner",
    Rule.ADMIN_API: "is_admin:True",
    Rule.ADMIN_OR_OWNER_USER: "is_admin:True or project_id:%(project_id)s and user_id:%(user_id)s",
}


def default_rules() -> dict[str, str]:
    rules: dict[str, str] = {str(k): v for k, v in BASE_DEFAULTS.items()}
    for rule in Rule:
        if rule in BASE_DEFAULTS:
            continue
        if rule in _OWNER_USER:
            rules[str(rule)] = "rule:admin_or_owner_user"
            continue
        rules[str(rule)] = "rule:admin_api" if rule in _ADMIN else ("" if rule in _ANYONE else "rule:default")
    return rules


class Policy:
    """oslo.policy with a decision cache.

    oslo.policy re-checks its file on every call (about 0.5 ms); decisions depend only on the
    credentials and target below, so they are cached, and the cache is dropped when the operator's
    policy file changes (checked at most once a second).
    """

    _CACHE_SIZE = 8192

    def __init__(self, policy_file: Path | None = None) -> None:
        conf = cfg.ConfigOpts()
        conf([], project="lockstep", default_config_files=[], default_config_dirs=[])
        # Without an operator file, point at a name that does not exist: oslo.policy then uses
        # the registered defaults alone.
        path = "/nonexistent/lockstep-policy.yaml"
        if policy_file is not None:
            if not policy_file.exists():
                raise FileNotFoundError(f"policy file {policy_file} does not exist")
            path = str(policy_file.resolve())
        self._file = policy_file.resolve() if policy_file is not None else None
        self._enforcer = oslo_policy.Enforcer(conf, policy_file=path)
        self._enforcer.register_defaults(
            [oslo_policy.RuleDefault(name, check) for name, check in default_rules().items()]
        )
        self._enforcer.load_rules()
        self._cache: dict[tuple[object, ...], bool] = {}
        self._lock = threading.Lock()
        self._mtime = self._file_mtime()
        self._checked = time.monotonic()

    def _file_mtime(self) -> float:
        return os.stat(self._file).st_mtime if self._file is not None and self._file.exists() else 0.0

    def _enforce(self, rule: str, target: dict[str, object], creds: dict[str, object]) -> bool:
        roles = creds["roles"]
        assert isinstance(roles, list)
        key: tuple[object, ...] = (rule, tuple(sorted(target.items())), tuple(roles), creds.get("project_id"),
                                   creds.get("user_id"), creds.get("is_admin"))
        if self._file is not None and time.monotonic() - self._checked > 1.0:
            self._checked = time.monotonic()
            mtime = self._file_mtime()
            if mtime != self._mtime:
                self._mtime = mtime
                with self._lock:
                    self._cache.clear()
        found = self._cache.get(key)
        if found is None:
            found = bool(self._enforcer.enforce(rule, target, creds))
            with self._lock:
                if len(self._cache) >= self._CACHE_SIZE:
                    self._cache.clear()
                self._cache[key] = found
        return found

    def is_admin(self, roles: tuple[str, ...]) -> bool:
        creds: dict[str, object] = {"roles": [r.lower() for r in roles], "is_admin": False}
        return self._enforce(str(Rule.CONTEXT_IS_ADMIN), {}, creds)

    def allowed(self, ctx: RequestContext, rule: Rule, target_project: str | None = None,
                target_user: str | None = None) -> bool:
        creds: dict[str, object] = {"roles": [r.lower() for r in ctx.roles], "project_id": ctx.project_id,
                                    "user_id": ctx.user_id, "is_admin": ctx.is_admin}
        target: dict[str, object] = {"project_id": target_project or ctx.project_id,
                                     "user_id": target_user or ctx.user_id}
        return self._enforce(str(rule), target, creds)

    def authorize(self, ctx: RequestContext, rule: Rule, target_project: str | None = None) -> None:
        if not self.allowed(ctx, rule, target_project):
            raise PolicyNotAuthorized(str(rule))
