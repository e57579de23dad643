"""Security services (records, as share networks are) and their links to share networks.

Lockstep's drivers handle no share servers, so no link ever has a server to reconfigure: linking,
unlinking and replacing are checked as Manila checks them for a network without servers, and a
"check" always answers compatible.
"""

from __future__ import annotations

from dataclasses import dataclass

from lockstep.domain.errors import Conflict, Forbidden, Invalid, NotFound, SilentNotFound
from lockstep.domain.model import SecurityService, ShareNetwork, utcnow
from lockstep.domain.queries import SecurityServiceQuery
from lockstep.service.commands import (
    Checked,
    CreateSecurityService,
    ReplaceSecurityService,
    SecurityServiceFields,
    SecurityServiceLink,
    unwrap,
)
from lockstep.service.context import RequestContext
from lockstep.service.policy import Policy, Rule
from lockstep.service.share_networks import check_active, find_network
from lockstep.service.unit_of_work import Database, UnitOfWork
from lockstep.service.validation import new_id

AD = "active_directory"


@dataclass(frozen=True)
class CheckResult:
    """What a feasibility check found: with no share servers, every change is compatible."""

    compatible: bool = True


class SecurityServiceService:
    def __init__(self, db: Database, policy: Policy) -> None:
        self.db = db
        self.policy = policy

    # records ---------------------------------------------------------------------------------
    def create(self, ctx: RequestContext, cmd: CreateSecurityService) -> SecurityService:
        values = cmd.fields.values()
        if cmd.type == AD and values.get("server") and values.get("default_ad_site"):
            raise Invalid("Invalid input received: Cannot create security service because both server and "
                          "'default_ad_site' were provided, Specify either server or 'default_ad_site'.")
        service_id = new_id()
        with self.db.write() as uow:
            uow.security_services.insert_row(id=service_id, project_id=ctx.project_id, type=cmd.type,
                                             created_at=utcnow(), updated_at=None, **values)
            found = uow.security_services.get(service_id)
            uow.commit()
        assert found is not None
        return found

    def _find(self, uow: UnitOfWork, ctx: RequestContext, service_id: str) -> SecurityService:
        found = uow.security_services.get(service_id, ctx.scope())
        if found is None:
            raise SilentNotFound()
        return found

    def get(self, ctx: RequestContext, service_id: str) -> SecurityService:
        with self.db.read() as uow:
            found = self._find(uow, ctx, service_id)
        self.policy.authorize(ctx, Rule.SECURITY_SERVICE_SHOW, found.project_id)
        return found

    def update(self, ctx: RequestContext, service_id: str, fields: Checked[SecurityServiceFields]) -> SecurityService:
        with self.db.write() as uow:
            found = self._find(uow, ctx, service_id)
            self.policy.authorize(ctx, Rule.SECURITY_SERVICE_UPDATE, found.project_id)
            values = unwrap(fields).values()
            if found.type == AD and values.get("server") and values.get("default_ad_site"):
                raise Invalid("Invalid input received: Cannot create security service because both server and "
                              "'default_ad_site' were provided. Specify either server or 'default_ad_site'.")
            uow.security_services.cas(service_id, None, **values)
            updated = uow.security_services.get(service_id)
            uow.commit()
        assert updated is not None
        return updated

    def delete(self, ctx: RequestContext, service_id: str) -> None:
        with self.db.write() as uow:
            found = self._find(uow, ctx, service_id)
            if uow.security_services.count_networks(service_id):
                raise Forbidden("Cannot delete security service. It is assigned to share network(s)")
            self.policy.authorize(ctx, Rule.SECURITY_SERVICE_DELETE, found.project_id)
            uow.security_services.delete(service_id)
            uow.commit()

    def list_all(self, ctx: RequestContext, query: SecurityServiceQuery,
                 asks_all_tenants: bool) -> list[SecurityService]:
        """`all_tenants` widens the scope only where the policy allows it (else it is ignored, as in Manila)."""
        with self.db.read() as uow:
            if query.share_network_id is not None:
                if uow.share_networks.get(query.share_network_id, ctx.scope()) is None:
                    raise NotFound(f"ShareNetworkNotFound: Share network {query.share_network_id} could not be "
                                   "found.")
            elif asks_all_tenants and self.policy.allowed(ctx, Rule.SECURITY_SERVICE_GET_ALL):
                query = SecurityServiceQuery(offset=query.offset, limit=query.limit, scope=None,
                                             matches_nothing=query.matches_nothing, equals=query.equals)
            return uow.security_services.find(query)

    def networks(self, ctx: RequestContext, service_ids: list[str]) -> dict[str, list[str]]:
        """The networks (the caller may see) each service is linked to."""
        with self.db.read() as uow:
            return uow.security_services.networks(service_ids, ctx.scope())

    # links ---------------------------------------------------------------------------------
    def add_to_network(self, ctx: RequestContext, link: SecurityServiceLink) -> ShareNetwork:
        with self.db.write() as uow:
            network = _network(uow, ctx, link.share_network_id)
            self.policy.authorize(ctx, Rule.NETWORK_ADD_SECURITY_SERVICE, network.project_id)
            service_id = unwrap(link.security_service_id)
            service = uow.security_services.get(service_id, ctx.scope())
            if service is None:
                raise NotFound(f"SecurityServiceNotFound: Security service {service_id} could not be found.")
            _check_addable(uow, network, service)
            if not uow.share_networks.link(network.id, service.id):
                raise Invalid(f"Failed to associate share network {network.id} and security service {service.id}: "
                              "Already associated.")
            found = uow.share_networks.get(network.id)
            uow.commit()
        assert found is not None
        return found

    def remove_from_network(self, ctx: RequestContext, link: SecurityServiceLink) -> ShareNetwork:
        with self.db.write() as uow:
            network = _network(uow, ctx, link.share_network_id)
            self.policy.authorize(ctx, Rule.NETWORK_REMOVE_SECURITY_SERVICE, network.project_id)
            service_id = unwrap(link.security_service_id)
            if uow.security_services.get(service_id, ctx.scope()) is None:
                raise NotFound(f"Security service {service_id} could not be found.")
            if not uow.share_networks.unlink(network.id, service_id):
                raise Invalid(f"Failed to dissociate share network {network.id} and security service {service_id}: "
                              "No association defined.")
            found = uow.share_networks.get(network.id)
            uow.commit()
        assert found is not None
        return found

    def replace_on_network(self, ctx: RequestContext, cmd: ReplaceSecurityService) -> ShareNetwork:
        with self.db.write() as uow:
            network = _network(uow, ctx, cmd.share_network_id)
            self.policy.authorize(ctx, Rule.NETWORK_UPDATE_SECURITY_SERVICE, network.project_id)
            current, new = _pair(uow, ctx, cmd)
            _check_replaceable(uow, network, current, new)
            uow.share_networks.unlink(network.id, current.id)
            uow.share_networks.link(network.id, new.id)
            found = uow.share_networks.get(network.id)
            uow.commit()
        assert found is not None
        return found

    def check_add(self, ctx: RequestContext, link: SecurityServiceLink, reset: Checked[bool]) -> CheckResult:
        with self.db.read() as uow:
            network = _network(uow, ctx, link.share_network_id)
            self.policy.authorize(ctx, Rule.NETWORK_ADD_SECURITY_SERVICE_CHECK, network.project_id)
            service_id = unwrap(link.security_service_id)
            service = uow.security_services.get(service_id, ctx.scope())
            if service is None:
                raise Invalid(f"Security service {service_id} doesn't exist.")
            unwrap(reset)  # nothing is kept between checks, so there is nothing to reset
            _check_addable(uow, network, service)
        return CheckResult()

    def check_replace(self, ctx: RequestContext, cmd: ReplaceSecurityService, reset: Checked[bool]) -> CheckResult:
        with self.db.read() as uow:
            network = _network(uow, ctx, cmd.share_network_id)
            self.policy.authorize(ctx, Rule.NETWORK_UPDATE_SECURITY_SERVICE_CHECK, network.project_id)
            current, new = _pair(uow, ctx, cmd)
            unwrap(reset)
            _check_replaceable(uow, network, current, new)
        return CheckResult()


