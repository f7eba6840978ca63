"""Every third-party module the package imports is installed by `pip install adamtune` alone:
declared in pyproject.toml's dependencies or pulled in by one of them. The development venv has
more (pytest, rich...), so a missing declaration passes every other test here and fails only in
the Docker image (as markdown-it-py once did)."""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import sys
import tomllib

from tests.conftest import ROOT

PACKAGES = ("app", "optim", "adamtune")
TEST_HELPERS = {"optim/testing.py"}  # the task contract for plugin authors' own test suites


def imported_top_level_modules() -> dict[str, str]:
    """Third-party top-level module -> a file that imports it."""
    found: dict[str, str] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative in TEST_HELPERS:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in PACKAGES:
                        found.setdefault(top, relative)
    return found


def requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def installed_by_the_dependencies() -> set[str]:
    """The declared runtime dependencies and everything they require (extras left out)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    todo = [requirement_name(r) for r in pyproject["project"]["dependencies"]]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        try:
            requirements = metadata.requires(name) or []
        except metadata.PackageNotFoundError:  # its marker left it out here (python_version...)
            continue
        seen.add(name)
        for requirement in requirements:
            if "extra ==" not in requirement:
                todo.append(requirement_name(requirement))
    return seen


def test_every_imported_module_is_installed_by_the_declared_dependencies() -> None:
    installed = installed_by_the_dependencies()
    distributions = metadata.packages_distributions()
    missing = {
        module: (where, distributions.get(module))
        for module, where in imported_top_level_modules().items()
        if not any(d.lower().replace("_", "-") in installed for d in distributions.get(module, []))
    }
    assert missing == {}, f"imported but not declared in pyproject.toml: {missing}"
