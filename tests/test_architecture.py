"""The import rules of docs/architecture.md, checked by walking every module's imports."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = (
    "core",
    "collectors",
    "intelligence",
    "aggregation",
    "checkpoints",
    "exports",
    "flows",
    "sandbox",
    "service",
)
# What each product package may import of the others (core is open to all; flows and service, the two
# entry points, may import everything).
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "collectors": {"core"},
    "intelligence": {"core", "collectors"},
    "aggregation": {"core", "collectors", "intelligence"},
    "checkpoints": {"core"},
    "exports": {"core"},
    "sandbox": {"core"},
    "flows": set(PACKAGES) | {"prefect"},
    "service": set(PACKAGES) | {"prefect"},
}


def _modules(top: str) -> Iterator[Path]:
    yield from sorted((REPO / top).rglob("*.py"))


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (line, dotted name) of every absolute import in `path`, names imported from a module included."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            yield from ((node.lineno, f"{node.module}.{a.name}") for a in node.names)


def _is_private(part: str) -> bool:
    return part.startswith("_") and not part.startswith("__")


def private_imports(owner: str, path: Path, root: Path = REPO) -> list[str]:
    """Give the imports in `path` (of package `owner`) that reach into another package's private module."""
    found = []
    for line, name in _imports(path):
        parts = name.split(".")
        if parts[0] in PACKAGES and parts[0] != owner and any(map(_is_private, parts[1:])):
            found.append(f"{path.relative_to(root)}:{line} imports {name}")
    return found


def test_private_imports_are_found(tmp_path: Path) -> None:
    """The walker itself: a private module of another package is caught, one's own and public ones are not."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from intelligence._sql import duration_sql\nfrom exports._sql import lit\nimport core.sql\n"
        "from collectors import collect_workspace\n"
    )
    assert private_imports("exports", sample, tmp_path) == [
        "sample.py:1 imports intelligence._sql",
        "sample.py:1 imports intelligence._sql.duration_sql",
    ]


@pytest.mark.parametrize("owner", [*PACKAGES, "benchmarks"])
def test_no_package_imports_another_packages_private_module(owner: str) -> None:
    found = [hit for path in _modules(owner) for hit in private_imports(owner, path)]
    assert found == []


def test_tests_reach_only_the_private_modules_of_the_package_they_mirror() -> None:
    """tests/<pkg>/ may test <pkg>'s private helpers (white-box); any other package only through its API."""
    found = []
    for path in _modules("tests"):
        rel = path.relative_to(REPO / "tests").parts
        mirrored = rel[0] if len(rel) > 1 else "tests"
        found += private_imports(mirrored, path)
    assert found == []


@pytest.mark.parametrize("owner", sorted(ALLOWED))
def test_each_package_imports_only_the_layers_below_it(owner: str) -> None:
    """Imports go one way (core at the bottom, flows at the top); no layer is the hidden base of another."""
    found = []
    for path in _modules(owner):
        for line, name in _imports(path):
            top = name.split(".")[0]
            if top != owner and (top in PACKAGES or top == "prefect") and top not in ALLOWED[owner]:
                found.append(f"{path.relative_to(REPO)}:{line} imports {name}")
    assert found == []
