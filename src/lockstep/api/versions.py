"""The versions documents (`GET /` and `GET /v2/`)."""

from __future__ import annotations

from typing import Any

from lockstep.api.microversions import MAX_VERSION, MIN_VERSION

UPDATED = "2015-08-27T11:33:21Z"
_MEDIA = [{"base": "application/json", "type": "application/vnd.openstack.share+json;version=1"}]


def _version(base: str, vid: str) -> dict[str, Any]:
    current = vid == "v2.0"
    return {
        "id": vid,
        "status": "CURRENT" if current else "SUPPORTED",
        "version": str(MAX_VERSION) if current else "",
        "min_version": str(MIN_VERSION) if current else "",
        "updated": UPDATED,
        "links": [
            {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"},
            {"rel": "self", "href": f"{base}/{vid.split('.')[0]}/"},
        ],
        "media-types": _MEDIA,
    }


def document(base: str, only: str | None) -> dict[str, Any]:
    ids = [only] if only else ["v1.0", "v2.0"]
    return {"versions": [_version(base, vid) for vid in ids]}
