"""Where the processes of one host keep their Prometheus samples, so that one `/metrics` sums them all.

prometheus_client picks its multi-process mode from PROMETHEUS_MULTIPROC_DIR when it creates a metric,
so this module must not import it, and `prepare` must run before anything else does (cli.py calls it
first thing; the API and worker processes `serve` forks inherit the variable).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


def metrics_root(data_dir: Path) -> Path:
    return data_dir.resolve() / "metrics"


def prepare(data_dir: Path, role: str) -> Path:
    """`<data_dir>/metrics/<role>-<pid>`, fresh; directories of processes that are gone are removed.

    A directory per starting process (its children share it), so that a `lockstep worker` started next
    to `lockstep serve` on the same data directory, or a second worker, never wipes the samples of one
    still running, while `/metrics` (served by `serve`) sums them all. A process that is gone takes its
    counts with it at the next start: Prometheus reads that as a counter reset, as after any restart.
    """
    root = metrics_root(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    for old in root.iterdir():
        _, _, pid = old.name.rpartition("-")
        if old.is_dir() and (not pid.isdigit() or not _alive(int(pid))):
            shutil.rmtree(old, ignore_errors=True)
    path = root / f"{role}-{os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir()
    os.environ[ENV] = str(path)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def active_root() -> Path | None:
    """The directory whose role subdirectories `/metrics` sums, or None in single-process mode."""
    value = os.environ.get(ENV)
    return Path(value).parent if value else None
