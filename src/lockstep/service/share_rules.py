"""What a share's type allows, checked when a share is created or resized.

Specs Manila added after 2.30: `availability_zones` (2.48), `provisioning:min_share_size` and
`provisioning:max_share_size` (2.61, and `provisioning:max_share_extend_size` for admins),
`mount_point_name_support` (2.84) and `encryption_support` (2.90). The messages are Manila's
(its InvalidInput appends a period to a reason that already ends with one).
"""

from __future__ import annotations

import enum

from lockstep.domain.errors import Invalid
from lockstep.domain.model import (
    AVAILABILITY_ZONES_SPEC,
    ENCRYPTION_SPEC,
    MAX_SHARE_EXTEND_SIZE_SPEC,
    MAX_SHARE_SIZE_SPEC,
    MIN_SHARE_SIZE_SPEC,
    MOUNT_POINT_NAME_SPEC,
    ShareType,
)
from lockstep.service.validation import is_uuid_like

ENCRYPTION_TYPES = ("share", "share_server")


class SizeCheck(enum.Enum):
    CREATE = "create"  # at least the minimum, at most the maximum
    EXTEND = "extend"  # at most the maximum
    ADMIN_EXTEND = "admin-extend"  # at most provisioning:max_share_extend_size
    SHRINK = "shrink"  # at least the minimum


def type_zones(share_type: ShareType | None) -> list[str]:
    """The zones a type's shares may be created in (empty: any)."""
    value = share_type.extra_specs.get(AVAILABILITY_ZONES_SPEC, "") if share_type else ""
    return [zone.strip() for zone in value.split(",") if zone.strip()]


def check_zone(share_type: ShareType | None, label: str, zone: str, *, asked: bool) -> None:
    """2.48: a share of a type restricted to some zones is created in one of them.

    Lockstep serves one zone. Manila answered an asked zone outside the list with 400 and sent a
    share without one to the scheduler, where it failed later; Lockstep refuses both at once.
    """
    zones = type_zones(share_type)
    if not zones or zone in zones:
        return
    if asked:
        raise Invalid(f"Share type {label} is not supported within the availability zone chosen {zone}.")
    raise Invalid(f"Invalid input received: share type {label} is restricted to the availability zones "
                  f"{', '.join(zones)}, and this service serves only {zone}.")


def check_size(share_type: ShareType | None, size: int, check: SizeCheck) -> None:
    """2.61: the type's size limits (checked at every version, as Manila does)."""
    if share_type is None:
        return
    specs = share_type.extra_specs
    limit = _int_spec(specs.get(MIN_SHARE_SIZE_SPEC))
    if check in (SizeCheck.CREATE, SizeCheck.SHRINK) and limit is not None and size < limit:
        raise Invalid(f"Invalid input received: Specified share size of '{size}' is less than the minimum "
                      f"required size of '{limit}' for share type '{share_type.name}'..")
    limit = _int_spec(specs.get(MAX_SHARE_SIZE_SPEC))
    if check in (SizeCheck.CREATE, SizeCheck.EXTEND) and limit is not None and size > limit:
        raise Invalid(f"Invalid input received: Specified share size of '{size}' is greater than the maximum "
                      f"allowable size of '{limit}' for share type '{share_type.name}'..")
    limit = _int_spec(specs.get(MAX_SHARE_EXTEND_SIZE_SPEC))
    if check is SizeCheck.ADMIN_EXTEND and limit is not None and size > limit:
        raise Invalid(f"Invalid input received: Specified share size of '{size}' is greater than the maximum "
                      f"allowable extend size of '{limit}' for share type '{share_type.name}'..")


def _int_spec(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None  # specs are checked when they are set; an unreadable one limits nothing


def check_mount_point_name(share_type: ShareType | None, name: str | None) -> None:
    """2.84: a mount point name needs a type with `mount_point_name_support`, and a backend that can
    name the export after it, which none of Lockstep's can (they name exports after the share id)."""
    if name is None:
        return
    if share_type is None or not share_type.spec_bool(MOUNT_POINT_NAME_SPEC):
        type_id = share_type.id if share_type else None
        raise Invalid(f"Invalid input received: Setting a mount point name is not supported by the share type "
                      f"used: {type_id}..")
    raise Invalid("Invalid input received: mount_point_name cannot be honoured: Lockstep's backends name "
                  "each export after the share's id.")


def check_encryption(share_type: ShareType | None, key_ref: str | None) -> None:
    """2.90: encryption needs a type with `encryption_support` that handles share servers, and a
    backend that encrypts, which none of Lockstep's does."""
    if not key_ref:
        return
    if share_type is not None:
        if share_type.extra_specs.get(ENCRYPTION_SPEC) not in ENCRYPTION_TYPES:
            raise Invalid(f"Share type {share_type.name} extra-specs 'encryption_support' is missing valid value "
                          "e.g. share, share_server.")
        if not share_type.dhss:
            raise Invalid(f"Share type {share_type.name} must set dhss=True for share encryption.")
    if not is_uuid_like(key_ref):
        raise Invalid("Invalid input received: Encryption key ref is not valid UUID.")
    raise Invalid("Invalid input received: share encryption is not supported: no Lockstep backend encrypts "
                  "shares (encryption_key_ref).")
