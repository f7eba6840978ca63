"""The Lightning and Transformers integrations against a real server: each framework's example
(examples/frameworks/) runs in two runner processes at once, and the external study ends with
exactly n_trials and both validation rounds (selection and confirmation) trained by them; a
stop from the server ends the framework's loop its own way (Lightning's `should_stop`, the
Trainer's `should_training_stop`), the loop raises it, and the trial is told stopped."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adamtune.client import Study, StudyStopped, Trial
from tests.conftest import ROOT, Process, Server, trial_states, wait_for

pytestmark = pytest.mark.slow

EXAMPLES = ROOT / "examples" / "frameworks"
FRAMEWORKS = {"lightning": "train_lightning.py", "transformers": "train_transformers.py"}
STUDY = {"task": "external", "metric": "val_loss", "epochs": 2, "pruner": "none",
         "sampler": "random", "validate_top_k": 1, "validate_seeds": 2,
         "confirm_seeds": 2}  # fmt: skip


def start_example(tmp_path: Path, server: Server, study_id: int, script: str) -> Process:
    """An example in its own process, as a user runs it (it holds only the server's URL)."""
    log_path = tmp_path / f"{script}-{len(list(tmp_path.glob(f'{script}-*')))}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADAMTUNE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env["HF_HUB_OFFLINE"] = "1"  # nothing is downloaded: the model is built from its config
    # one torch thread per runner, as a worker trains: two runners of two threads each on the
    # 2 cores spun on each other's cores (a BERT trial took 1.5 s, not 0.3 s)
    env["OMP_NUM_THREADS"] = "1"
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(EXAMPLES / script), server.url, str(study_id)],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return Process(proc=proc, log_path=log_path)


def trials(server: Server, study_id: int) -> list[dict[str, Any]]:
    return server.api("GET", f"/api/studies/{study_id}/trials?limit=1000").json()["trials"]


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_two_runners_of_the_example_train_a_study_and_its_validation(
    framework: str, start_server: Any, tmp_path: Path
) -> None:
    pytest.importorskip(framework, reason=f'the {framework} extra: pip install ".[{framework}]"')
    server: Server = start_server(workers=0)
    study = server.create_study(**STUDY, n_trials=3)
    runners = [start_example(tmp_path, server, study["id"], FRAMEWORKS[framework])
               for _ in range(2)]  # fmt: skip
    for runner in runners:
        assert runner.proc.wait(timeout=300) == 0, runner.log()
        assert "study done" in runner.log()
    done = server.wait_status(study["id"], "completed")
    assert done["progress"]["complete"] == 3
    assert trial_states(server.database_url, study["id"]) == {"COMPLETE": 3}
    hosts = {t["runner"] for t in trials(server, study["id"])}
    assert len(hosts) == 1 and None not in hosts  # both runners name this machine
    validation = done["validation"]
    assert validation["complete"] and validation["phase"] == "done"
    assert validation["runs_done"] == validation["runs_total"]
    confirmation = validation["confirmation"]
    assert confirmation is not None and confirmation["runs_done"] == confirmation["runs_total"]
    assert confirmation["runs_total"] == 2 * 2  # the pick and the defaults on 2 seeds each
    values = [v for c in confirmation["configs"] for v in c["values"]]
    assert len(values) == 4 and all(0.2 < v < 2.0 for v in values), values