def _network(uow: UnitOfWork, ctx: RequestContext, network_id: str) -> ShareNetwork:
    """Manila let the lookup's exception through here: its name is part of the message."""
    try:
        return find_network(uow, ctx, network_id)
    except NotFound as error:
        raise NotFound(f"ShareNetworkNotFound: {error.message}") from None


def _pair(uow: UnitOfWork, ctx: RequestContext,
          cmd: ReplaceSecurityService) -> tuple[SecurityService, SecurityService]:
    current_id, replacement_id = unwrap(cmd.current_and_new)
    current = uow.security_services.get(current_id, ctx.scope())
    new = uow.security_services.get(replacement_id, ctx.scope())
    if current is None or new is None:
        raise Invalid("The current security service or the new security service doesn't exist.")
    return current, new


def _check_addable(uow: UnitOfWork, network: ShareNetwork, service: SecurityService) -> None:
    check_active(network)
    for attached in uow.security_services.of_network(network.id):
        if attached.type == service.type:
            raise Conflict(f"Invalid security service: Cannot add security service to share network. Security "
                           f"service with '{service.type}' type already added to '{network.id}' share network")


def _check_replaceable(uow: UnitOfWork, network: ShareNetwork, current: SecurityService,
                       new: SecurityService) -> None:
    check_active(network)
    if current.id not in uow.share_networks.security_service_ids(network.id):
        raise Conflict(f"Invalid security service: The specified current security service {current.id} is not "
                       f"associated to the share network {network.id}.")
    if current.type != new.type:
        raise Conflict(f"Invalid security service: A security service can only be replaced by one of the same "
                       f"type. The current security service type is '{current.type}' and the new security service "
                       f"type is '{new.type}'")
