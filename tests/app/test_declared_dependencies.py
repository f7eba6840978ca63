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
# the framework integrations: each imports its framework, installed by the extra of its name
INTEGRATIONS = {"adamtune/integrations/lightning.py": "lightning",
                "adamtune/integrations/transformers.py": "transformers"}  # fmt: skip


def imported_top_level_modules(only: str | None = None) -> dict[str, str]:
    """Third-party top-level module -> a file that imports it (of every file but the test
    helpers and the integrations, or of `only`)."""
    found: dict[str, str] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if (relative != only) if only else (relative in TEST_HELPERS | set(INTEGRATIONS)):
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


def installed_by_the_dependencies(extra: str | None = None) -> set[str]:
    """The declared runtime dependencies (or an extra's) and everything they require (their
    own extras left out)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["optional-dependencies"][extra] if extra else project["dependencies"]
    todo = [requirement_name(r) for r in declared]
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


def test_each_integration_imports_only_what_its_extra_installs() -> None:
    """`pip install "adamtune[lightning]"` is enough for adamtune.integrations.lightning (and
    the same for transformers); torch, which both frameworks require, comes with them."""
    distributions = metadata.packages_distributions()
    for path, extra in INTEGRATIONS.items():
        installed = installed_by_the_dependencies(extra)
        imported = imported_top_level_modules(only=path)
        assert extra in imported, f"{path} does not import {extra}"
        missing = {
            module: distributions.get(module)
            for module in imported
            if not any(d.lower().replace("_", "-") in installed for d in distributions[module])
        }
        assert missing == {}, f"{path} imports what the {extra} extra does not install: {missing}"
