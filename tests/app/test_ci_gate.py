"""Under CI a missing browser or tool fails the run; elsewhere the test skips with its reason."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ci import in_ci, missing
from tests.conftest import ROOT


@pytest.mark.parametrize("value", ["true", "1", "yes", "TRUE"])
def test_under_ci_a_missing_thing_fails(value: str) -> None:
    assert in_ci({"CI": value})
    with pytest.raises(pytest.fail.Exception, match="no chromium at /x; CI is set"):
        missing("no chromium at /x", {"CI": value})


@pytest.mark.parametrize("environ", [{}, {"CI": ""}, {"CI": "0"}, {"CI": "false"}])
def test_elsewhere_a_missing_thing_skips_with_its_reason(environ: dict[str, str]) -> None:
    assert not in_ci(environ)
    with pytest.raises(pytest.skip.Exception, match=r"^no chromium at /x$"):
        missing("no chromium at /x", environ)


USES_BROWSER = "def test_needs_a_browser(browser):\n    pass\n"


@pytest.mark.parametrize("ci", [True, False], ids=["ci", "local"])
def test_the_browser_fixture_fails_under_ci_without_chromium(tmp_path: Path, ci: bool) -> None:
    """The real fixture (tests/e2e/conftest.py, loaded as a plugin) on a chromium path that
    does not exist, in a pytest of its own."""
    (tmp_path / "test_uses_browser.py").write_text(USES_BROWSER)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env |= {"ADAMTUNE_E2E_CHROMIUM": str(tmp_path / "no-chromium"), "PYTHONPATH": str(ROOT)}
    if ci:
        env["CI"] = "true"
    plugins = ["-p", "tests.e2e.conftest", "-p", "no:cacheprovider"]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", *plugins],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = run.stdout + run.stderr
    assert f"no chromium at {tmp_path / 'no-chromium'}" in output, output
    if ci:
        assert run.returncode == 1 and "1 error" in output, output
        assert "CI is set" in output, output
    else:
        assert run.returncode == 0 and "1 skipped" in output, output
