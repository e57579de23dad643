"""The one table that maps domain errors to Manila's fault bodies.

`{"<faultName>": {"code": N, "message": "…"}}`; fault names by status code as in Manila.
"""

from __future__ import annotations

from lockstep.domain import errors as e

FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    501: "notImplemented",
    503: "serviceUnavailable",
}

GENERIC_400 = ("The server could not comply with the request since it is either malformed or otherwise "
               "incorrect.")
GENERIC_500 = "The server has either erred or is incapable of performing the requested operation."

# Most specific first.
_STATUS: list[tuple[type[e.LockstepError], int]] = [
    (e.NotFound, 404),
    (e.Invalid, 400),
    (e.Conflict, 409),
    (e.Forbidden, 403),
    (e.PolicyNotAuthorized, 403),
    (e.QuotaExceeded, 413),
    (e.Unprocessable, 422),
    (e.NoValidHost, 400),
]


class HTTPFault(Exception):
    """Raised by the API layer itself (bad headers, bodies); carries its status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def status_of(error: e.LockstepError) -> int:
    for cls, status in _STATUS:
        if isinstance(error, cls):
            return status
    return 500


def fault_body(status: int, message: str) -> dict[str, object]:
    name = FAULT_NAMES.get(status, "computeFault")
    body: dict[str, object] = {"code": status, "message": message}
    if status == 413:
        body["retryAfter"] = "0"
    return {name: body}
