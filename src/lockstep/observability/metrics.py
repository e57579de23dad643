"""Prometheus series: what the processes count (requests, operation runs, cut and restore times) and
what the database holds at scrape time (the queue, pool capacity, pool report ages).

Counters and histograms live in prometheus_client's multi-process files when `serve` runs several
processes (observability/multiproc.py), and are summed across processes at scrape time. Gauges of
state are not kept by any process: they are read from the database when scraped, so every API process
answers the same and a process that dies leaves nothing stale behind.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from lockstep.domain.model import utcnow
from lockstep.domain.operations import OperationKind
from lockstep.observability import multiproc
from lockstep.service.health import HealthService

log = logging.getLogger("lockstep.metrics")

QUEUE_STATES = ("pending", "running", "failed")  # the states a row of `operations` can be in

# The series each process records. A registry of our own, so that rendering chooses what to include.
OWN = CollectorRegistry(auto_describe=True)

_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_STORAGE = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

REQUESTS = Counter("lockstep_http_requests", "HTTP requests answered, by route template and status",
                   ["method", "route", "status"], registry=OWN)
REQUEST_SECONDS = Histogram("lockstep_http_request_duration_seconds", "Time to answer an HTTP request",
                            ["method", "route", "status"], buckets=_LATENCY, registry=OWN)
OPERATION_RUNS = Counter("lockstep_operation_runs", "Runs of recorded operations by kind and outcome "
                         "(succeeded, retried, failed = gave up, handed_off, lost_lease)", ["kind", "outcome"],
                         registry=OWN)
OPERATION_SECONDS = Histogram("lockstep_operation_duration_seconds", "Time a worker spent on one run of an operation",
                              ["kind", "outcome"], buckets=_STORAGE, registry=OWN)
TAKEOVERS = Counter("lockstep_lease_takeovers", "Operations claimed after their previous owner's lease ran out",
                    ["kind"], registry=OWN)
CUT_SECONDS = Histogram("lockstep_cgsnapshot_cut_duration_seconds", "Driver time to cut a cgsnapshot (group snapshot), "
                        "by backend and lockstep:consistency method", ["backend", "method"], buckets=_STORAGE,
                        registry=OWN)
RESTORE_SECONDS = Histogram("lockstep_cgsnapshot_restore_duration_seconds", "Driver time to make a group from a "
                            "cgsnapshot, by backend and the source's lockstep:consistency method",
                            ["backend", "method"], buckets=_STORAGE, registry=OWN)


class PrometheusTelemetry:
    """service.telemetry.Telemetry as Prometheus series."""

    def operation_finished(self, kind: str, outcome: str, seconds: float) -> None:
        OPERATION_RUNS.labels(kind, outcome).inc()
        OPERATION_SECONDS.labels(kind, outcome).observe(seconds)

    def lease_taken_over(self, kind: str) -> None:
        TAKEOVERS.labels(kind).inc()

    def cut(self, backend: str, method: str, seconds: float) -> None:
        CUT_SECONDS.labels(backend, method).observe(seconds)

    def restore(self, backend: str, method: str, seconds: float) -> None:
        RESTORE_SECONDS.labels(backend, method).observe(seconds)


class DatabaseCollector(Collector):
    """The queue and the pools as the database has them now (read at each scrape)."""

    def __init__(self, health: HealthService) -> None:
        self.health = health

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("lockstep_database_up", "1 when the database answers with the current schema")
        problem = self.health.problem()
        up.add_metric([], 0.0 if problem else 1.0)
        yield up
        if problem is not None:
            return
        try:
            yield from self._queue()
            yield from self._pools()
        except Exception:  # noqa: BLE001 - a scrape must answer; the failure is in the log and in lockstep_database_up
            log.exception("could not read the queue and pools for /metrics")

    def _queue(self) -> Iterable[Metric]:
        now = utcnow()
        count = GaugeMetricFamily("lockstep_operations", "Recorded operations by kind and state "
                                  "(pending = queued, running, failed = gave up)", labels=["kind", "state"])
        oldest = GaugeMetricFamily("lockstep_operation_oldest_age_seconds", "Age of the oldest operation of a kind "
                                   "in a state (pending: the oldest queued)", labels=["kind", "state"])
        counts = {(str(kind), state): 0.0 for kind in OperationKind for state in QUEUE_STATES}
        for stat in self.health.queue():
            counts[(stat.kind, stat.state)] = float(stat.count)
            if stat.oldest_created_at is not None:
                age = (now - stat.oldest_created_at.replace(tzinfo=None)).total_seconds()
                oldest.add_metric([stat.kind, stat.state], max(age, 0.0))
        # Every kind and state, zero when empty: an alert on "pending > 0" needs the series to exist.
        for (kind, state), value in sorted(counts.items()):
            count.add_metric([kind, state], value)
        return [count, oldest]

    def _pools(self) -> Iterable[Metric]:
        now = utcnow()
        capacity = GaugeMetricFamily("lockstep_pool_capacity_gigabytes", "Pool capacity as its worker last reported "
                                     "it (total, free) and as shares provision it", labels=["pool", "type"])
        age = GaugeMetricFamily("lockstep_pool_report_age_seconds", "Seconds since the pool's worker last reported it",
                                labels=["pool"])
        for pool, usage in self.health.pools():
            capacity.add_metric([pool.name, "total"], pool.total_capacity_gb)
            capacity.add_metric([pool.name, "free"], pool.free_capacity_gb)
            capacity.add_metric([pool.name, "provisioned"], float(usage.provisioned_gb))
            if pool.updated_at is not None:
                age.add_metric([pool.name], max((now - pool.updated_at.replace(tzinfo=None)).total_seconds(), 0.0))
        return [capacity, age]


class _HostFiles(Collector):
    """Every process's samples under the multi-process root, summed (serve's and worker's alike)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def collect(self) -> Iterator[Metric]:
        # A file another user's process made unreadable (a root worker's, without the shared group) is left
        # out rather than failing the whole scrape.
        files = sorted(str(p) for p in self.root.glob("*/*.db") if os.access(p, os.R_OK))
        # prometheus_client ships py.typed but leaves this static method unannotated.
        merged: Iterable[Metric] = MultiProcessCollector.merge(files, accumulate=True)  # type: ignore[no-untyped-call]
        return iter(merged)


class PrometheusExporter:
    """api.ops.MetricsExporter: records each request, renders the exposition."""

    def __init__(self, health: HealthService) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        root = multiproc.active_root()
        self.registry.register(_HostFiles(root) if root is not None else OWN)
        self.registry.register(DatabaseCollector(health))
        # (method, route, status) -> the request counter's and the duration histogram's child. Routes are
        # templates and statuses few, so this stays small.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:  # labels() validates and locks on every call: once per label set is enough
            labels = (method, route, str(status))
            children = self._children[key] = (REQUESTS.labels(*labels), REQUEST_SECONDS.labels(*labels))
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> tuple[str, bytes]:
        return CONTENT_TYPE_LATEST, generate_latest(self.registry)


def serve_host_metrics(host: str, port: int) -> None:
    """`lockstep worker` on a host without `serve`: its own /metrics (this host's processes' samples; the
    queue and pools are the API's to report), on a thread of prometheus_client's HTTP server."""
    root = multiproc.active_root()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_HostFiles(root) if root is not None else OWN)
    start_http_server(port, addr=host, registry=registry)
