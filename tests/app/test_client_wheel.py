"""The client's wheel served by the server: a fresh venv that installs it from there imports
`adamtune.client` and nothing of the service (no torch, FastAPI, SQLAlchemy, `app`, `optim`)."""

from __future__ import annotations

import subprocess
import tomllib
import venv
from pathlib import Path

import pytest

from app.client_wheel import EXTRAS
from tests.app.conftest import Api
from tests.conftest import ROOT

PROBE = """
import importlib.util, json
import adamtune.client, adamtune.integrations
found = {name: importlib.util.find_spec(name) is not None
         for name in ("torch", "fastapi", "sqlalchemy", "app", "optim", "frontend")}
missing = {}
for framework in ("lightning", "transformers"):
    try:
        importlib.import_module(f"adamtune.integrations.{framework}")
    except ModuleNotFoundError as exc:
        missing[framework] = exc.name
print(json.dumps({"study": hasattr(adamtune.client, "Study"), "found": found,
                  "missing": missing}))
"""


def test_an_unknown_wheel_name_is_a_404_naming_the_served_one(api: Api) -> None:
    wheel = api.get("/api/options").json()["client_wheel"]
    response = api.get("/client/adamtune-9.9-py3-none-any.whl")
    assert response.status_code == 404 and wheel.rsplit("/", 1)[1] in response.json()["detail"]


@pytest.mark.slow
def test_a_fresh_venv_installs_the_served_client_alone(api: Api, tmp_path: Path) -> None:
    wheel = api.get("/api/options").json()["client_wheel"]
    assert wheel.startswith("/client/adamtune_client-") and wheel.endswith("-py3-none-any.whl")
    response = api.get(wheel)
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    path = tmp_path / wheel.rsplit("/", 1)[1]
    path.write_bytes(response.content)

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [python, "-m", "pip", "install", "--no-index", "--no-deps", "-q", path],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    probe = subprocess.run(
        [python, "-c", PROBE], cwd=tmp_path, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == (
        '{"study": true, "found": {"torch": false, "fastapi": false, "sqlalchemy": false, '
        '"app": false, "optim": false, "frontend": false}, '
        '"missing": {"lightning": "lightning", "transformers": "transformers"}}'
    )  # the integrations ship, and need their framework only when imported
    top = subprocess.run(
        [python, "-m", "pip", "show", "-f", "adamtune-client"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    files = [line.strip() for line in top.stdout.splitlines() if line.startswith("  ")]
    assert {f.split("/")[0] for f in files} <= {"adamtune", "adamtune_client-0.1.0.dist-info"}


def test_the_wheels_extras_are_the_projects() -> None:
    """`adamtune-client[lightning]` installs what `adamtune[lightning]` does (and so for
    transformers): the wheel's metadata is written from app/client_wheel.py, not pyproject."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert EXTRAS == {name: extras[name] for name in EXTRAS}
