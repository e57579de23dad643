"""`/metrics`: the exposition parses with prometheus_client's own parser, sums every process of the
host, and its series move with a workload; it is served to loopback only unless configured."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support import Client, configured_server, database, free_port, live_server, share_held_by_a_worker

SHARES = "/v2/{project_id}/shares"


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(http: httpx.Client, url: str) -> Samples:
    resp = http.get(url + "/metrics")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain; version=")
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(resp.text):
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in samples, f"{key} appears twice"
            samples[key] = float(sample.value)
    return samples


def scrape_until(http: httpx.Client, url: str, name: str, wanted: float, **labels: str) -> Samples:
    """A worker counts a run just after recording its outcome, which a client may see first: scrape until
    `total(name, labels)` reaches `wanted` (for at most 10 s), then return that scrape."""
    deadline = time.time() + 10
    while True:
        samples = scrape(http, url)
        if total(samples, name, **labels) >= wanted or time.time() > deadline:
            return samples
        time.sleep(0.1)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every series of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, lbls), v in samples.items() if n == name and wanted <= lbls)


def workload(client: Client) -> str:
    """Three shares, a consistency group with a cgsnapshot, a group made from it; the group's id."""
    for _ in range(3):
        client.create_share()
    group = client.create_group()
    client.create_share(consistency_group_id=group["id"])
    snap = client.create_cgsnapshot(group["id"])
    assert snap["status"] == "available", snap
    resp = client.post("/consistency-groups", {"consistency_group": {"source_cgsnapshot_id": snap["id"]}})
    assert resp.status_code == 202, resp.text
    clone = client.wait(f"/consistency-groups/{resp.json()['consistency_group']['id']}", "consistency_group")
    assert clone["status"] == "available", clone
    return str(group["id"])


def test_series_from_every_process_move_with_a_workload(tmp_path: Path) -> None:
    """Two API processes and a worker process (`serve --processes 2`), scraped through any one of them."""
    with database("postgresql", tmp_path) as url, live_server(tmp_path / "data", url, start=False) as server:
        server.start("--processes", "2")
        before = scrape(server.http, server.url)
        assert value(before, "lockstep_database_up") == 1.0
        workload(server.client())
        after = scrape_until(server.http, server.url, "lockstep_operation_runs_total", 7, outcome="succeeded")

        # Requests by route template and status, counted in whichever API process answered.
        posted = (value(after, "lockstep_http_requests_total", method="POST", route=SHARES, status="200")
                  - value(before, "lockstep_http_requests_total", method="POST", route=SHARES, status="200"))
        assert posted == 4
        assert value(after, "lockstep_http_request_duration_seconds_count", method="POST", route=SHARES,
                     status="200") >= 4
        assert total(after, "lockstep_http_request_duration_seconds_bucket", route=SHARES, le="+Inf") >= 4
        # The worker process's runs, cuts and restores, summed into the API's answer.
        assert total(after, "lockstep_operation_runs_total", kind="create_share", outcome="succeeded") >= 4
        assert total(after, "lockstep_operation_runs_total", kind="create_cgsnapshot", outcome="succeeded") == 1
        backend = "lockstep@default"
        assert value(after, "lockstep_cgsnapshot_cut_duration_seconds_count", backend=backend, method="atomic") == 1
        assert value(after, "lockstep_cgsnapshot_restore_duration_seconds_count", backend=backend,
                     method="atomic") == 1
        # State read from the database at scrape time.
        pool = "lockstep@default#fake"
        # Provisioned is counted from the share records (3 shares, a member, its restored copy: 5 GiB); free is
        # the filesystem's figure as of the worker's last report (the first may come after `before`).
        provisioned_before = value(before, "lockstep_pool_capacity_gigabytes", pool=pool, type="provisioned")
        assert value(after, "lockstep_pool_capacity_gigabytes", pool=pool, type="provisioned") \
            == provisioned_before + 5
        total_gb = value(after, "lockstep_pool_capacity_gigabytes", pool=pool, type="total")
        assert total_gb > 0
        assert 0 <= value(after, "lockstep_pool_capacity_gigabytes", pool=pool, type="free") <= total_gb
        assert value(after, "lockstep_pool_report_age_seconds", pool=pool) >= 0
        # The queue gauge has a series for every kind and state, zero when nothing waits.
        assert value(after, "lockstep_operations", kind="delete_cgsnapshot", state="failed") == 0
        assert ("lockstep_operations", frozenset({("kind", "delete_cgsnapshot"), ("state", "failed")})) in after


