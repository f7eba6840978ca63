"""What a test does when something it needs is missing (a browser, a tool, a database): skip
with the reason on a developer's machine, fail under CI, where a skip would pass silently."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NoReturn

import pytest


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """CI set to anything but empty, 0 or false (GitHub Actions and most others set CI=true)."""
    environ = os.environ if environ is None else environ
    return environ.get("CI", "").strip().lower() not in ("", "0", "false")


def missing(reason: str, environ: Mapping[str, str] | None = None) -> NoReturn:
    """Skip the test for `reason`; under CI, fail it with the reason instead."""
    if in_ci(environ):
        pytest.fail(f"{reason}; CI is set, so these tests must run", pytrace=False)
    pytest.skip(reason)