def example(name: str) -> Any:
    """An example script as a module (its folder on the path for its `data` helper)."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / name)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(EXAMPLES))


def stop_after_first_report(server: Server, study_id: int, trial: Trial) -> Callable[[], None]:
    """Called after each evaluation: once the first report is out, stop the study (once)."""
    asked: list[int] = []

    def check() -> None:
        if trial.last_value is not None and not asked:
            asked.append(server.api("POST", f"/api/studies/{study_id}/stop").status_code)

    return check


def told(server: Server, study_id: int) -> dict[str, Any]:
    return wait_for(lambda: next((t for t in trials(server, study_id) if t["state"] != "RUNNING"),
                                 None), timeout=60)  # fmt: skip


EPOCHS = 200  # far more than run before the stop reaches the loop


@pytest.mark.filterwarnings(  # the frameworks' own (tiny loaders, their dependencies' APIs)
    "ignore::UserWarning", "ignore::DeprecationWarning", "ignore::FutureWarning"
)
def test_a_stop_ends_a_lightning_fit_its_own_way(start_server: Any) -> None:
    pytest.importorskip("lightning", reason='the lightning extra: pip install ".[lightning]"')
    import lightning as L
    from torch.utils.data import DataLoader, TensorDataset

    from adamtune.integrations.lightning import AdamtuneCallback

    server: Server = start_server(workers=0)
    study_id = server.create_study(**{**STUDY, "epochs": EPOCHS}, n_trials=1)["id"]
    trial = Study(server.url, study_id).ask()
    assert trial is not None
    module = example("train_lightning.py")
    data = module.regression()
    check = stop_after_first_report(server, study_id, trial)

    class StopAfterFirstReport(L.Callback):
        def on_validation_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            check()

    callback = AdamtuneCallback(trial)
    trainer = L.Trainer(
        max_epochs=trial.steps, accelerator="cpu", callbacks=[callback, StopAfterFirstReport()],
        logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, num_sanity_val_steps=0,
    )  # fmt: skip
    with pytest.raises(StudyStopped):
        trainer.fit(
            module.Regressor(12),
            DataLoader(TensorDataset(*data["train"]), batch_size=32),
            DataLoader(TensorDataset(*data["val"]), batch_size=256),
        )
    assert trainer.should_stop and trainer.current_epoch < EPOCHS - 1  # Lightning's own stop
    assert isinstance(callback.ended_by, StudyStopped)
    trial.end(callback.ended_by)
    ended = told(server, study_id)
    assert ended["interrupted"] and "stopped" in ended["reason"]
    assert 1 <= ended["epochs_done"] < EPOCHS


@pytest.mark.filterwarnings(
    "ignore::UserWarning", "ignore::DeprecationWarning", "ignore::FutureWarning"
)
def test_a_stop_ends_a_transformers_training_its_own_way(start_server: Any, tmp_path: Path) -> None:
    pytest.importorskip("transformers", reason='the extra: pip install ".[transformers]"')
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from adamtune.integrations.transformers import AdamtuneCallback, trial_optimizers

    server: Server = start_server(workers=0)
    study_id = server.create_study(**{**STUDY, "epochs": EPOCHS}, n_trials=1)["id"]
    trial = Study(server.url, study_id).ask()
    assert trial is not None
    module = example("train_transformers.py")
    data = module.regression()
    check = stop_after_first_report(server, study_id, trial)

    class StopAfterFirstReport(TrainerCallback):  # type: ignore[misc]
        def on_evaluate(self, *args: Any, **kwargs: Any) -> None:
            check()

    model = module.ValueBert(module.CONFIG)
    callback = AdamtuneCallback(trial)
    trainer = Trainer(
        model=model,
        args=TrainingArguments(
            output_dir=str(tmp_path), num_train_epochs=trial.steps, eval_strategy="epoch",
            save_strategy="no", logging_strategy="no", report_to="none", disable_tqdm=True,
            use_cpu=True, per_device_train_batch_size=64, label_names=["labels"],
        ),
        train_dataset=module.Rows(*data["train"]), eval_dataset=module.Rows(*data["val"]),
        optimizers=trial_optimizers(trial, model),
        callbacks=[callback, StopAfterFirstReport()],
    )  # fmt: skip
    with pytest.raises(StudyStopped):
        trainer.train()
    assert trainer.state.epoch is not None and trainer.state.epoch < EPOCHS  # its own stop
    assert isinstance(callback.ended_by, StudyStopped)
    # the trial's lr as tuned all along: no decay from the Trainer's default schedule
    assert trainer.lr_scheduler.get_last_lr() == [trial.params["lr"]]
    trial.end(callback.ended_by)
    ended = told(server, study_id)
    assert ended["interrupted"] and "stopped" in ended["reason"]
    assert 1 <= ended["epochs_done"] < EPOCHS
