"""Who is calling: the request context every use case receives."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RequestContext:
    user_id: str
    project_id: str
    roles: tuple[str, ...] = ()
    is_admin: bool = False
    request_id: str = ""
    auth_token: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def scope(self) -> str | None:
        """The project id to filter by for lookups: None (everything) for admins (decision 1)."""
        return None if self.is_admin else self.project_id
