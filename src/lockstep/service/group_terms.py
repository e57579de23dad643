"""What each API over the one store of groups says: Manila's messages for consistency groups and
cgsnapshots (2.4-2.30) and for share groups and share group snapshots (2.31+).

The use cases are the same for both; where they refuse something, they take the words from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lockstep.domain.errors import Invalid, LockstepError, NotFound
from lockstep.service.commands import GroupApi


@dataclass(frozen=True)
class GroupTerms:
    # groups
    group_not_found: str  # {id}
    group_status: str
    group_has_snapshots: str
    group_has_shares: str
    source_not_found: str  # {id}
    source_not_available: str
    source_group_gone: str  # {id}
    share_type_not_found: str  # {id}
    # group snapshots
    snapshot_not_found: str  # {id}
    snapshot_group_not_found: str  # {id}
    snapshot_group_not_available: str
    snapshot_share_not_available: str  # {id}
    snapshot_status: str
    # shares in groups
    share_group_missing: str  # {id}
    share_group_missing_error: type[LockstepError]
    share_group_status: str  # {status}
    share_type_unsupported: str  # {type} {group}
    share_network_unsupported: str  # {network} {group}
    delete_param: str  # the query parameter that names a share's group on delete
    delete_param_missing: str
    delete_param_mismatch: str
    dependent_members: str  # {count}


_CG = "Invalid ConsistencyGroup: "
_CGSNAPSHOT = "Invalid CGSnapshot: "
_SG = "Invalid share group: "
_SGSNAPSHOT = "Invalid share group snapshot: "

TERMS: Mapping[GroupApi, GroupTerms] = {
    GroupApi.CONSISTENCY_GROUPS: GroupTerms(
        group_not_found="Consistency group {id} not found.",
        group_status=_CG + "Consistency group status must be one of ('available', 'error')",
        group_has_snapshots=_CG + "Cannot delete a consistency group with cgsnapshots",
        group_has_shares=_CG + "Cannot delete a consistency group with shares",
        source_not_found="Consistency group snapshot {id} could not be found.",
        source_not_available=_CGSNAPSHOT + "Consistency group snapshot status must be available",
        source_group_gone=_CGSNAPSHOT + "the consistency group of cgsnapshot {id} no longer exists; its storage "
                                        "may already be reclaimed.",
        share_type_not_found="Share type with id {id} could not be found",
        snapshot_not_found="Consistency group snapshot {id} not found.",
        snapshot_group_not_found="ConsistencyGroup {id} could not be found.",
        snapshot_group_not_available=_CG + "Consistency group status must be available",
        snapshot_share_not_available=_CG + "Share {id} in consistency group must have status of available in "
                                           "order to create a CG snapshot",
        snapshot_status=_CGSNAPSHOT + "Consistency group snapshot status must be one of ('available', 'error')",
        share_group_missing="ConsistencyGroup {id} could not be found.",
        share_group_missing_error=Invalid,
        share_group_status="Consistency group status must be available, got{status}.",
        share_type_unsupported="The specified share type ({type}) is not supported by the specified consistency "
                               "group ({group}).",
        share_network_unsupported="The specified share network ({network}) is not supported by the specified "
                                  "consistency group ({group}).",
        delete_param="consistency_group_id",
        delete_param_missing="Must provide 'consistency_group_id' as a request parameter when deleting a share "
                             "in a consistency group.",
        delete_param_mismatch="The specified 'consistency_group_id' does not match the consistency group id of "
                              "the share.",
        dependent_members="Invalid share: Share still has {count} dependent cgsnapshot members.",
    ),
    GroupApi.SHARE_GROUPS: GroupTerms(
        group_not_found="Share group {id} not found.",
        group_status=_SG + "Share group status must be one of ('available', 'error')",
        group_has_snapshots=_SG + "Cannot delete a share group with snapshots",
        group_has_shares=_SG + "Cannot delete a share group with shares",
        source_not_found="Share group snapshot {id} could not be found.",
        source_not_available=_SGSNAPSHOT + "Share group snapshot status must be available.",
        source_group_gone=_SGSNAPSHOT + "the share group of share group snapshot {id} no longer exists; its "
                                        "storage may already be reclaimed.",
        share_type_not_found="Share type with id {id} could not be found.",
        snapshot_not_found="Share group snapshot {id} not found.",
        snapshot_group_not_found="Share group {id} could not be found.",
        snapshot_group_not_available=_SG + "Share group status must be available",
        snapshot_share_not_available=_SG + "Share {id} in share group must have status of available in order to "
                                           "create a group snapshot",
        snapshot_status=_SGSNAPSHOT + "Share group snapshot status must be one of ('available', 'error')",
        share_group_missing="Share group {id} could not be found.",
        share_group_missing_error=NotFound,
        share_group_status="Share group status must be available, got {status}.",
        share_type_unsupported="The specified share type ({type}) is not supported by the specified share group "
                               "({group}).",
        share_network_unsupported="The specified share network ({network}) is not supported by the specified "
                                  "share group ({group}).",
        delete_param="share_group_id",
        delete_param_missing="Must provide 'share_group_id' as a request parameter when deleting a share in a "
                             "share group.",
        delete_param_mismatch="The specified 'share_group_id' does not match the share group id of the share.",
        # Manila's InvalidShare adds its own period after a reason that ends in one.
        dependent_members="Invalid share: Share still has {count} dependent share group snapshot members..",
    ),
}
