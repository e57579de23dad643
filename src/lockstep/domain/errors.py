"""The exception tree of Lockstep's domain and service layers.

Nothing here knows HTTP. `lockstep.api.errors` is the one place that maps these classes to
Manila's fault bodies and status codes.

    LockstepError
    ├── NotFound                 the thing does not exist or is not visible to the caller
    │   └── SilentNotFound       reported with Manila's generic "resource could not be found"
    ├── Invalid                  the request is wrong as a whole (400)
    │   └── InvalidState         ... a precondition on a status does not hold (400)
    ├── Conflict                 the state of existing records forbids it (409)
    ├── Forbidden                refused by a rule on the resource, not by policy (403)
    ├── PolicyNotAuthorized      refused by a policy rule (403)
    ├── QuotaExceeded            a quota would be exceeded (413)
    ├── Unprocessable            the request is understood but cannot be processed (422)
    └── NoValidHost              nothing can place the resource (set as a status, not raised to clients)
"""

from __future__ import annotations


class LockstepError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(LockstepError):
    pass


class SilentNotFound(NotFound):
    def __init__(self, message: str = "The resource could not be found.") -> None:
        super().__init__(message)


class Invalid(LockstepError):
    pass


class InvalidState(Invalid):
    pass


class Conflict(LockstepError):
    pass


class Forbidden(LockstepError):
    pass


class PolicyNotAuthorized(LockstepError):
    def __init__(self, rule: str) -> None:
        super().__init__(f"Policy doesn't allow {rule} to be performed.")
        self.rule = rule


class QuotaExceeded(LockstepError):
    pass


class Unprocessable(LockstepError):
    pass


class NoValidHost(LockstepError):
    pass
