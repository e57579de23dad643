"""Dependencies point one way: domain <- service <- api, with adapters and bootstrap outside.

`service/` reaches storage only through its own interfaces (`service.ports`, `service.unit_of_work`),
`api/` knows neither the adapters nor how the application is assembled, and `domain/` imports
nothing of ours outside itself. Read from the source with `ast`, so that an import inside a
function or under TYPE_CHECKING counts too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "lockstep"

def imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every module name the file imports, with its line."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
            for alias in node.names:  # `from lockstep import bootstrap` names a module too
                yield node.lineno, f"{node.module}.{alias.name}"
        elif isinstance(node, ast.ImportFrom):
            raise AssertionError(f"{path}:{node.lineno}: use absolute imports (the checks below read them)")


def _is(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def violations(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in files:
        relative = path.relative_to(SRC).as_posix()
        for line, name in imports(path):
            if any(_is(name, bad) for bad in forbidden):
                found.append(f"{relative}:{line} imports {name}")
    return sorted(set(found))


def test_service_layer_knows_no_sql_adapters_or_bootstrap() -> None:
    files = sorted((SRC / "service").rglob("*.py"))
    assert files
    assert violations(files, ("sqlalchemy", "lockstep.adapters", "lockstep.bootstrap")) == []


def test_api_knows_no_sql_adapters_or_bootstrap() -> None:
    files = sorted((SRC / "api").rglob("*.py"))
    assert files
    assert violations(files, ("sqlalchemy", "lockstep.adapters", "lockstep.bootstrap")) == []


def test_domain_imports_nothing_of_ours_outside_domain() -> None:
    files = sorted((SRC / "domain").rglob("*.py"))
    assert files
    found = [f"{p.relative_to(SRC).as_posix()}:{line} imports {name}"
             for p in files for line, name in imports(p)
             if _is(name, "lockstep") and not _is(name, "lockstep.domain")]
    assert found == []


def test_the_checks_see_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from sqlalchemy import Engine\n"
                      "def f() -> None:\n    from lockstep import bootstrap\n")
    names = {name for _, name in imports(module)}
    assert "sqlalchemy" in names and "lockstep.bootstrap" in names
