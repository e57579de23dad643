"""The install an operator does: the wheel into a fresh virtualenv gives a working `lockstep` command
(migrations and all), the systemd units pass `systemd-analyze verify`, the example configuration loads."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from lockstep import config
from tests.support import free_port

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
SHIPPED_EXEC = "/opt/lockstep/bin/lockstep"


def run(*cmd: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(c) for c in cmd], env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"{cmd} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtualenv (no site packages) with the wheel built from a clean copy of the source installed.

    The copy keeps the build out of the work tree and proves the wheel needs nothing but what is tracked;
    dependencies come from the index pip is configured with (its cache makes this quick on a second run).
    """
    tmp = tmp_path_factory.mktemp("install")
    source = tmp / "lockstep"
    source.mkdir()
    shutil.copy(REPO / "pyproject.toml", source)
    shutil.copy(REPO / "README.md", source)
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp / "wheels", source)
    wheels = list((tmp / "wheels").glob("lockstep-*.whl"))
    assert len(wheels) == 1, wheels
    venv = tmp / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    # The tests' pip installs into the new environment (`--python`): no ensurepip run, same result.
    run(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "-q", wheels[0])
    yield venv


def clean_env(**extra: str) -> dict[str, str]:
    """No PYTHONPATH, no virtualenv of the tests', no LOCKSTEP_* of the caller."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LOCKSTEP_", "PYTHON", "VIRTUAL_ENV", "PROMETHEUS"))}
    env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    env.update(extra)
    return env


def test_the_wheel_installs_a_working_lockstep_command(installed: Path, tmp_path: Path) -> None:
    lockstep = installed / "bin" / "lockstep"
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert run(lockstep, "--version", env=clean_env(), cwd=tmp_path).stdout.strip() == f"lockstep {version}"
    where = run(installed / "bin" / "python", "-c", "import lockstep; print(lockstep.__file__)",
                env=clean_env(), cwd=tmp_path).stdout.strip()
    assert where.startswith(str(installed)), where  # the installed copy, not the source tree
    env = clean_env(LOCKSTEP_DATA_DIR=str(tmp_path / "data"), LOCKSTEP_BACKEND="fake",
                    LOCKSTEP_LISTEN=f"127.0.0.1:{free_port()}")
    unmigrated = run(lockstep, "doctor", env=env, cwd=tmp_path, check=False)
    assert unmigrated.returncode == 1 and "lockstep db upgrade" in unmigrated.stdout
    run(lockstep, "db", "upgrade", env=env, cwd=tmp_path)  # the packaged migrations
    doctor = run(lockstep, "doctor", env=env, cwd=tmp_path, check=False)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "[ ok ] database:" in doctor.stdout


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.fail("systemd-analyze is missing: run scripts/install-system-deps.sh (Debian package systemd)")
    return found


def test_systemd_units_verify(installed: Path, tmp_path: Path) -> None:
    """`systemd-analyze verify` with ExecStart pointed at the installed command (verify checks it exists);
    it exits 0 even on unknown keys or bad values, so any output fails the test."""
    analyze = systemd_analyze()
    units = tmp_path / "units"
    shutil.copytree(PACKAGING / "systemd", units)
    for unit in ("lockstep-serve.service", "lockstep-worker.service"):
        text = (units / unit).read_text()
        assert f"ExecStart={SHIPPED_EXEC} " in text
        (units / unit).write_text(text.replace(SHIPPED_EXEC, str(installed / "bin" / "lockstep")))
    env = clean_env(SYSTEMD_UNIT_PATH=f"{units}:")  # the trailing colon keeps the built-in search path
    for unit in ("lockstep-serve.service", "lockstep-worker.service"):
        result = run(analyze, "verify", unit, env=env, cwd=units, check=False)
        assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stdout + result.stderr
    # The worker's drop-in for btrfs/zfs was read (a misspelt key in it would have printed a warning).
    dropin = units / "lockstep-worker.service.d" / "root-storage.conf"
    dropin.write_text(dropin.read_text() + "NoSuchKey=1\n")
    result = run(analyze, "verify", "lockstep-worker.service", env=env, cwd=units, check=False)
    assert "NoSuchKey" in result.stdout + result.stderr


def test_example_production_configuration_loads() -> None:
    settings = config.load(PACKAGING / "lockstep.toml.example", env={})
    assert settings.auth == "keystone" and settings.keystone["auth_url"].startswith("https://")
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.worker is False and settings.log_format == "json"
    assert [b.driver for b in settings.backends] == ["btrfs"]
