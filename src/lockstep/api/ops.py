"""The operator's endpoints outside /v2: `/healthcheck` (as oslo.middleware serves it), its detailed
view for admins, and `/metrics` (Prometheus text, from the addresses `metrics_allow` names)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import orjson

from lockstep.api.errors import fault_body
from lockstep.service.health import HealthService

Response = tuple[int, list[tuple[str, str]], bytes]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

HEALTHCHECK = "/healthcheck"
HEALTHCHECK_DETAILED = "/healthcheck/detailed"
METRICS = "/metrics"
PATHS = (HEALTHCHECK, HEALTHCHECK_DETAILED, METRICS)
LOOPBACK = ("127.0.0.0/8", "::1/128")


class MetricsExporter(Protocol):
    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None: ...

    def render(self) -> tuple[str, bytes]:
        """(content type, body) of the exposition."""


def networks(spellings: Sequence[str]) -> tuple[Network, ...]:
    """`metrics_allow`'s addresses and CIDRs; ValueError names the one that is not."""
    return tuple(ipaddress.ip_network(s.strip(), strict=False) for s in spellings)


@dataclass
class OpsEndpoints:
    health: HealthService
    metrics: MetricsExporter | None = None
    metrics_allow: tuple[Network, ...] = ()

    def healthcheck(self, method: str, headers: dict[str, str]) -> Response:
        """200 "OK" or 503 with the reason; JSON when the client asks for it (oslo.middleware's two bodies)."""
        problem = self.health.problem()
        status = 503 if problem else 200
        reasons = [problem.summary] if problem else []
        if "application/json" in headers.get("accept", ""):
            return _body(status, "application/json",
                         orjson.dumps({"status": "unavailable" if problem else "ok", "reasons": reasons}), method)
        return _body(status, "text/plain; charset=UTF-8", (reasons[0] if reasons else "OK").encode(), method)

    def detailed(self, is_admin: bool) -> Response:
        if not is_admin:
            return _json_fault(403, "The detailed health check is for administrators.")
        report = self.health.detailed()
        return _body(503 if report["status"] != "ok" else 200, "application/json", orjson.dumps(report), "GET")

    def exposition(self, peer: str | None) -> Response:
        if self.metrics is None:
            return _json_fault(404, "The resource could not be found.")
        if not self._allowed(peer):
            return _json_fault(403, "/metrics is not served to this address; add it to metrics_allow.")
        content_type, payload = self.metrics.render()
        return _body(200, content_type, payload, "GET")

    def _allowed(self, peer: str | None) -> bool:
        if peer is None:
            return False
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self.metrics_allow)


def _body(status: int, content_type: str, payload: bytes, method: str) -> Response:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(payload))), ("Cache-Control", "no-store")]
    return status, headers, b"" if method == "HEAD" else payload


def _json_fault(status: int, message: str) -> Response:
    payload = orjson.dumps(fault_body(status, message))
    return status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))], payload