def test_queue_gauges_show_what_waits_and_for_how_long(tmp_path: Path) -> None:
    with configured_server(tmp_path, "sqlite", settle_after_requests=False) as srv:
        client = srv.client()
        resp = client.post("/shares", {"share": {"size": 1, "share_proto": "NFS"}})
        assert resp.status_code == 200
        queued = scrape(srv.http, srv.url)
        assert value(queued, "lockstep_operations", kind="create_share", state="pending") == 1
        assert value(queued, "lockstep_operation_oldest_age_seconds", kind="create_share", state="pending") >= 0
        srv.settle()
        settled = scrape(srv.http, srv.url)
        assert value(settled, "lockstep_operations", kind="create_share", state="pending") == 0


def test_metrics_are_served_to_loopback_only_by_default(tmp_path: Path) -> None:
    with configured_server(tmp_path, "sqlite") as srv:
        handle = srv._handle
        status, _, body = handle("GET", "/metrics", "", {}, b"", srv.url, peer="10.1.2.3")
        assert status == 403 and b"metrics_allow" in body
        assert handle("GET", "/metrics", "", {}, b"", srv.url, peer=None)[0] == 403
        assert handle("GET", "/metrics", "", {}, b"", srv.url, peer="127.0.0.1")[0] == 200
        assert handle("GET", "/metrics", "", {}, b"", srv.url, peer="::1")[0] == 200


def test_metrics_allow_opens_it_to_the_configured_networks(tmp_path: Path) -> None:
    with configured_server(tmp_path, "sqlite", LOCKSTEP_METRICS_ALLOW="10.0.0.0/8") as srv:
        handle = srv._handle
        assert handle("GET", "/metrics", "", {}, b"", srv.url, peer="10.1.2.3")[0] == 200
        assert handle("GET", "/metrics", "", {}, b"", srv.url, peer="127.0.0.1")[0] == 403
        assert handle("GET", "/metrics", "", {}, b"", srv.url, peer="192.168.1.1")[0] == 403


def test_a_lease_takeover_is_counted(tmp_path: Path) -> None:
    """A worker killed mid-operation; the next worker takes the operation over once the lease runs out, and
    `serve` (another process, sharing the data directory) reports the takeover."""
    with share_held_by_a_worker(tmp_path) as (server, client, share, first):
        assert value(scrape(server.http, server.url), "lockstep_lease_takeovers_total", kind="create_share") == 0
        first.kill()
        first.wait()
        server.start_worker()
        assert client.wait(f"/shares/{share['id']}", "share", timeout=60)["status"] == "available"
        after = scrape_until(server.http, server.url, "lockstep_lease_takeovers_total", 1)
        assert value(after, "lockstep_lease_takeovers_total", kind="create_share") == 1
        assert "took over operation" in server.log_text()


def test_a_worker_on_its_own_host_serves_its_samples(tmp_path: Path) -> None:
    """`worker_metrics_listen`: a `lockstep worker` without a `serve` beside it answers /metrics itself."""
    port = free_port()
    with database("sqlite", tmp_path) as url, live_server(tmp_path / "data", url, LOCKSTEP_WORKER="false") as server:
        server.start_worker(LOCKSTEP_WORKER_METRICS_LISTEN=f"127.0.0.1:{port}",
                            LOCKSTEP_DATA_DIR=str(tmp_path / "worker-host"))
        share = server.client().create_share()
        assert share["status"] == "available"
        samples = scrape_until(server.http, f"http://127.0.0.1:{port}", "lockstep_operation_runs_total", 1)
        assert value(samples, "lockstep_operation_runs_total", kind="create_share", outcome="succeeded") == 1
        # The API host's /metrics does not see it (another data directory stands for another host).
        api = scrape(server.http, server.url)
        assert value(api, "lockstep_operation_runs_total", kind="create_share", outcome="succeeded") == 0
