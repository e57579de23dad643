#!/usr/bin/env python3
"""Lockstep's benchmark suite: `make bench` (full) and `make bench-quick` (`--quick`, under 5 minutes).

Sections (see docs/performance.md for what each table means):

1. api        API latency/throughput on the fake backend: SQLite and PostgreSQL, 1 and 2 API processes
              (and 4 on PostgreSQL)
2. scale      list/detail/filter/page on 10,000 groups / 100,000 shares / 20,000 cgsnapshots vs almost empty
3. snapshots  cgsnapshot and restore time on btrfs, posix and zfs; writer stalls
4. peer       OpenStack Manila (bench/manila_peer) vs Lockstep under the same bench/loadgen.py workload
5. raw        the raw backend snapshot next to the cgsnapshot (measured within section 3)
6. busy       show latency on btrfs while 300 consistency groups are being created (the worker is busy)

Writes docs/performance.md (keeping its hand-written section) and the raw figures as JSON in
bench/results/. Everything runs against 127.0.0.1; every load loop is bounded in count and time.
Needs root for the btrfs/zfs/posix backends (loop devices, mounts); they are skipped otherwise.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lsbench import api, busy, peer, report, scale, snapshots  # noqa: E402
from lsbench.common import ROOT, log  # noqa: E402

SECTIONS = ["api", "scale", "snapshots", "peer", "busy"]


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(f"interrupted by signal {signum}")  # unwinds every finally: servers, mounts, databases


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer combinations, shorter phases (under 5 minutes)")
    p.add_argument("--sections", default=",".join(SECTIONS), help=f"comma list of {','.join(SECTIONS)}")
    p.add_argument("--output", default=str(ROOT / "docs" / "performance.md"), help="Markdown file to regenerate")
    p.add_argument("--results-dir", default=str(ROOT / "bench" / "results"), help="where the JSON figures go")
    p.add_argument("--workdir", default=None, help="scratch directory (default: a new one under /var/tmp)")
    p.add_argument("--keep-workdir", action="store_true", help="keep logs and databases of the run")
    p.add_argument("--render", metavar="JSON", help="only regenerate the Markdown from a results JSON file")
    p.add_argument("--reuse", metavar="JSON", help="take the sections not run now from this earlier results file "
                   "(e.g. re-run only the peer: --sections peer --reuse bench/results/run-full-….json)")
    a = p.parse_args(argv)
    out_md = Path(a.output)
    if a.render:
        results = json.loads(Path(a.render).read_text())
        out_md.write_text(report.render(results, report.read_intro(out_md)))
        print(f"wrote {out_md}")
        return 0
    sections = [s.strip() for s in a.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        p.error(f"unknown sections {sorted(unknown)}")
    signal.signal(signal.SIGTERM, _terminate)
    mode = "quick" if a.quick else "full"
    workdir = Path(a.workdir) if a.workdir else Path(tempfile.mkdtemp(prefix="lockstep-bench-", dir="/var/tmp"))
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results: dict[str, Any] = {
        "mode": mode, "date": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()), "machine": report.machine(),
        "command": shlex.join([Path(sys.executable).name, "bench/run.py", *argv]), "errors": [],
    }
    if a.reuse:
        earlier = json.loads(Path(a.reuse).read_text())
        for section in SECTIONS:
            if section not in sections and section in earlier:
                results[section] = earlier[section]
        results["reused"] = f"sections {', '.join(s for s in SECTIONS if s not in sections)} from {a.reuse} " \
                            f"(run of {earlier.get('date')}, {earlier.get('seconds', 0):.0f} s)"
        results["errors"] = [e for e in earlier.get("errors", []) if e.split(":", 1)[0] not in sections]
    log(f"Lockstep benchmark suite, {mode} mode, sections {', '.join(sections)}; scratch {workdir}")
    log(f"machine: {results['machine']['cpu']}, {results['machine']['nproc']} CPUs, {results['machine']['memory']}, "
        f"kernel {results['machine']['kernel']}, commit {results['machine']['commit']}")
    runners = {
        "api": lambda: api.run(workdir, a.quick),
        "scale": lambda: scale.run(workdir, a.quick),
        "snapshots": lambda: snapshots.run(workdir, a.quick),
        "peer": lambda: peer.run(workdir / "peer", a.quick),
        "busy": lambda: busy.run(workdir, a.quick),
    }
    try:
        for n, section in enumerate(sections, 1):
            t0 = time.monotonic()
            log(f"=== section {n}/{len(sections)}: {section}")
            try:
                results[section] = runners[section]()
            except Exception as exc:  # one broken section must not lose the others' figures
                log(f"section {section} failed: {exc!r}")
                traceback.print_exc()
                results["errors"].append(f"{section}: {exc!r}"[:600])
                if section == "peer":
                    results["peer"] = {"error": repr(exc)[:400]}
            log(f"=== section {section} done in {time.monotonic() - t0:.0f} s")
    finally:
        results["seconds"] = time.monotonic() - started
        if "peer" in results and results["peer"].get("loadgen_args"):
            args = shlex.join(results["peer"]["loadgen_args"])
            results["loadgen_commands"] = [
                f"python3 bench/loadgen.py --url http://127.0.0.1:8787 --dialect manila {args}",
                f"python3 bench/loadgen.py --url http://127.0.0.1:<lockstep port> --dialect lockstep {args}"]
        res_dir = Path(a.results_dir)
        res_dir.mkdir(parents=True, exist_ok=True)
        res_json = res_dir / f"run-{mode}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
        res_json.write_text(json.dumps(results, indent=1, default=str))
        out_md.write_text(report.render(results, report.read_intro(out_md)))
        log(f"wrote {out_md} and {res_json}")
        if not a.keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print("Targets:")
    for row in report.evaluate(results):
        print(f"  {row[3].replace('**', ''):<5} {row[2]:>10}  {row[0]} — {row[1]}")
    log(f"done in {results['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
