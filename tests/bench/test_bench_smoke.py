"""Every benchmark script runs, at the tiniest sizes its flags allow, in `make test`.

Why: benchmarks are run by hand, rarely, so they rot silently (bench/service_overhead.py imported
a function removed months before; bench/epoch_overhead.py read an attribute the worker no longer
has). Each script here runs as a subprocess, as `make bench` runs it, must exit 0 and write the
JSON keys its docs/BENCHMARKS.md section reads. Scripts that compare two sides also check that
both ran the same work and exit 1 when they did not: the smoke run asserts their `valid` key.
The figures of these runs mean nothing; no timing is asserted.

optuna-dashboard (the `[bench]` extra) is not installed for tests: dashboard_reads and overload
run adamtune's side alone (`--servers adamtune`), the cheaper way (no extra install, and no
waits for optuna-dashboard's 10 s trial cache).
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import ROOT, _admin_connection

BENCH = ROOT / "bench"
# name -> (arguments besides --json ({tmp}: the test's folder), JSON keys the report must hold,
# slow?)
SMOKE: dict[str, tuple[list[str], set[str], bool]] = {
    "adam_step": (["--smoke"], {"us_per_step", "max_param_gap", "valid"}, False),
    "storage_writes": (["--smoke"], {"runs", "ratios", "fsync_ms", "valid"}, False),
    # no CUDA here: the CPU side runs and the report says the GPU side was skipped, and why
    "gpu": (
        ["--repeats", "1", "--tasks", "rosenbrock,logreg_breast_cancer"],
        {"runs", "gpu_skipped", "tolerance", "valid"},
        False,
    ),
    "epoch_overhead": (
        ["--repeats", "1", "--trials", "2", "--epochs", "2"],
        {"service_ms", "memory_ms", "reports_stored", "valid"},
        False,
    ),
    "service_overhead": (["--smoke"], {"runs", "ratios", "outcomes_matched", "valid"}, True),
    "dashboard_reads": (["--smoke"], {"rounds", "rss_mb", "same_trials", "valid"}, True),
    "worker_scaling": (
        ["--repeats", "1", "--trials", "2", "--epochs", "1", "--task", "rosenbrock"],
        {"runs", "speedups", "valid"},
        True,
    ),
    "memory": (
        [
            "--trials",
            "1",
            "--epochs",
            "1",
            "--task",
            "rosenbrock",
            "--interval",
            "0.2",
            "--status-every",
            "0.2",
        ],
        {"runs"},
        True,
    ),
    "curves_build": (["--repeats", "1", "--sizes", "5"], {"runs"}, True),
    "first_view": (["--smoke"], {"runs", "expected", "valid"}, True),
    "live_latency": (
        [
            "--repeats",
            "1",
            "--trials",
            "1",
            "--epochs",
            "3",
            "--task",
            "rosenbrock",
            "--settle",
            "0.2",
        ],
        {"studies"},
        True,
    ),  # fmt: skip
    "overload": (
        [
            "--repeats",
            "1",
            "--levels",
            "5",
            "--servers",
            "adamtune",
            "--trials",
            "20",
            "--epochs",
            "3",
            "--cache",
            "{tmp}",
            "--floor",  # then 5 x /healthz and 5 x an unknown path, on the same server
        ],
        {"rounds"},
        True,
    ),  # fmt: skip
}
# run by tests of their own below: make_big_study writes no JSON, runners needs PostgreSQL,
# tuning_quality and recipes take a unit cache, comparison_plots draws tuning_quality's records
OWN_TESTS = {"make_big_study", "runners", "tuning_quality", "comparison_plots", "recipes"}


def run_bench(name: str, args: list[str], timeout: float = 300) -> str:
    """Run bench/NAME.py like `make bench` does; its stdout (the report). Fails on exit != 0."""
    out = subprocess.run(
        [sys.executable, str(BENCH / f"{name}.py"), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    assert out.returncode == 0, f"{name} exited {out.returncode}:\n{out.stderr[-4000:]}"
    return out.stdout


def read_report(path: Path) -> dict[str, Any]:
    report = json.loads(path.read_text())
    assert isinstance(report, dict)
    return report


def bench_scripts() -> set[str]:
    """Every script in bench/ with a main (private helpers like _common.py are not)."""
    return {
        path.stem
        for path in BENCH.glob("*.py")
        if not path.stem.startswith("_") and '__name__ == "__main__"' in path.read_text()
    }


def test_every_bench_script_has_a_smoke_run() -> None:
    scripts = bench_scripts()
    assert "service_overhead" in scripts  # the listing sees the scripts
    covered = set(SMOKE) | OWN_TESTS
    assert scripts - covered == set(), "bench scripts without a smoke run in this file"
    assert covered - scripts == set(), "smoke runs of scripts that are gone"


def test_makefile_runs_every_measuring_bench() -> None:
    """`make bench` lists every script that writes a report (the helpers it does not: make_big_study
    feeds dashboard_reads and overload, comparison_plots draws tuning_quality's records)."""
    makefile = (ROOT / "Makefile").read_text()
    listed = makefile.split("BENCHES :=", 1)[1].split("\nbench:", 1)[0].replace("\\", " ").split()
    assert set(listed) == bench_scripts() - {"make_big_study", "comparison_plots"}


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=[pytest.mark.slow] if SMOKE[n][2] else []) for n in SMOKE],
)
def test_bench_smoke(name: str, tmp_path: Path) -> None:
    args, keys, _ = SMOKE[name]
    path = tmp_path / f"{name}.json"
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in args]
    stdout = run_bench(name, [*args, "--json", str(path)])
    assert "|" in stdout  # a Markdown table
    report = read_report(path)
    assert keys <= set(report), f"missing keys {keys - set(report)}"
    assert report.get("valid", True) is True
    if name == "overload":  # --floor: both cheap bursts answered, every request
        for r in report["rounds"]:
            assert sum(r["floor_liveness"]["statuses"].values()) == 5
            assert r["floor_liveness"]["statuses"].get("200") == 5
            assert set(r["floor_unknown"]["statuses"]) <= {"404", "503"}


