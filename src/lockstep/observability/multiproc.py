"""Where the processes of one host keep their Prometheus samples, so that one `/metrics` sums them all.

prometheus_client picks its multi-process mode from PROMETHEUS_MULTIPROC_DIR when it creates a metric,
so this module must not import it, and `prepare` must run before anything else does (cli.py calls it
first thing; uvicorn's workers and the worker subprocess inherit the variable).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


def metrics_root(data_dir: Path) -> Path:
    return data_dir.resolve() / "metrics"


def prepare(data_dir: Path, role: str) -> Path:
    """`<data_dir>/metrics/<role>`, emptied: samples of processes from an earlier start are gone.

    `serve` and `worker` have a directory each, so that restarting one does not wipe the other's
    samples while `/metrics` (served by `serve`) still sums both.
    """
    path = metrics_root(data_dir) / role
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    os.environ[ENV] = str(path)
    return path


def active_root() -> Path | None:
    """The directory whose role subdirectories `/metrics` sums, or None in single-process mode."""
    value = os.environ.get(ENV)
    return Path(value).parent if value else None
