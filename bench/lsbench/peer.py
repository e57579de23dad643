"""Section 4: the same loadgen workload against OpenStack Manila (bench/manila_peer) and against Lockstep."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from lsbench.common import BENCH, NEVER_FULL_BACKEND, LockstepServer, log, pg_database, running

CACHE = Path(os.environ.get("LOCKSTEP_BENCH_CACHE", str(Path.home() / ".cache" / "lockstep-bench")))
VENV = Path(os.environ.get("MANILA_VENV", str(CACHE / "manila-venv")))
RUN = Path(os.environ.get("MANILA_RUN_DIR", str(CACHE / "manila-run")))
PEER = BENCH / "manila_peer"
SHARED_OPS = ["group-show", "group-list-detail-100", "group-list-detail-1000", "group-create", "group-delete",
              "share-create", "share-delete"]


def venv_ready() -> bool:
    py = VENV / "bin" / "python"
    return py.exists() and subprocess.run([str(py), "-c", "import manila, psycopg2"],
                                          capture_output=True).returncode == 0


def loadgen_args(quick: bool) -> list[str]:
    # --no-cleanup: both servers' databases are dropped right after the run
    if quick:
        return ["--workloads", "show,list-detail,create-delete-group,create-share,delete-share", "--clients", "1,8",
                "--duration", "2", "--max-requests", "60", "--seed-groups", "100", "--list-limits", "100",
                "--warmup", "3", "--no-cleanup"]
    return ["--workloads", "show,list-detail,create-delete-group,create-share,delete-share", "--clients", "1,8",
            "--duration", "5", "--max-requests", "3000", "--seed-groups", "1000", "--list-limits", "100,1000",
            "--warmup", "5", "--no-cleanup"]


def run_loadgen(url: str, dialect: str, label: str, args: list[str], out: Path, timeout: float) -> list[dict[str, Any]]:
    cmd = [sys.executable, str(BENCH / "loadgen.py"), "--url", url, "--dialect", dialect, "--label", label,
           "--out", str(out), *args]
    log(f"  $ {' '.join(cmd[1:])}")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    assert proc.stderr is not None
    for line in proc.stderr:  # loadgen's progress lines
        line = line.rstrip()
        if line and ("req/s" in line or "FAILED" in line or "workload" in line or "seeding" in line):
            log(f"    {line}")
        if time.monotonic() > deadline:
            proc.kill()
            log("    loadgen exceeded its time budget; killed")
            break
    proc.wait(60)
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


@contextlib.contextmanager
def manila() -> Any:
    """setup.sh (idempotent, fresh database) -> run_manila.py -> teardown.sh (always)."""
    log("peer: bench/manila_peer/setup.sh")
    subprocess.run(["bash", str(PEER / "setup.sh")], check=True, timeout=900,
                   stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    port = int((RUN / "port").read_text().strip()) if (RUN / "port").exists() else 8787
    stdout_log = RUN / "log" / "stdout.log"
    try:
        with open(stdout_log, "w") as fh:
            proc = subprocess.Popen([str(VENV / "bin" / "python"), "-W", "ignore::DeprecationWarning",
                                     str(PEER / "run_manila.py"), "--config-file", str(RUN / "manila.conf")],
                                    stdout=fh, stderr=subprocess.STDOUT)
        (RUN / "pid").write_text(str(proc.pid))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            text = stdout_log.read_text(errors="replace")
            if "MANILA READY" in text:
                break
            if "NOT READY" in text or proc.poll() is not None:
                raise RuntimeError(f"Manila failed to start: {text[-2000:]}")
            time.sleep(0.5)
        else:
            raise RuntimeError("Manila was not ready within 120 s")
        version = subprocess.run([str(VENV / "bin" / "python"), "-c",
                                  "import importlib.metadata as m; print(m.version('manila'))"],
                                 capture_output=True, text=True).stdout.strip()
        log(f"peer: Manila {version} ready on 127.0.0.1:{port} (pid {proc.pid})")
        yield f"http://127.0.0.1:{port}", version
    finally:
        subprocess.run(["bash", str(PEER / "teardown.sh")], timeout=120, stdout=subprocess.DEVNULL,
                       stderr=subprocess.STDOUT)
        log("peer: teardown.sh done (Manila stopped, manila_bench dropped)")


def run(workdir: Path, quick: bool) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    args = loadgen_args(quick)
    result: dict[str, Any] = {"loadgen_args": args}
    if not venv_ready():
        if quick:
            msg = ("the Manila virtualenv is not installed; run `bench/manila_peer/setup.sh` once (~2 min, "
                   "pip install manila) or `make bench` (full mode installs it), then re-run")
            log(f"peer: skipped: {msg}")
            result["skipped"] = msg
            return result
        log("peer: installing the Manila virtualenv (setup.sh, ~2 min)")
    budget = 400 if quick else 1500
    with manila() as (url, version):
        result["manila_version"] = version
        result["manila"] = run_loadgen(url, "manila", f"manila-{version}", args, workdir / "manila.jsonl", budget)
    # Lockstep under the same workload: PostgreSQL (as Manila), fake backend, served as `make run` serves
    # (one API process per core and a worker process).
    with pg_database("peer") as db_url:
        # A pool that never fills, as Manila's DummyDriver's: the fake backend's default 1,000 GiB (thick) ran
        # out during share-create at 8 clients once Lockstep created more than 1,000 shares in a phase.
        server = LockstepServer(workdir / "lockstep", db_url, backend="fake", processes=None,
                                config_text=NEVER_FULL_BACKEND)
        server.upgrade()
        with running(server):
            log(f"peer: Lockstep on {server.url} (PostgreSQL, fake backend, default processes)")
            result["lockstep"] = run_loadgen(server.url, "lockstep", "lockstep", args, workdir / "lockstep.jsonl",
                                             budget)
    return result
