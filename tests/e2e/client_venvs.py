"""The OpenStack clients, installed once per requirements file into cached venvs of their own.

A venv is keyed by the hash of its requirements file, under `LOCKSTEP_TEST_CACHE` (default
~/.cache/lockstep-tests), so a changed pin makes a new one and an unchanged one is never reinstalled. It
is usable only once `.complete` is written; an install that died half-way is thrown away and redone.
pip's own output goes to the terminal (pytest's capture is suspended for it), so a first run in CI
shows what it downloads instead of sitting silent for a minute.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

CACHE = Path(os.environ.get("LOCKSTEP_TEST_CACHE", Path.home() / ".cache" / "lockstep-tests"))
INSTALL_TIMEOUT = 900  # seconds for one `pip install -r`: generous for a cold cache on a slow mirror


@contextlib.contextmanager
def _terminal(config: pytest.Config) -> Iterator[None]:
    """pytest's output capture suspended, so that a subprocess writes to the real stdout/stderr."""
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        yield
        return
    with capture.global_and_fixture_disabled():
        yield


def client_venv(name: str, requirements: Path, config: pytest.Config) -> Path:
    """The venv with `requirements` installed: made on first use, then reused."""
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    venv = CACHE / f"{name}-{digest}"
    marker = venv / ".complete"
    if marker.exists():
        return venv
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs at once install it once
        if marker.exists():
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        with _terminal(config):
            print(f"\n==> installing {requirements.name} into {venv} (once per cache)", flush=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
            subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
                            "--progress-bar", "off", "-r", str(requirements)], check=True, timeout=INSTALL_TIMEOUT)
            print(f"==> {venv.name} ready", flush=True)
        marker.write_text(requirements.read_text())
    return venv
