"""The command line in this process: `--version`, `--config` on either side of the subcommand, unknown
configuration keys, and the one-line errors of `db upgrade` (live `lockstep serve` start-up errors are in
tests/e2e/test_startup.py)."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from lockstep import cli, config


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("LOCKSTEP_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # a stray ./data/lockstep.toml must not be read


def exit_message(argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert isinstance(exc.value.code, str), exc.value.code
    return exc.value.code


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("lockstep ") and out.split()[1][0].isdigit(), out


@pytest.mark.parametrize("where", ["before", "after"])
def test_config_before_or_after_the_subcommand(where: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = tmp_path / f"data-{where}"
    path = tmp_path / "lockstep.toml"
    path.write_text(f'data_dir = "{data_dir}"\n')
    argv = ["--config", str(path), "db", "upgrade"] if where == "before" else ["db", "upgrade", "--config", str(path)]
    cli.main(argv)
    assert (data_dir / "lockstep.sqlite").exists()
    assert "database is up to date" in capsys.readouterr().out


def test_config_after_serve_is_read(tmp_path: Path) -> None:
    """`lockstep serve --config F` reads F (here: a port that is not a port, refused before anything starts)."""
    path = tmp_path / "lockstep.toml"
    path.write_text('listen = "127.0.0.1:notaport"\n')
    message = exit_message(["serve", "--config", str(path)])
    assert message.startswith("lockstep: listen must be host:port"), message


def test_unknown_config_key_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "lockstep.toml"
    path.write_text('listn = "127.0.0.1:9999"\ndata_dir = "x"\n')
    with pytest.raises(config.ConfigError, match="unknown key 'listn'"):
        config.load(path, env={})
    message = exit_message(["db", "upgrade", "--config", str(path)])
    assert message.startswith("lockstep: config file") and "'listn'" in message and "\n" not in message


def test_every_setting_is_a_known_key(tmp_path: Path) -> None:
    path = tmp_path / "lockstep.toml"
    path.write_text('listen = "127.0.0.1:9999"\nprocesses = 3\nworker = false\nbackends = ["a"]\n'
                    '[backend.a]\ndriver = "fake"\n[quota]\nshares = 5\n[keystone_authtoken]\nauth_url = "x"\n')
    settings = config.load(path, env={})
    assert settings.processes == 3 and not settings.worker and settings.backends[0].driver == "fake"


@pytest.mark.parametrize("value", ["-1", "many"])
def test_processes_must_be_a_count(value: str) -> None:
    with pytest.raises(config.ConfigError, match="processes must be"):
        config.load(env={"LOCKSTEP_PROCESSES": value})


def test_db_upgrade_on_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    os.environ["LOCKSTEP_DATA_DIR"] = str(tmp_path / "data")
    os.environ["LOCKSTEP_DATABASE_URL"] = "postgresql://postgres@127.0.0.1:1/nothing"
    message = exit_message(["db", "upgrade"])
    assert message.startswith("lockstep: cannot use the database postgresql://postgres@127.0.0.1:1/nothing"), message
    assert "\n" not in message and "LOCKSTEP_DATABASE_URL" in message


def test_db_upgrade_in_an_unusable_data_dir_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    os.environ["LOCKSTEP_DATA_DIR"] = str(blocker / "data")
    message = exit_message(["db", "upgrade"])
    assert message.startswith(f"lockstep: cannot write to the data directory {blocker / 'data'}"), message
    assert "LOCKSTEP_DATA_DIR" in message


def test_every_key_the_loader_reads_is_known() -> None:
    """A setting added to `load` without a key in `config.KEYS` would be refused as unknown."""
    tree = ast.parse(Path(config.__file__).read_text())
    picked = {str(node.args[0].value) for node in ast.walk(tree)
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "pick"
              and node.args and isinstance(node.args[0], ast.Constant)}
    assert picked and picked <= config.KEYS, sorted(picked - config.KEYS)
