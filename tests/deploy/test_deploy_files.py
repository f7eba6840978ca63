"""The cluster examples of docs/DEPLOY.md (deploy/k8s, deploy/slurm) hold what the page says
they do: several API replicas in a Service, in it only while /healthz answers; one GPU per
worker and per runner; the database URL and the token from the Secret; settings the service
knows; and every `adamtune ...` command accepted by the CLI's own parser (a flag renamed in
app/cli.py fails here, not on a cluster)."""

from __future__ import annotations

import argparse
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.cli import build_parser
from app.config import Settings
from tests.conftest import ROOT

K8S = ROOT / "deploy" / "k8s"
SLURM = ROOT / "deploy" / "slurm"


def manifests() -> dict[tuple[str, str], dict[str, Any]]:
    """Every Kubernetes object of deploy/k8s by (kind, name)."""
    found = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            found[doc["kind"], doc.get("metadata", {}).get("name", path.name)] = doc
    return found


def parse(command: list[str]) -> argparse.Namespace:
    """`command` as `adamtune` would parse it (the part after `--` is the agent's command)."""
    assert command[0] == "adamtune", command
    words, rest = command[1:], []
    if "--" in words:
        cut = words.index("--")
        words, rest = words[:cut], words[cut + 1 :]
    try:
        args = build_parser().parse_args(words)
    except SystemExit:
        pytest.fail(f"the CLI refuses {command}")
    args.subcommand = args.func.__name__.removeprefix("cmd_")  # (`agent` reuses args.command)
    args.after = rest
    return args


def container(workload: dict[str, Any]) -> dict[str, Any]:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]  # type: ignore[no-any-return]


def secret_env(spec: dict[str, Any], name: str) -> str:
    """The Secret key that env var `name` of the container comes from (checked to exist)."""
    found = [e for e in spec.get("env", []) if e["name"] == name]
    assert len(found) == 1, f"{spec['name']} has no {name}"
    ref = found[0]["valueFrom"]["secretKeyRef"]
    secret = manifests()["Secret", ref["name"]]
    assert ref["key"] in secret["stringData"]
    return ref["key"]  # type: ignore[no-any-return]


def test_the_kustomization_applies_every_long_running_object() -> None:
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(listed) == files - {"runner-job.yaml"}  # a Job is made per study


def test_the_api_runs_several_replicas_behind_a_service_that_takes_only_ready_pods() -> None:
    objects = manifests()
    api = objects["Deployment", "adamtune-api"]
    assert api["spec"]["replicas"] > 1
    spec = container(api)
    args = parse(spec["command"])
    assert args.subcommand == "serve" and args.workers == 0  # trains nothing: the workers do
    port = next(p for p in spec["ports"] if p["containerPort"] == args.port)
    for probe in ("readinessProbe", "livenessProbe"):
        assert spec[probe]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert secret_env(spec, "ADAMTUNE_DATABASE_URL") == "database-url"
    assert secret_env(spec, "ADAMTUNE_API_TOKEN") == "api-token"
    service = objects["Service", "adamtune-api"]
    pod_labels = api["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert api["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert [p["targetPort"] for p in service["spec"]["ports"]] == [port["name"]]


def test_each_gpu_worker_takes_one_gpu_and_the_database_url() -> None:
    worker = manifests()["Deployment", "adamtune-worker-gpu"]
    spec = container(worker)
    args = parse(spec["command"])
    assert args.subcommand == "worker" and args.device == "cuda"
    assert spec["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert secret_env(spec, "ADAMTUNE_DATABASE_URL") == "database-url"


def test_the_runner_job_runs_adamtune_agent_against_the_api_service() -> None:
    objects = manifests()
    job = objects["Job", "adamtune-runners-study-7"]
    spec = container(job)
    args = parse(spec["command"])
    assert args.subcommand == "agent" and args.study == 7 and args.after == ["python", "train.py"]
    assert args.url == f"http://{objects['Service', 'adamtune-api']['metadata']['name']}"
    assert args.host == "$(POD_NAME)"  # Kubernetes puts the pod's name in
    assert any(e["name"] == "POD_NAME" for e in spec["env"])
    assert secret_env(spec, "ADAMTUNE_API_TOKEN") == "api-token"  # no database URL: only HTTP
    assert not any(e["name"] == "ADAMTUNE_DATABASE_URL" for e in spec["env"])
    assert spec["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert job["spec"]["template"]["spec"]["restartPolicy"] in ("OnFailure", "Never")


def test_the_config_map_sets_only_settings_the_service_has() -> None:
    data = manifests()["ConfigMap", "adamtune"]["data"]
    known = {f"ADAMTUNE_{name.upper()}" for name in Settings.model_fields}
    assert data and set(data) <= known
    Settings.model_validate({k.removeprefix("ADAMTUNE_").lower(): v for k, v in data.items()})


@pytest.mark.parametrize(
    ("script", "env", "subcommand", "gpu_line"),
    [
        ("runners.sbatch", {"ADAMTUNE_URL": "http://tuner", "STUDY": "7",
                            "SLURM_ARRAY_TASK_ID": "3"}, "agent", "#SBATCH --gres=gpu:1"),
        ("gpu-workers.sbatch", {"ADAMTUNE_DATABASE_URL": "postgresql+psycopg://u@db/adamtune"},
         "worker", "#SBATCH --gpus-per-task=1"),
    ],
)  # fmt: skip
def test_the_sbatch_scripts_run_commands_the_cli_accepts(
    tmp_path: Path, script: str, env: dict[str, str], subcommand: str, gpu_line: str
) -> None:
    """Run the script as a job would, with an `srun` that records its arguments."""
    text = (SLURM / script).read_text()
    assert gpu_line in text.splitlines()
    srun = tmp_path / "srun"
    srun.write_text('#!/bin/sh\nprintf "%s\\0" "$@" > "$SRUN_ARGS"\n')
    srun.chmod(srun.stat().st_mode | stat.S_IXUSR)
    run_env = {"PATH": f"{tmp_path}:{os.environ['PATH']}", "SRUN_ARGS": str(tmp_path / "args")}
    subprocess.run(["bash", str(SLURM / script)], env={**run_env, **env}, check=True, cwd=tmp_path)
    args = parse((tmp_path / "args").read_text().split("\0")[:-1])
    assert args.subcommand == subcommand
    if subcommand == "agent":
        assert (args.url, args.study, args.after) == ("http://tuner", 7, ["python", "train.py"])
        assert args.host.endswith("-3")  # one name per array task
    else:
        assert args.device == "cuda"
