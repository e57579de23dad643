"""The use cases the API calls, as one object (built by `lockstep.bootstrap`)."""

from __future__ import annotations

from dataclasses import dataclass

from lockstep.domain.model import SHARE_PROTOCOLS
from lockstep.service.access import AccessService
from lockstep.service.cgsnapshots import CGSnapshotService
from lockstep.service.consistency_groups import ConsistencyGroupService
from lockstep.service.health import HealthService
from lockstep.service.host_services import HostServiceRegistry
from lockstep.service.listing import ListingService
from lockstep.service.messages import MessageService
from lockstep.service.metadata import MetadataService
from lockstep.service.policy import Policy
from lockstep.service.pools import PoolService
from lockstep.service.quotas import QuotaService
from lockstep.service.recycle_bin import RecycleBinService
from lockstep.service.scheduler import Scheduler
from lockstep.service.security_services import SecurityServiceService
from lockstep.service.share_group_types import ShareGroupTypeService
from lockstep.service.share_network_subnets import ShareNetworkSubnetService
from lockstep.service.share_networks import ShareNetworkService
from lockstep.service.share_types import ShareTypeService
from lockstep.service.shares import ShareService
from lockstep.service.snapshot_access import SnapshotAccessService
from lockstep.service.snapshots import SnapshotService


@dataclass
class Services:
    policy: Policy
    scheduler: Scheduler
    types: ShareTypeService
    networks: ShareNetworkService
    shares: ShareService
    snapshots: SnapshotService
    listing: ListingService
    groups: ConsistencyGroupService
    cgsnapshots: CGSnapshotService
    pools: PoolService
    recycle_bin: RecycleBinService
    availability_zone: str
    availability_zone_id: str
    access: AccessService
    group_types: ShareGroupTypeService
    security_services: SecurityServiceService
    subnets: ShareNetworkSubnetService
    metadata: MetadataService
    messages: MessageService
    quotas: QuotaService
    host_services: HostServiceRegistry
    health: HealthService
    snapshot_access: SnapshotAccessService
    # The share_proto values a new share may have (Manila's enabled_share_protocols).
    share_protocols: tuple[str, ...] = SHARE_PROTOCOLS
