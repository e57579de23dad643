"""User messages (`/messages`, 2.37): list, show and delete the messages of the caller's project.

The worker writes them (`lockstep.service.operations.failures`) when asynchronous work fails. As in
Manila, an admin sees every project's messages.
"""

from __future__ import annotations

from lockstep.domain.errors import NotFound
from lockstep.domain.messages import Message
from lockstep.domain.queries import MessageQuery
from lockstep.service.context import RequestContext
from lockstep.service.unit_of_work import Database


class MessageService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def list_all(self, ctx: RequestContext, query: MessageQuery) -> list[Message]:
        with self.db.read() as uow:
            return uow.messages.find(query)

    def get(self, ctx: RequestContext, message_id: str) -> Message:
        with self.db.read() as uow:
            found = uow.messages.get(message_id, ctx.scope())
        if found is None:
            raise NotFound(f"Message {message_id} could not be found.")
        return found

    def delete(self, ctx: RequestContext, message_id: str) -> None:
        with self.db.write() as uow:
            if uow.messages.get(message_id, ctx.scope()) is None or not uow.messages.delete(message_id):
                raise NotFound(f"Message {message_id} could not be found.")
            uow.commit()
