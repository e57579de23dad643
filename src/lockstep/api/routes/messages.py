"""/messages (2.37): user messages about failed asynchronous requests."""

from __future__ import annotations

from lockstep.api import queries, supporting_views
from lockstep.api.paging import index_reply
from lockstep.api.routing import ALL_VERSIONS, ApiRequest, Reply, Router
from lockstep.service.policy import Rule
from lockstep.service.services import Services

MESSAGES = ALL_VERSIONS.since("2.37")


def register(router: Router, s: Services) -> None:
    def index(req: ApiRequest) -> Reply:
        return index_reply(req, "messages",
                           lambda offset, limit: s.messages.list_all(req.ctx, queries.messages(req, offset, limit)),
                           lambda m: supporting_views.message(req, m), links=("messages_links", "messages"))

    def show(req: ApiRequest) -> Reply:
        return Reply(200, {"message": supporting_views.message(req, s.messages.get(req.ctx, req.params["id"]))})

    def delete(req: ApiRequest) -> Reply:
        s.messages.delete(req.ctx, req.params["id"])
        return Reply(204)

    router.add("GET", "/messages", index, rule=Rule.MESSAGE_GET_ALL, scope=MESSAGES, paged=True)
    router.add("GET", "/messages/{id}", show, rule=Rule.MESSAGE_GET, scope=MESSAGES)
    router.add("DELETE", "/messages/{id}", delete, rule=Rule.MESSAGE_DELETE, scope=MESSAGES)
