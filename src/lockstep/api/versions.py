"""The versions documents (`GET /`, and `GET /v2`, `/v2/`, `/v2/{project_id}` without a token).

As in Manila 23, only v2.0 is listed (v1 is gone): CURRENT, from 2.0 to `MAX_VERSION`.
keystoneauth's discovery reads `version` and `min_version` of this entry, and manilaclient picks
the entry whose status is CURRENT.
"""

from __future__ import annotations

from typing import Any

from lockstep.api.microversions import MAX_VERSION, MIN_VERSION

UPDATED = "2015-08-27T11:33:21Z"
_MEDIA = [{"base": "application/json", "type": "application/vnd.openstack.share+json;version=1"}]


def _v2(base: str) -> dict[str, Any]:
    return {
        "id": "v2.0",
        "status": "CURRENT",
        "version": str(MAX_VERSION),
        "min_version": str(MIN_VERSION),
        "updated": UPDATED,
        "links": [
            {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"},
            {"rel": "self", "href": f"{base}/v2/"},
        ],
        "media-types": _MEDIA,
    }


def document(base: str) -> dict[str, Any]:
    return {"versions": [_v2(base)]}
