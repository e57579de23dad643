#!/usr/bin/env python3
"""Closed-loop load generator for Manila-compatible share-group / consistency-group APIs.

Plain Python 3.11, standard library only (keep-alive HTTP/1.1 connections on plain sockets).

N client threads, each with its own persistent HTTP/1.1 connection, issue requests
back to back (closed loop) until a fixed request count or a time limit is reached.
Only the HTTP request/response is timed; waiting for asynchronous states
(``creating`` -> ``available``, deletion) happens outside the timed phases.

Dialects
--------
``manila``   share groups:        /v2/{project}/share-groups, X-OpenStack-Manila-API-Version 2.55,
                                  body key ``share_group`` (share_types + share_group_type_id)
``lockstep`` consistency groups:  /v2/{project}/consistency-groups, version 2.30 + experimental header,
                                  body key ``consistency_group`` (share_types)

Workloads (``--workloads``, comma separated, run in the order given)
------------------------------------------------------------------
``show``                 GET one group (round robin over ``--seed-groups`` pre-created groups)
``list-detail``          GET {groups}/detail?limit=L for each L in ``--list-limits``
``create-delete-group``  timed POST of groups (op ``group-create``); wait until all are available
                         (untimed); timed DELETE of the same groups (op ``group-delete``); wait gone
``create-share``         timed POST of 1 GiB NFS shares into one pre-created group (op ``share-create``)
``delete-share``         timed DELETE of shares (those left by create-share, else freshly created
                         ones, waited to ``available`` untimed) (op ``share-delete``)

Examples
--------
    python3 bench/loadgen.py --url http://127.0.0.1:8787 --dialect manila \\
        --workloads show,list-detail,create-delete-group --clients 1,8 --requests 200

    python3 bench/loadgen.py --url http://127.0.0.1:8786 --dialect lockstep --duration 10 \\
        --workloads show --clients 1,2,4,8 --out results.jsonl --label lockstep-dev

Safety: only loopback targets are accepted; every loop is bounded by ``--requests``/``--duration``
and the hard caps ``--max-requests`` and ``--max-duration``.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import math
import socket
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

HARD_MAX_REQUESTS = 1_000_000
HARD_MAX_DURATION = 3600.0


# --------------------------------------------------------------------------- dialects


@dataclass(frozen=True)
class Dialect:
    name: str
    groups: str  # collection path segment
    group_key: str  # body key for one group
    groups_key: str  # body key for a list of groups
    share_group_field: str  # share attribute / query param naming the group
    headers: dict[str, str]
    default_version: str
    sends_group_type: bool


DIALECTS = {
    "manila": Dialect(
        name="manila",
        groups="share-groups",
        group_key="share_group",
        groups_key="share_groups",
        share_group_field="share_group_id",
        headers={},
        default_version="2.55",
        sends_group_type=True,
    ),
    "lockstep": Dialect(
        name="lockstep",
        groups="consistency-groups",
        group_key="consistency_group",
        groups_key="consistency_groups",
        share_group_field="consistency_group_id",
        headers={"X-OpenStack-Manila-API-Experimental": "True"},
        default_version="2.30",
        sends_group_type=False,
    ),
}


# --------------------------------------------------------------------------- HTTP


class ApiError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, body: bytes):
        super().__init__(f"{method} {path} -> HTTP {status}: {body[:300]!r}")
        self.status = status


def check_loopback(host: str) -> None:
    """Refuse anything that does not resolve only to loopback addresses."""
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror as e:
        raise SystemExit(f"cannot resolve {host!r}: {e}") from e
    addrs = {info[4][0] for info in infos}
    bad = [a for a in addrs if not ipaddress.ip_address(a.split("%")[0]).is_loopback]
    if bad or not addrs:
        raise SystemExit(f"refusing non-loopback target {host!r} ({sorted(addrs)}); loopback only")


class _Dropped(Exception):
    """The server closed a keep-alive connection before answering (the request is sent again)."""


class Client:
    """One keep-alive connection plus the dialect's headers. Not thread safe: one per thread.

    HTTP/1.1 over a plain socket: the request is formatted in one string, the response parsed with
    `bytes.find` (status line, Content-Length or chunked body). On a 2-core machine the generator
    shares the CPU with the server it measures; `http.client` (its `email`-based header parsing)
    cost about 0.2 ms of CPU per request, several times this. Both servers of a comparison are driven
    by this same client.
    """

    def __init__(self, host: str, port: int, base: str, headers: dict[str, str], timeout: float):
        self.host, self.port, self.base, self.timeout = host, port, base, timeout
        self.headers = headers
        self.sock: socket.socket | None = None
        self.reconnects = 0
        self._fixed = f"Host: {host}:{port}\r\nAccept-Encoding: identity\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items())
        self._buf = b""

    def _connect(self) -> socket.socket:
        if self.sock is None:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._buf = b""
        return self.sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
            self._buf = b""

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes, float]:
        """Send one request; returns (status, body, seconds). Retries once on a dropped keep-alive."""
        url = self.base + path
        if body is None:
            head = f"{method} {url} HTTP/1.1\r\n{self._fixed}\r\n".encode("latin-1")
        else:
            payload = json.dumps(body).encode()
            head = (f"{method} {url} HTTP/1.1\r\n{self._fixed}Content-Type: application/json\r\n"
                    f"Content-Length: {len(payload)}\r\n\r\n").encode("latin-1") + payload
        for attempt in (0, 1):
            sock = self._connect()
            t0 = time.perf_counter()
            try:
                sock.sendall(head)
                status, data, will_close = self._response(sock, method)
            except (_Dropped, ConnectionResetError, BrokenPipeError):
                self.close()
                self.reconnects += 1
                if attempt:
                    raise ConnectionResetError("the server closed the connection") from None
                continue
            dt = time.perf_counter() - t0
            if will_close:
                self.close()
            return status, data, dt
        raise AssertionError("unreachable")

    def _fill(self, sock: socket.socket, started: bool) -> None:
        chunk = sock.recv(65536)
        if not chunk:
            if not started:
                raise _Dropped()
            raise ConnectionResetError("the server closed the connection mid-response")
        self._buf += chunk

    def _response(self, sock: socket.socket, method: str) -> tuple[int, bytes, bool]:
        while (end := self._buf.find(b"\r\n\r\n")) < 0:
            self._fill(sock, bool(self._buf))
        head, self._buf = self._buf[:end].decode("latin-1"), self._buf[end + 4:]
        lines = head.split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, chunked, close = None, False, lines[0].startswith("HTTP/1.0")
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                chunked = "chunked" in value.lower()
            elif name == "connection":
                close = value.strip().lower() == "close"
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return status, b"", close
        if chunked:
            return status, self._chunked(sock), close
        if length is None:  # the body runs to the end of the connection
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                self._buf += chunk
            data, self._buf = self._buf, b""
            return status, data, True
        while len(self._buf) < length:
            self._fill(sock, True)
        data, self._buf = self._buf[:length], self._buf[length:]
        return status, data, close

    def _chunked(self, sock: socket.socket) -> bytes:
        parts = []
        while True:
            while (eol := self._buf.find(b"\r\n")) < 0:
                self._fill(sock, True)
            size = int(self._buf[:eol].split(b";")[0], 16)
            self._buf = self._buf[eol + 2:]
            if size == 0:
                while (end := self._buf.find(b"\r\n")) < 0:  # trailers end with an empty line
                    self._fill(sock, True)
                while end != 0:
                    self._buf = self._buf[end + 2:]
                    while (end := self._buf.find(b"\r\n")) < 0:
                        self._fill(sock, True)
                self._buf = self._buf[2:]
                return b"".join(parts)
            while len(self._buf) < size + 2:
                self._fill(sock, True)
            parts.append(self._buf[:size])
            self._buf = self._buf[size + 2:]

    def json(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200, 201, 202)) -> Any:
        status, data, _ = self.request(method, path, body)
        if status not in ok:
            raise ApiError(method, path, status, data)
        return json.loads(data) if data else None


# --------------------------------------------------------------------------- stats


def percentile(sorted_vals: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_vals:
        return float("nan")
    k = max(0, min(len(sorted_vals) - 1, math.ceil(p / 100.0 * len(sorted_vals)) - 1))
    return sorted_vals[k]


@dataclass
class PhaseResult:
    op: str
    clients: int
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_sample: str = ""
    wall: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def record(self, base: dict[str, Any]) -> dict[str, Any]:
        lat = sorted(self.latencies)
        ms = lambda v: round(v * 1000.0, 3)  # noqa: E731
        n = len(lat)
        rec = dict(base)
        rec.update(
            {
                "op": self.op,
                "clients": self.clients,
                "requests": n + self.errors,
                "ok": n,
                "errors": self.errors,
                "wall_s": round(self.wall, 3),
                "throughput_rps": round(n / self.wall, 2) if self.wall > 0 else None,
                "p50_ms": ms(percentile(lat, 50)) if n else None,
                "p95_ms": ms(percentile(lat, 95)) if n else None,
                "p99_ms": ms(percentile(lat, 99)) if n else None,
                "mean_ms": ms(sum(lat) / n) if n else None,
                "min_ms": ms(lat[0]) if n else None,
                "max_ms": ms(lat[-1]) if n else None,
            }
        )
        rec.update(self.extra)
        if self.error_sample:
            rec["error_sample"] = self.error_sample
        return rec


# --------------------------------------------------------------------------- the harness


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.dialect = DIALECTS[args.dialect]
        u = urllib.parse.urlsplit(args.url)
        if u.scheme != "http" or not u.hostname:
            raise SystemExit("--url must be http://<loopback host>:<port>")
        check_loopback(u.hostname)
        self.host, self.port = u.hostname, u.port or 80
        self.root = u.path.rstrip("/")
        self.base = f"{self.root}/v2/{args.project}"
        self.headers = {
            "Accept": "application/json",
            "X-Auth-Token": args.token or f"{args.user}:{args.project}",
            "X-OpenStack-Manila-API-Version": args.api_version or self.dialect.default_version,
            "User-Agent": "lockstep-bench-loadgen/1",
        }
        self.headers.update(self.dialect.headers)
        self.admin = self.client()
        self.run_id = uuid.uuid4().hex[:8]
        self.share_type_id: str | None = None
        self.group_type_id: str | None = None
        self.seed_groups: list[str] = []
        self.share_group: str | None = None
        self.pending_shares: list[str] = []
        self.created_groups: list[str] = []  # everything we must clean up
        self.created_shares: list[str] = []
        self.server_info: dict[str, Any] = {}

    # ---- plumbing
    def client(self) -> Client:
        return Client(self.host, self.port, self.base, self.headers, self.args.timeout)

    def log(self, msg: str) -> None:
        if not self.args.quiet:
            print(f"[loadgen] {msg}", file=sys.stderr, flush=True)

    def gpath(self, suffix: str = "") -> str:
        return f"/{self.dialect.groups}{suffix}"

    def discover(self) -> None:
        # API version document (root, no project) -- informational only
        c = Client(self.host, self.port, self.root, {"Accept": "application/json"}, self.args.timeout)
        try:
            status, data, _ = c.request("GET", "/")
            if status in (200, 300):
                vers = json.loads(data).get("versions", [])
                v2 = [v for v in vers if str(v.get("id", "")).startswith("v2")]
                if v2:
                    self.server_info = {
                        "server_min_version": v2[0].get("min_version"),
                        "server_max_version": v2[0].get("version"),
                    }
        except (OSError, ValueError):
            pass
        finally:
            c.close()
        a = self.args
        self.share_type_id = a.share_type
        if not self.share_type_id:
            types = self.admin.json("GET", "/types").get("share_types", [])
            pick = [t for t in types if t.get("name") == "default"] or types
            self.share_type_id = pick[0]["id"] if pick else None
        if self.dialect.sends_group_type:
            self.group_type_id = a.share_group_type
            if not self.group_type_id:
                gts = self.admin.json("GET", "/share-group-types").get("share_group_types", [])
                pick = (
                    [t for t in gts if t.get("is_default")]
                    or [t for t in gts if t.get("name") == "default"]
                    or gts
                )
                self.group_type_id = pick[0]["id"] if pick else None
        self.log(
            f"target {a.url} dialect={self.dialect.name} project={a.project} "
            f"share_type={self.share_type_id} group_type={self.group_type_id} {self.server_info}"
        )

    # ---- bodies
    def group_body(self, name: str) -> dict[str, Any]:
        g: dict[str, Any] = {"name": name}
        if self.share_type_id:
            g["share_types"] = [self.share_type_id]
        if self.dialect.sends_group_type and self.group_type_id:
            g["share_group_type_id"] = self.group_type_id
        return {self.dialect.group_key: g}

    def share_body(self, name: str, group_id: str) -> dict[str, Any]:
        s: dict[str, Any] = {
            "name": name,
            "share_proto": "NFS",
            "size": 1,
            self.dialect.share_group_field: group_id,
        }
        if self.share_type_id:
            s["share_type"] = self.share_type_id
        return {"share": s}

    # ---- async state handling (untimed)
    def wait_status(self, kind: str, ids: list[str], want: str = "available") -> None:
        """Poll until every id has status `want` (kind: 'group' | 'share'). Raises on error/timeout."""
        if not ids:
            return
        path, key = (self.gpath("/"), self.dialect.group_key) if kind == "group" else ("/shares/", "share")
        deadline = time.monotonic() + self.args.wait_timeout
        todo = list(ids)
        t0 = time.monotonic()
        while todo:
            still = []
            for obj_id in todo:
                body = self.admin.json("GET", path + obj_id)
                st = body[key]["status"]
                if st == want:
                    continue
                if st.startswith("error"):
                    raise RuntimeError(f"{kind} {obj_id} went to status {st!r}")
                still.append(obj_id)
            todo = still
            if todo:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{len(todo)} {kind}s not {want} after {self.args.wait_timeout}s")
                time.sleep(0.2)
        self.log(f"  {len(ids)} {kind}(s) {want} after {time.monotonic() - t0:.2f}s (untimed)")

    def wait_gone(self, kind: str, ids: list[str]) -> list[str]:
        """Poll until every id is 404; returns the ids still present at the deadline."""
        path = self.gpath("/") if kind == "group" else "/shares/"
        key = self.dialect.group_key if kind == "group" else "share"
        deadline = time.monotonic() + self.args.wait_timeout
        todo = list(ids)
        t0 = time.monotonic()
        while todo and time.monotonic() < deadline:
            still = []
            for obj_id in todo:
                status, data, _ = self.admin.request("GET", path + obj_id)
                if status == 404:
                    continue
                if status == 200 and json.loads(data)[key]["status"].startswith("error"):
                    continue  # will not go away by itself; reported by the caller's cleanup
                still.append(obj_id)
            todo = still
            if todo:
                time.sleep(0.2)
        if ids:
            self.log(f"  {len(ids) - len(todo)}/{len(ids)} {kind}(s) gone after {time.monotonic() - t0:.2f}s")
        return todo

    def create_groups_untimed(self, n: int, tag: str) -> list[str]:
        ids = []
        for i in range(n):
            body = self.admin.json("POST", self.gpath(), self.group_body(f"bench-{self.run_id}-{tag}-{i}"))
            ids.append(body[self.dialect.group_key]["id"])
        self.created_groups.extend(ids)
        self.wait_status("group", ids)
        return ids

    def ensure_share_group(self) -> str:
        if self.share_group is None:
            self.share_group = self.create_groups_untimed(1, "sharehome")[0]
        return self.share_group

    # ---- closed loop core
    def run_phase(
        self,
        op: str,
        clients: int,
        make_request: Callable[[Client, int], tuple[str, str, Any]],
        items: int | None = None,
        on_ok: Callable[[int, bytes], None] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> PhaseResult:
        """Run `clients` threads in a closed loop.

        make_request(client, seq) -> (method, path, body). `items` bounds the number of
        requests (for workloads that consume a finite set, e.g. deletes); otherwise
        --requests / --duration bound it. Latency = one HTTP request/response.
        """
        a = self.args
        limit = a.requests if a.duration is None else a.max_requests
        if items is not None:
            limit = min(limit, items)
        limit = min(limit, a.max_requests, HARD_MAX_REQUESTS)
        duration = min(
            a.duration if a.duration is not None else a.max_duration, a.max_duration, HARD_MAX_DURATION
        )
        res = PhaseResult(op=op, clients=clients, extra=dict(extra or {}))
        lock = threading.Lock()
        counter = iter(range(limit))
        start = threading.Barrier(clients + 1)
        per_thread: list[list[float]] = [[] for _ in range(clients)]
        ok_status = (200, 201, 202, 204)
        reconnects = [0]
        conn_errors: list[str] = []

        def worker(idx: int) -> None:
            c = self.client()
            lat = per_thread[idx]
            try:
                c._connect()  # connection setup is not part of the measurement
            except OSError as e:
                conn_errors.append(str(e))
            start.wait()
            deadline = time.monotonic() + duration
            try:
                while time.monotonic() < deadline:
                    with lock:
                        seq = next(counter, None)
                    if seq is None:
                        break
                    method, path, body = make_request(c, seq)
                    try:
                        status, data, dt = c.request(method, path, body)
                    except OSError as e:
                        status, data, dt = -1, str(e).encode(), 0.0
                    if status in ok_status:
                        lat.append(dt)
                        if on_ok is not None:
                            on_ok(seq, data)
                    else:
                        with lock:
                            res.errors += 1
                            if not res.error_sample:
                                res.error_sample = f"{method} {path} -> {status}: {data[:200]!r}"
            finally:
                reconnects[0] += c.reconnects
                c.close()

        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
        for t in threads:
            t.start()
        start.wait()
        t0 = time.perf_counter()
        for t in threads:
            t.join()
        res.wall = time.perf_counter() - t0
        for lat in per_thread:
            res.latencies.extend(lat)
        if reconnects[0]:
            res.extra["reconnects"] = reconnects[0]
        if conn_errors:
            res.extra["connect_errors"] = len(conn_errors)
        return res

    # ---- workloads
    def wl_show(self, clients: int) -> list[PhaseResult]:
        need = self.args.seed_groups
        if len(self.seed_groups) < need:
            self.log(f"  seeding {need - len(self.seed_groups)} group(s) (untimed)")
            self.seed_groups += self.create_groups_untimed(need - len(self.seed_groups), "seed")
        ids = self.seed_groups[:need]
        return [
            self.run_phase(
                "group-show",
                clients,
                lambda c, i: ("GET", self.gpath("/" + ids[i % len(ids)]), None),
                extra={"seed_groups": len(ids)},
            )
        ]

    def wl_list_detail(self, clients: int) -> list[PhaseResult]:
        need = self.args.seed_groups
        if len(self.seed_groups) < need:
            self.log(f"  seeding {need - len(self.seed_groups)} group(s) (untimed)")
            self.seed_groups += self.create_groups_untimed(need - len(self.seed_groups), "seed")
        out = []
        for limit in self.args.list_limits:
            sizes: list[int] = []
            gk = self.dialect.groups_key

            def count(_seq: int, data: bytes, sizes: list[int] = sizes, gk: str = gk) -> None:
                if len(sizes) < 50:  # sample, parsing every body would cost client CPU
                    sizes.append(len(json.loads(data).get(gk, [])))

            path = self.gpath(f"/detail?limit={limit}")
            r = self.run_phase(
                f"group-list-detail-{limit}",
                clients,
                lambda c, i, p=path: ("GET", p, None),
                on_ok=count,
                extra={"list_limit": limit},
            )
            r.extra["items_per_response"] = max(sizes) if sizes else None
            out.append(r)
        return out

    def wl_create_delete_group(self, clients: int) -> list[PhaseResult]:
        made: dict[int, str] = {}
        gk = self.dialect.group_key
        lock = threading.Lock()

        def on_ok(seq: int, data: bytes) -> None:
            gid = json.loads(data)[gk]["id"]
            with lock:
                made[seq] = gid

        tag = f"cd{clients}"
        create = self.run_phase(
            "group-create",
            clients,
            lambda c, i: ("POST", self.gpath(), self.group_body(f"bench-{self.run_id}-{tag}-{i}")),
            on_ok=on_ok,
        )
        ids = [made[k] for k in sorted(made)]
        self.created_groups.extend(ids)
        self.wait_status("group", ids)
        delete = self.run_phase(
            "group-delete", clients, lambda c, i: ("DELETE", self.gpath("/" + ids[i]), None), items=len(ids)
        )
        # Only the groups the (time-bounded) delete phase got to can go away; waiting for all of
        # them would sit out --wait-timeout whenever the deletes were slower than the creates.
        deleted = ids[: len(delete.latencies) + delete.errors]
        left = self.wait_gone("group", deleted)
        self.created_groups = [g for g in self.created_groups if g not in set(deleted) - set(left)]
        return [create, delete]

    def wl_create_share(self, clients: int) -> list[PhaseResult]:
        gid = self.ensure_share_group()
        made: dict[int, str] = {}
        lock = threading.Lock()

        def on_ok(seq: int, data: bytes) -> None:
            with lock:
                made[seq] = json.loads(data)["share"]["id"]

        tag = f"s{clients}"
        r = self.run_phase(
            "share-create",
            clients,
            lambda c, i: ("POST", "/shares", self.share_body(f"bench-{self.run_id}-{tag}-{i}", gid)),
            on_ok=on_ok,
        )
        ids = [made[k] for k in sorted(made)]
        self.created_shares.extend(ids)
        self.pending_shares.extend(ids)
        self.wait_status("share", ids)
        return [r]

    def wl_delete_share(self, clients: int) -> list[PhaseResult]:
        gid = self.ensure_share_group()
        if not self.pending_shares:
            n = self.args.requests if self.args.duration is None else self.args.delete_pool
            self.log(f"  creating {n} share(s) to delete (untimed)")
            ids = []
            for i in range(n):
                body = self.admin.json(
                    "POST", "/shares", self.share_body(f"bench-{self.run_id}-d{clients}-{i}", gid)
                )
                ids.append(body["share"]["id"])
            self.created_shares.extend(ids)
            self.pending_shares.extend(ids)
            self.wait_status("share", ids)
        ids = self.pending_shares
        self.pending_shares = []
        q = f"?{self.dialect.share_group_field}={gid}"
        r = self.run_phase(
            "share-delete", clients, lambda c, i: ("DELETE", f"/shares/{ids[i]}{q}", None), items=len(ids)
        )
        deleted = ids[: len(r.latencies) + r.errors]
        left = self.wait_gone("share", deleted)
        gone = set(deleted) - set(left)
        self.created_shares = [s for s in self.created_shares if s not in gone]
        self.pending_shares = ids[len(deleted) :]
        return [r]

    WORKLOADS = {
        "show": wl_show,
        "list-detail": wl_list_detail,
        "create-delete-group": wl_create_delete_group,
        "create-share": wl_create_share,
        "delete-share": wl_delete_share,
    }

    def cleanup(self) -> None:
        if self.args.no_cleanup:
            self.log("cleanup skipped (--no-cleanup)")
            return
        if self.created_shares:
            self.log(f"cleanup: deleting {len(self.created_shares)} share(s)")
            gid = self.share_group
            for sid in self.created_shares:
                q = f"?{self.dialect.share_group_field}={gid}" if gid else ""
                self.admin.request("DELETE", f"/shares/{sid}{q}")
            left = self.wait_gone("share", self.created_shares)
            if left:
                self.log(f"cleanup: {len(left)} share(s) did not go away")
        if self.created_groups:
            self.log(f"cleanup: deleting {len(self.created_groups)} group(s)")
            for gid in self.created_groups:
                self.admin.request("DELETE", self.gpath("/" + gid))
            left = self.wait_gone("group", self.created_groups)
            if left:
                self.log(f"cleanup: {len(left)} group(s) did not go away")
        self.admin.close()


# --------------------------------------------------------------------------- output

COLS = [
    ("op", "operation", 26),
    ("clients", "clients", 7),
    ("ok", "ok", 7),
    ("errors", "err", 5),
    ("throughput_rps", "req/s", 9),
    ("p50_ms", "p50 ms", 9),
    ("p95_ms", "p95 ms", 9),
    ("p99_ms", "p99 ms", 9),
    ("max_ms", "max ms", 9),
]


def fmt_table(records: list[dict[str, Any]]) -> str:
    def cell(v: Any) -> str:
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.1f}" if v >= 100 else f"{v:.2f}"
        return str(v)

    lines = ["  ".join(h.rjust(w) if i else h.ljust(w) for i, (_, h, w) in enumerate(COLS))]
    lines.append("  ".join("-" * w for _, _, w in COLS))
    for r in records:
        lines.append(
            "  ".join(
                cell(r.get(k)).rjust(w) if i else cell(r.get(k)).ljust(w) for i, (k, _, w) in enumerate(COLS)
            )
        )
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:8787", help="endpoint root (loopback only)")
    p.add_argument("--dialect", choices=sorted(DIALECTS), default="manila")
    p.add_argument("--project", default="0123456789abcdef0123456789abcdef", help="project id (hex) in URLs")
    p.add_argument("--user", default="admin", help="user for the noauth token '<user>:<project>'")
    p.add_argument(
        "--token", default=None, help="X-Auth-Token to send instead of the noauth '<user>:<project>'"
    )
    p.add_argument(
        "--api-version", default=None, help="microversion header (default: 2.55 manila, 2.30 lockstep)"
    )
    p.add_argument(
        "--workloads",
        default="show,list-detail,create-delete-group",
        help=f"comma list of {','.join(Bench.WORKLOADS)}",
    )
    p.add_argument("--clients", default="1,8", help="comma list of concurrent client counts")
    p.add_argument("--requests", type=int, default=200, help="requests per (operation, client count)")
    p.add_argument("--duration", type=float, default=None, help="seconds per phase instead of --requests")
    p.add_argument("--max-requests", type=int, default=100_000, help="hard cap on requests per phase")
    p.add_argument("--max-duration", type=float, default=300.0, help="hard cap on seconds per phase")
    p.add_argument("--list-limits", default="100,1000", help="limits for list-detail")
    p.add_argument(
        "--seed-groups", type=int, default=20, help="groups created (untimed) for show/list-detail"
    )
    p.add_argument(
        "--delete-pool",
        type=int,
        default=200,
        help="shares pre-created for delete-share in --duration mode when none are left over",
    )
    p.add_argument("--share-type", default=None, help="share type id (default: discovered 'default')")
    p.add_argument("--share-group-type", default=None, help="share group type id (manila dialect)")
    p.add_argument("--timeout", type=float, default=60.0, help="per-request socket timeout (s)")
    p.add_argument("--wait-timeout", type=float, default=300.0, help="max wait for available/deleted (s)")
    p.add_argument(
        "--warmup", type=int, default=5, help="untimed GETs per client count before each phase set"
    )
    p.add_argument(
        "--label", default=None, help="free-form label stored in every JSON record (e.g. manila-23.0.1)"
    )
    p.add_argument("--out", default=None, help="append JSON lines here (default: print them to stdout)")
    p.add_argument("--no-cleanup", action="store_true", help="leave created objects behind")
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args(argv)
    a.clients_list = [int(x) for x in a.clients.split(",") if x.strip()]
    a.list_limits = [int(x) for x in a.list_limits.split(",") if x.strip()]
    a.workload_list = [w.strip() for w in a.workloads.split(",") if w.strip()]
    unknown = [w for w in a.workload_list if w not in Bench.WORKLOADS]
    if unknown:
        p.error(f"unknown workload(s) {unknown}; choose from {list(Bench.WORKLOADS)}")
    if any(c < 1 or c > 256 for c in a.clients_list):
        p.error("client counts must be 1..256")
    if a.requests < 1 or a.requests > HARD_MAX_REQUESTS:
        p.error(f"--requests must be 1..{HARD_MAX_REQUESTS}")
    if a.duration is not None and not (0 < a.duration <= HARD_MAX_DURATION):
        p.error(f"--duration must be in (0, {HARD_MAX_DURATION}]")
    return a


def main(argv: list[str]) -> int:
    a = parse_args(argv)
    bench = Bench(a)
    records: list[dict[str, Any]] = []
    out = open(a.out, "a") if a.out else None
    rc = 0
    try:
        bench.discover()
        base = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "run_id": bench.run_id,
            "label": a.label,
            "url": a.url,
            "dialect": a.dialect,
            "api_version": bench.headers["X-OpenStack-Manila-API-Version"],
            "mode": f"duration={a.duration}s" if a.duration is not None else f"requests={a.requests}",
        }
        base.update(bench.server_info)
        for wl in a.workload_list:
            for clients in a.clients_list:
                bench.log(f"workload {wl} clients={clients}")
                for _ in range(a.warmup):
                    bench.admin.request("GET", bench.gpath("/detail?limit=1"))
                for r in Bench.WORKLOADS[wl](bench, clients):
                    rec = r.record({**base, "workload": wl})
                    records.append(rec)
                    line = json.dumps(rec, sort_keys=False)
                    if out:
                        out.write(line + "\n")
                        out.flush()
                    bench.log(
                        f"  {rec['op']:<24} c={clients:<3} ok={rec['ok']:<6} err={rec['errors']:<4} "
                        f"{rec['throughput_rps']} req/s p50={rec['p50_ms']} p95={rec['p95_ms']} "
                        f"p99={rec['p99_ms']} ms"
                    )
                    if rec["errors"]:
                        rc = 1
                        bench.log(f"  errors: {rec.get('error_sample')}")
    except (ApiError, RuntimeError, OSError) as e:
        print(f"[loadgen] FAILED: {e}", file=sys.stderr)
        rc = 2
    finally:
        try:
            bench.cleanup()
        except (ApiError, RuntimeError, OSError) as e:
            print(f"[loadgen] cleanup failed: {e}", file=sys.stderr)
            rc = rc or 2
        if out:
            out.close()
    if records:
        print(fmt_table(records))
        if not a.out:
            print()
            for rec in records:
                print(json.dumps(rec))
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
