# ruff: noqa: E402  (imports must follow the eventlet monkey patching)
"""Run OpenStack Manila (api + scheduler + share) in ONE process for benchmarking.

Run it with the Manila virtualenv's interpreter (see setup.sh):

    ~/.cache/lockstep-bench/manila-venv/bin/python bench/manila_peer/run_manila.py \
        --config-file ~/.cache/lockstep-bench/manila-run/manila.conf [--port 8787]

How it works
------------
* The eventlet backend is selected before anything else is imported
  (Manila's built-in WSGI server refuses to start without it).
* The config (written by setup.sh) uses ``transport_url = fake:/``: oslo.messaging's
  in-process driver, which only connects services living in the same process --
  hence one process for all of them.
* The three services are handed to a single oslo.service ``ServiceLauncher``
  (the same object Manila's own ``manila-*`` launchers use, minus the forking):
  ``WSGIService('osapi_share')``, ``Service.create(binary='manila-scheduler')`` and
  ``Service.create(binary='manila-share', host='<host>@dummy')``.
* Before the services start, a share type and a share group type (both named by
  ``default_share_type`` / ``default_share_group_type`` from the config,
  ``driver_handles_share_servers=False``) are created if missing.
* A watcher polls ``GET /v2/{project}/scheduler-stats/pools`` until the scheduler
  knows the dummy backend's pool, then prints a line starting with ``MANILA READY``
  (and writes ``<state_path>/../ready``). SIGTERM/SIGINT stop everything.
"""

from __future__ import annotations

import os

# Must happen before oslo/manila imports: select the eventlet backend and monkey patch.
os.environ["OS_MANILA_DISABLE_EVENTLET_PATCHING"] = "0"
from manila import monkey_patch

monkey_patch.patch("eventlet")

import argparse
import http.client
import json
import sys
import threading  # green after monkey patching
import time

from manila import context as manila_context
from manila import (
    exception,
    rpc,
    service,
    utils,
    version,
)
from manila.common import config as manila_config  # registers global opts
from oslo_config import cfg
from oslo_log import log
from oslo_service import service as oslo_service

CONF = cfg.CONF
LOG = log.getLogger("lockstep_bench.run_manila")

READY_PROJECT = "0123456789abcdef0123456789abcdef"


def say(msg: str) -> None:
    print(f"[run_manila] {msg}", flush=True)


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=None, help="API port (overrides osapi_share_listen_port)")
    p.add_argument(
        "--ready-timeout",
        type=float,
        default=120.0,
        help="seconds to wait for the backend pool to reach the scheduler",
    )
    p.add_argument("--no-types", action="store_true", help="do not create default share/share-group types")
    return p.parse_known_args(argv)


def ensure_types() -> None:
    """Create the default share type and share group type if they do not exist."""
    from manila.share import share_types
    from manila.share_group import share_group_types

    ctxt = manila_context.get_admin_context()
    st_name = CONF.default_share_type or "default"
    sgt_name = CONF.default_share_group_type or "default"
    try:
        st = share_types.get_share_type_by_name(ctxt, st_name)
        say(f"share type {st_name!r} exists: {st['id']}")
    except exception.ShareTypeNotFoundByName:
        share_types.create(
            ctxt,
            st_name,
            extra_specs={"driver_handles_share_servers": "False", "snapshot_support": "True"},
            description="lockstep bench default (DHSS=False)",
        )
        st = share_types.get_share_type_by_name(ctxt, st_name)
        say(f"created share type {st_name!r}: {st['id']}")
    try:
        sgt = share_group_types.get_by_name(ctxt, sgt_name)
        say(f"share group type {sgt_name!r} exists: {sgt['id']}")
    except exception.ShareGroupTypeNotFoundByName:
        share_group_types.create(ctxt, sgt_name, [st["id"]], group_specs={})
        sgt = share_group_types.get_by_name(ctxt, sgt_name)
        say(f"created share group type {sgt_name!r}: {sgt['id']} (share types: {st['id']})")


def _get_json(port: int, path: str) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(
            "GET",
            path,
            headers={
                "X-Auth-Token": f"admin:{READY_PROJECT}",
                "X-OpenStack-Manila-API-Version": "2.55",
                "Accept": "application/json",
            },
        )
        r = conn.getresponse()
        body = r.read()
        return r.status, (json.loads(body) if body else {})
    finally:
        conn.close()


