"""Microversion negotiation (`X-OpenStack-Manila-API-Version`)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from lockstep.domain.model import parse_bool

VERSION_HEADER = "X-OpenStack-Manila-API-Version"
EXPERIMENTAL_HEADER = "X-OpenStack-Manila-API-Experimental"
_FORMAT = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")


@dataclass(frozen=True, order=True)  # not slots: cached_property needs __dict__
class APIVersion:
    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    @functools.cached_property
    def tuple(self) -> tuple[int, int]:
        return (self.major, self.minor)

    @classmethod
    def parse(cls, text: str) -> APIVersion:
        """`"2.4"` -> APIVersion(2, 4), for versions written in code (headers go through `negotiate`)."""
        major, minor = text.split(".")
        return cls(int(major), int(minor))


MIN_VERSION = APIVersion(2, 0)
MAX_VERSION = APIVersion(2, 99)
CG_VERSION = APIVersion(2, 4)
# Manila renamed the admin actions in 2.7: `os-reset_status` up to 2.6, `reset_status` from 2.7.
LAST_OS_ACTIONS = APIVersion(2, 6)
PLAIN_ACTIONS = APIVersion(2, 7)


class VersionFormatError(Exception):
    pass


class VersionNotSupported(Exception):
    pass


def negotiate(header: str | None) -> APIVersion:
    """The version a /v2 request is served at; raises on a bad or unsupported header."""
    if header is None:
        return MIN_VERSION
    value = header.strip()
    if value.lower() == "latest":
        return MAX_VERSION
    match = _FORMAT.match(value)
    if not match:
        raise VersionFormatError(
            f"API Version String {header} is of invalid format. Must be of format MajorNum.MinorNum."
        )
    version = APIVersion(int(match.group(1)), int(match.group(2)))
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise VersionNotSupported(
            f"Version {header} is not supported by the API. Minimum is {MIN_VERSION} and maximum is {MAX_VERSION}."
        )
    return version


def experimental_requested(header: str | None) -> bool:
    return header is not None and parse_bool(header)