def test_make_big_study_smoke(tmp_path: Path) -> None:
    db = tmp_path / "big.db"
    run_bench("make_big_study", ["--database-url", f"sqlite:///{db}", "--trials", "20",
                                 "--epochs", "3"])  # fmt: skip
    with sqlite3.connect(db) as conn:
        trials = conn.execute("SELECT count(*) FROM trials").fetchone()[0]
        values = conn.execute("SELECT count(*) FROM trial_intermediate_values").fetchone()[0]
    assert (trials, values) == (20, 60)


@pytest.mark.slow
@pytest.mark.postgres
def test_runners_smoke(tmp_path: Path) -> None:
    from tests.conftest import PG_ADMIN_URL

    _admin_connection().close()  # skipped (failed under CI) without PostgreSQL
    path = tmp_path / "runners.json"
    run_bench("runners", [
        "--pg-admin-url", PG_ADMIN_URL, "--runners", "3", "--reports", "2", "--procs", "1",
        "--repeats", "1", "--latency-trials", "3", "--latency-runs", "1", "--overhead-trials", "2",
        "--overhead-runs", "1", "--epochs", "2", "--epoch-s", "0.001", "--json", str(path),
    ])  # fmt: skip
    report = read_report(path)
    assert {"latency", "load", "overhead"} <= set(report)


@pytest.mark.slow
def test_tuning_quality_smoke(tmp_path: Path) -> None:
    """Its smallest plan: one mlp_digits core unit of 2 trials, 2 validation and 2 calibration
    seeds (mlp_digits trains fastest of the built-in tasks), in the script's own process."""
    path = tmp_path / "tuning_quality.json"
    run_bench("tuning_quality", [
        "--small", "--plan", "core", "--tasks", "mlp_digits", "--seeds", "1", "--trials", "2",
        "--processes", "0", "--workdir", str(tmp_path / "units"), "--json", str(path),
    ])  # fmt: skip
    report = read_report(path)
    assert {"studies", "tables", "calibration", "records"} <= set(report)
    (record,) = report["records"]
    assert {"unit", "search", "validation", "calibration"} <= set(record)
    assert len(record["search"]["trials"]) == 2


@pytest.mark.slow
def test_comparison_plots_smoke(tmp_path: Path) -> None:
    """Draws one task's PNG from the committed records of tuning_quality (section 11's)."""
    records = json.loads((ROOT / "docs" / "bench" / "tuning_quality_2026-11-29.json").read_text())
    records["records"] = [r for r in records["records"] if r["unit"]["task"] == "mlp_digits"]
    source = tmp_path / "records.json"
    source.write_text(json.dumps(records))
    out = tmp_path / "plots"
    stdout = run_bench("comparison_plots", ["--json", str(source), "--out", str(out)])
    assert stdout.split() == [str(out / "mlp_digits.png")]
    assert (out / "mlp_digits.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- service_overhead's check that both sides trained the same trials ---------------------------


def load_bench(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_service_overhead_finds_trials_that_differ() -> None:
    compare = load_bench("service_overhead").outcome_differences
    params = {"lr": 0.01, "beta1": 0.9}
    service = [[0, "COMPLETE", 0.5, params], [1, "PRUNED", 0.9, params]]
    assert compare(service, [list(row) for row in service]) == []
    other_seed = [[0, "COMPLETE", 0.5, params], [1, "PRUNED", 0.91, params]]
    assert compare(service, other_seed) == ["trial 1: service PRUNED 0.9, plain PRUNED 0.91"]
    other_params = [[0, "COMPLETE", 0.5, {**params, "lr": 0.02}], service[1]]
    assert len(compare(service, other_params)) == 1
    assert compare(service, service[:1]) == ["trial 1: only in the service run"]


@pytest.mark.slow
def test_recipes_smoke(tmp_path: Path) -> None:
    """Its smallest run: two tasks of 2 epochs, 3 trials a search, 2 confirmation seeds; every
    arm of both, the five-trial preset chosen on the other task (leave-one-task-out)."""
    path = tmp_path / "recipes.json"
    run_bench("recipes", [
        "--tasks", "mlp_digits", "quadratic_deep", "--trials", "3", "--task-epochs",
        "mlp_digits=2", "quadratic_deep=2", "--confirm-seeds", "2", "--workdir",
        str(tmp_path / "units"), "--json", str(path),
    ])  # fmt: skip
    report = read_report(path)
    assert {"machine", "tasks", "presets"} <= set(report)
    for task in ("mlp_digits", "quadratic_deep"):
        arms = report["tasks"][task]["arms"]
        assert set(arms) == {"default_adam", "adam_constant", "adam_schedule", "adamw_schedule",
                             "schedule_free_adamw", "prodigy", "five_trials"}  # fmt: skip
        assert all(a.get("same_seeds", True) for a in arms.values())
        loto = report["presets"][task]
        assert loto["chosen_on"] == [t for t in ("mlp_digits", "quadratic_deep") if t != task]
    assert report["presets"]["shipped"]["chosen_on"] == ["mlp_digits", "quadratic_deep"]