def publish_capabilities(share_services: list) -> bool:
    """Push the share backends' capabilities to the scheduler now; True if all succeeded.

    Manila only does this from periodic tasks whose spacing is fixed at import time
    (periodic_interval default 60 s, plus a random initial delay), and the scheduler's
    own start-up request can race the share service's RPC server. Calling the share
    manager's RPC handler directly makes the peer usable within seconds.
    """
    ctxt = manila_context.get_admin_context()
    ok = True
    for svc in share_services:
        try:
            svc.manager.publish_service_capabilities(ctxt)
        except Exception as e:  # driver not initialised yet, etc.: retried by the caller
            LOG.debug("publish_service_capabilities(%s) failed: %s", svc.host, e)
            ok = False
    return ok


def watch_ready(port: int, timeout: float, ready_file: str, scheduler, share_services: list) -> None:
    """Print MANILA READY once the API answers and the scheduler knows every backend pool.

    Note: the scheduler caches its host map on the first pools query
    (``GET scheduler-stats/pools`` uses cached=True), so the API is only asked for
    pools after the scheduler has received the capabilities -- asking earlier would
    cache an empty pool list until the next scheduling request.
    """
    t0 = time.monotonic()
    last = "not started"
    want_hosts = {svc.host for svc in share_services}
    while time.monotonic() - t0 < timeout:
        try:
            if not publish_capabilities(share_services):
                last = "share driver not initialised yet"
            else:
                known = set(scheduler.manager.driver.host_manager.service_states)
                if not want_hosts <= known:
                    last = f"scheduler has capabilities for {sorted(known)}, waiting for {sorted(want_hosts)}"
                else:
                    status, body = _get_json(port, f"/v2/{READY_PROJECT}/scheduler-stats/pools")
                    pools = body.get("pools", []) if status == 200 else []
                    if pools:
                        names = ", ".join(p.get("name", "?") for p in pools)
                        with open(ready_file, "w") as f:
                            f.write(f"http://127.0.0.1:{port}\n")
                        say(
                            f"MANILA READY http://127.0.0.1:{port} (pools: {names}; "
                            f"{time.monotonic() - t0:.1f}s after launch; manila {version.version_string()})"
                        )
                        return
                    last = f"HTTP {status}, no pools yet"
        except Exception as e:
            last = f"{type(e).__name__}: {e}"
        time.sleep(0.5)
    say(f"NOT READY after {timeout:.0f}s (last: {last}); see the log file")


def main(argv: list[str]) -> int:
    args, rest = parse_args(argv)
    log.register_options(CONF)
    CONF(rest, project="manila", version=version.version_string())
    if args.port is not None:
        CONF.set_override("osapi_share_listen_port", args.port)
    manila_config.verify_share_protocols()
    manila_config.set_lib_defaults()
    log.setup(CONF, "manila")
    utils.monkey_patch()

    port = CONF.osapi_share_listen_port
    rpc.init(CONF)  # registers transport_url and builds the (fake) transport shared by all services
    say(
        f"manila {version.version_string()}, transport={CONF.transport_url}, auth={CONF.auth_strategy}, "
        f"backends={CONF.enabled_share_backends}, log={CONF.log_file or 'stderr'}"
    )
    if not (CONF.transport_url or "").startswith("fake:"):
        say("WARNING: transport_url is not fake:/ -- the in-process services will not see each other")

    if not args.no_types:
        ensure_types()

    run_dir = os.path.dirname(os.path.abspath(CONF.state_path))
    ready_file = os.path.join(run_dir, "ready")
    if os.path.exists(ready_file):
        os.unlink(ready_file)

    launcher = oslo_service.ServiceLauncher(CONF, restart_method="mutate")
    api = service.WSGIService("osapi_share")
    launcher.launch_service(api)
    scheduler = service.Service.create(binary="manila-scheduler")
    launcher.launch_service(scheduler)
    share_services = []
    for backend in CONF.enabled_share_backends or []:
        share = service.Service.create(
            host=f"{CONF.host}@{backend}", service_name=backend, binary="manila-share", coordination=True
        )
        launcher.launch_service(share)
        share_services.append(share)
    say(f"launched api (127.0.0.1:{port}), scheduler, share({', '.join(CONF.enabled_share_backends or [])})")

    threading.Thread(
        target=watch_ready,
        args=(port, args.ready_timeout, ready_file, scheduler, share_services),
        daemon=True,
    ).start()
    try:
        launcher.wait()
    except KeyboardInterrupt:
        launcher.stop()
    finally:
        if os.path.exists(ready_file):
            os.unlink(ready_file)
    say("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
