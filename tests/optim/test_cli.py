"""`adamtune tasks`, `tune` and `evaluate`, run as the user runs them: a real process, a real
database; the validated verdict printed is the one the API reports for the same study."""

from __future__ import annotations

import argparse
import math
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
import torch
from fastapi.testclient import TestClient

from app.cli import build_parser, main
from app.config import Settings
from app.db import Database
from app.main import create_app
from app.validation import read_report
from optim.attrs import BASELINE_ATTR, PARAMS_ATTR
from optim.optimizers import FAMILIES
from optim.params import OptimizerParams
from optim.space import SearchSpace
from optim.storage import make_storage
from optim.study import read_config
from optim.tasks import list_tasks
from tests.conftest import BUILTIN_TASK_NAMES, query

ROOT = Path(__file__).resolve().parents[2]
NUMBER = r"[-+]?(?:\d+\.?\d*(?:e[-+]?\d+)?|nan|inf)"
TORCH_LINE = re.compile(
    rf"^torch\.optim\.Adam\(model\.parameters\(\), lr=({NUMBER}), "
    rf"betas=\(({NUMBER}), ({NUMBER})\), eps=({NUMBER})\)$",
    re.MULTILINE,
)
GAIN_LINE = re.compile(
    rf"^search estimate: ({NUMBER})% over default Adam \(({NUMBER})\): one seed each",
    re.MULTILINE,
)
VERDICT_LINE = re.compile(r"^verdict: (.+)$", re.MULTILINE)
EVALUATION_LINE = (
    r"^evaluation seeds \[([\d, ]+)\] \(stream (\d+): repeat with --seed \2\); "
    r"none of the 8 seeds study 's' used$"
)


@pytest.fixture(autouse=True)
def keep_torch_threads() -> Iterator[None]:
    """`main(["tune", ...])` sets torch's thread count for its process: give it back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def adamtune(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def adamtune_here(
    capsys: pytest.CaptureFixture[str], *args: str
) -> subprocess.CompletedProcess[str]:
    """The same command in this process (`main`): a fresh interpreter costs seconds of imports.
    `adamtune` above keeps a real process where the process is the point."""
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(["adamtune", *args], code, out, err)


def test_listing_shows_the_builtin_task_names() -> None:
    result = adamtune("tasks")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["name", "epochs", "batch", "description"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert list(rows)[: len(BUILTIN_TASK_NAMES)] == BUILTIN_TASK_NAMES
    for task in list_tasks():
        if task.name in BUILTIN_TASK_NAMES:
            assert rows[task.name].split()[1:3] == [str(task.default_epochs), str(task.batch_size)]
            assert rows[task.name].endswith(task.description)


@pytest.mark.slow
def test_tune_prints_the_best_trial_and_the_gain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    result = adamtune_here(
        capsys,
        "tune",
        "--task",
        "logreg_breast_cancer",
        "--trials",
        "5",
        "--epochs",
        "3",
        "--validate-seeds",
        "0",
        "--storage",
        url,
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr

    # read the study back from the file, as any other Optuna user would
    (study_name,) = optuna.get_all_study_names(storage=url)
    study = optuna.load_study(study_name=study_name, storage=make_storage(url))
    assert len(study.trials) == 5
    config = read_config(study.user_attrs)
    assert config is not None
    assert (config.task, config.n_trials, config.epochs) == ("logreg_breast_cancer", 5, 3)
    assert config.space == SearchSpace()
    assert "not validated (--validate-seeds 0)" in result.stdout
    assert "UNVALIDATED: the search's best" in result.stdout  # said before the line

    # the pasted line carries the best trial's hyper-parameters
    lines = TORCH_LINE.findall(result.stdout)
    assert len(lines) == 1, result.stdout
    lr, beta1, beta2, eps = map(float, lines[0])
    best = study.best_trial
    params = config.space.to_params(best.params)
    for printed, stored in (
        (lr, params.lr),
        (beta1, params.beta1),
        (beta2, params.beta2),
        (eps, params.eps),
    ):
        assert math.isclose(printed, stored, rel_tol=1e-5), (printed, stored)
    assert "weight_decay" not in result.stdout  # fixed at 0: not printed
    assert f"search best: trial {best.number}, val_loss {best.value:.6g}" in result.stdout
    assert "search: 5 trials on logreg_breast_cancer in " in result.stdout
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    assert f" {pruned} pruned, 0 failed)" in result.stdout
    # where it wrote: the storage, the study's name and its id
    assert f"stored in {url}: study {study_name!r} (id 1)" in result.stdout

    # and the gain over default Adam, the enqueued baseline trial
    (baseline,) = [t for t in study.trials if t.user_attrs.get(BASELINE_ATTR)]
    assert baseline.number == 0 and baseline.state == optuna.trial.TrialState.COMPLETE
    assert baseline.value is not None and best.value is not None
    gains = GAIN_LINE.findall(result.stdout)
    assert len(gains) == 1, result.stdout
    printed_gain, printed_baseline = map(float, gains[0])
    assert math.isclose(printed_baseline, baseline.value, rel_tol=1e-5)
    expected_gain = 100 * (baseline.value - best.value) / abs(baseline.value)
    assert printed_gain == pytest.approx(expected_gain, abs=0.05)


@pytest.mark.parametrize(
    ("args", "field", "message"),
    [
        (["--task", "imagenet"], "task", "unknown task 'imagenet'"),
        (["--task", "rosenbrock", "--trials", "0"], "trials", "greater than or equal to 1"),
    ],
)
def test_tune_rejects_bad_input_naming_the_field(
    args: list[str], field: str, message: str, tmp_path: Path
) -> None:
    db = tmp_path / "never.sqlite"
    result = adamtune("tune", *args, "--storage", f"sqlite:///{db}", "--quiet")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert field in errors[0] and message in errors[0]
    assert not db.exists()  # nothing was created for a study that could not start


# the same entry point in-process: each of these costs a second, not a fresh interpreter


@pytest.mark.parametrize(
    ("args", "field", "message"),
    [
        (["--epochs", "0"], "--epochs", "greater than or equal to 1"),
        (["--seed", "-1"], "--seed", "greater than or equal to 0"),
    ],
)
def test_main_rejects_bad_values(
    args: list[str], field: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "never.sqlite"
    code = main(["tune", "--task", "rosenbrock", *args, "--storage", f"sqlite:///{db}", "--quiet"])
    assert code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert any(f"error: {field}: " in line and message in line for line in errors), errors
    assert not db.exists()


def test_main_reports_every_bad_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'never.sqlite'}"
    code = main(["tune", "--task", "nope", "--trials", "-3", "--epochs", "0", "--storage", db])
    assert code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert [line.split(":")[1].strip() for line in errors] == ["--task", "--trials", "--epochs"]


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--task", "rosenbrock", "--sampler", "hillclimb"], "--sampler"),
        (["--task", "rosenbrock", "--pruner", "patience"], "--pruner"),
        (["--task", "rosenbrock", "--trials", "five"], "--trials"),
        ([], "--task"),
    ],
)
def test_main_rejects_bad_options_before_running(
    args: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["tune", *args, "--quiet"])
    assert exc.value.code == 2
    assert option in capsys.readouterr().err


def test_tune_validates_on_fresh_seeds_and_agrees_with_the_api(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """By default `tune` picks among its best configs on selection seeds, confirms the pick on
    others, and prints the confirmed verdict, then exactly one line to paste, after it; a server
    on the same file reports the same numbers for the same rounds."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    result = adamtune_here(
        capsys,
        "tune", "--task", "logreg_breast_cancer", "--trials", "5", "--epochs", "3",
        "--pruner", "none", "--validate-top-k", "2", "--validate-seeds", "3",
        "--confirm-seeds", "4", "--storage", url, "--quiet", "--name", "cli-study",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "selection on 3 fresh seeds (test split):" in out
    assert "confirmation on 4 fresh seeds (test split):" in out
    (printed,) = VERDICT_LINE.findall(out)
    names = optuna.get_all_study_names(storage=url)
    assert sorted(names) == ["cli-study", "cli-study / confirmation 0", "cli-study / validation 0"]
    db = Database.open(url)
    with db.session(write=False) as session:
        reports = {}
        for name in ("cli-study / validation 0", "cli-study / confirmation 0"):
            ((study_id,),) = query(url, f"SELECT study_id FROM studies WHERE study_name = '{name}'")
            reports[name] = read_report(session, study_id)
    db.dispose()
    selection, confirmation = reports.values()
    assert selection is not None and confirmation is not None and confirmation.complete
    assert confirmation.verdict == printed
    assert not set(selection.seeds) & set(confirmation.seeds)
    # exactly one line to paste, and it comes after the confirmed verdict
    lines = TORCH_LINE.findall(out)
    assert len(lines) == 1 and out.index("torch.optim.") > out.index("verdict: ")
    chosen = next(c for c in confirmation.configs if c.label == confirmation.recommended)
    assert math.isclose(float(lines[0][0]), chosen.params["lr"], rel_tol=1e-5)
    assert "UNVALIDATED" not in out and "validation took " in out

    # `serve` on the same file shows it as a study of its own, like one made in the browser
    settings = Settings(database_url=url, workers=0)
    with TestClient(create_app(settings)) as client:
        listed = client.get("/api/studies").json()["studies"]
        assert [s["name"] for s in listed] == ["cli-study"]  # its rounds are not listed apart
        (study,) = listed
        assert not study["read_only"] and study["task"] == "logreg_breast_cancer"
        assert study["status"] == "completed" and study["n_trials"] == 5
        validation = study["validation"]
        assert validation["confirmed"] and validation["verdict"] == printed
        assert validation["torch_line"] == out.splitlines()[-1]
        curves = client.get(f"/api/studies/{study['id']}/curves", params={"after": 0}).json()
        assert set(curves["points"]["trial"]) == set(range(5))  # its curves, as a worker's


@pytest.mark.slow
def test_evaluate_measures_a_study_on_seeds_it_never_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`tune` in a process of its own, then `evaluate` in-process (main), three times."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    tuned = adamtune(
        "tune", "--task", "logreg_breast_cancer", "--trials", "4", "--epochs", "2",
        "--pruner", "none", "--validate-top-k", "1", "--validate-seeds", "2",
        "--confirm-seeds", "2", "--storage", url, "--quiet", "--name", "s",
    )  # fmt: skip
    assert tuned.returncode == 0, tuned.stderr
    used = {
        seed
        for name in optuna.get_all_study_names(storage=url)
        for trial in optuna.load_study(study_name=name, storage=url).trials
        for seed in trial.user_attrs.get("seeds", [])
    }
    assert len(used) == 4 + 2 + 2  # the search's, the selection's, the confirmation's

    def evaluate(*args: str) -> str:
        run = adamtune_here(capsys, "evaluate", "--study", "s", "--seeds", "3", *args,
                            "--storage", url, "--quiet")  # fmt: skip
        assert run.returncode == 0, run.stderr
        return run.stdout

    printed = []
    for out in (evaluate(), evaluate()):
        found = re.search(EVALUATION_LINE, out, re.MULTILINE)
        assert found, out
        seeds = [int(s) for s in found.group(1).split(", ")]
        assert len(seeds) == 3 and not set(seeds) & used
        printed.append((seeds, found.group(2)))
    assert printed[0][0] != printed[1][0]  # each run draws a stream of its own
    again = evaluate("--seed", printed[0][1])
    assert f"evaluation seeds [{', '.join(map(str, printed[0][0]))}]" in again
    assert len(TORCH_LINE.findall(again)) == 1


def test_evaluate_a_config_equal_to_the_defaults_finds_no_gain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = adamtune_here(
        capsys,
        "evaluate", "--task", "logreg_breast_cancer", "--epochs", "2", "--lr", "0.001",
        "--seeds", "3", "--storage", f"sqlite:///{tmp_path / 'e.db'}", "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert VERDICT_LINE.findall(result.stdout) == [
        "no significant gain over default Adam (+0% ± 0%, 0/3 seeds): keep the defaults"
    ]


def test_tune_takes_the_space_as_json_and_as_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    space = '{"beta1": {"value": 0.8}, "eps": {"low": 1e-9, "high": 1e-6}}'
    code = main(["tune", "--task", "rosenbrock", "--trials", "2", "--epochs", "1",
                 "--validate-seeds", "0", "--space", space, "--lr", "1e-3:1e-2:linear",
                 "--beta2", "0.99", "--preset", "wide", "--storage", url, "--quiet",
                 "--name", "spaced"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    config = read_config(optuna.load_study(study_name="spaced", storage=url).user_attrs)
    assert config is not None and config.preset == "wide"
    assert (config.space.lr.low, config.space.lr.high, config.space.lr.log) == (1e-3, 1e-2, False)
    assert (config.space.beta1.value, config.space.beta2.value) == (0.8, 0.99)
    assert config.space.eps.bounds() == (1e-9, 1e-6)
    assert config.space.weight_decay.value == 0.0


def test_tune_takes_schedule_flags_and_prints_the_scheduler_to_paste(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--warmup/--final-fraction are linear ranges unless told, --decay a shape or several; the
    answer printed is its family's paste text, with the scheduler where it has a schedule."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    code = main(["tune", "--task", "rosenbrock", "--trials", "4", "--epochs", "1",
                 "--validate-seeds", "0", "--lr", "0.01:0.1", "--warmup", "0.05:0.2",
                 "--decay", "cosine,linear", "--final-fraction", "0.1", "--storage", url,
                 "--name", "scheduled", "--sampler", "random"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    study = optuna.load_study(study_name="scheduled", storage=url)
    config = read_config(study.user_attrs)
    assert config is not None
    assert (config.space.warmup.low, config.space.warmup.high, config.space.warmup.log) == (
        0.05, 0.2, False)  # fmt: skip
    assert config.space.decay.choices == ("cosine", "linear")
    assert config.space.final_fraction.value == 0.1
    trials = [t for t in study.trials if not t.user_attrs.get(BASELINE_ATTR)]
    assert len(trials) == 3
    for trial in trials:
        assert trial.user_attrs[PARAMS_ATTR]["decay"] in ("cosine", "linear")
        assert trial.user_attrs[PARAMS_ATTR]["final_fraction"] == 0.1
    best = OptimizerParams(**study.best_trial.user_attrs[PARAMS_ATTR])
    assert FAMILIES["adam"].torch_line(best) in out
    assert ("torch.optim.lr_scheduler." in out) == (not best.schedule.none)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--decay", "step"], "decay.value: Input should be 'constant', 'cosine' or 'linear'"),
        (["--warmup", "0:1"], "0 <= warmup < 1"),
        (["--lr", "fast"], "--lr 'fast': give VALUE, LOW:HIGH or LOW:HIGH:linear"),
        (["--momentum", "0.1:0.9"], "momentum: Adam (adam) does not tune momentum"),
        (["--space", "[1, 2]"], "--space must be a JSON object"),
        (["--validate-seeds", "1"], "--validate-seeds: a confidence interval needs at least 2"),
    ],
)
def test_tune_names_a_bad_space_or_validation_option(
    args: list[str], words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "never.sqlite"
    code = main(["tune", "--task", "rosenbrock", *args, "--storage", f"sqlite:///{db}", "--quiet"])
    assert code == 2
    assert words in capsys.readouterr().err
    assert not db.exists()


def test_compare_tunes_each_optimizer_and_compares_validated_winners(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = adamtune_here(
        capsys,
        "compare", "--task", "logreg_breast_cancer", "--optimizers", "adam,sgd_nesterov",
        "--trials", "3", "--epochs", "2", "--pruner", "none", "--validate-seeds", "2",
        "--storage", f"sqlite:///{tmp_path / 'c.db'}", "--quiet", "--name", "cmp",
        "--target", "100",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "== Adam" in result.stdout and "== SGD with Nesterov momentum" in result.stdout
    # time to result against the given target: each search's first trial (2 epochs) met it
    assert "\nTarget: test loss 100 (given).\n" in result.stdout
    reached = (r"^Adam: its search reached the target at trial 0 \(its defaults\), after 2 "
               r"epochs \(≈ 1.0 runs\), [\d.]+ s of training \(on the search's own seed: "
               r"optimistic\); its validated pick .* reaches the target\.$")  # fmt: skip
    assert re.search(reached, result.stdout, re.M), result.stdout
    assert "over default SGD with Nesterov momentum" in result.stdout
    *_, sentence, advice = result.stdout.strip().splitlines()
    assert "SGD with Nesterov momentum" in sentence and "Adam" in sentence
    assert "by 0" not in sentence
    # one line of advice, and the only line to paste
    assert advice.startswith(("advice: Use ", "advice: Keep ")) and "torch.optim." in advice
    assert result.stdout.count("torch.optim.") == 1
    url = f"sqlite:///{tmp_path / 'c.db'}"
    with TestClient(create_app(Settings(database_url=url, workers=0))) as client:
        (listed,) = client.get("/api/comparisons").json()["comparisons"]
        assert listed["name"] == "cmp" and listed["complete"]
        assert f"advice: {listed['advice']}" == advice
    names = optuna.get_all_study_names(storage=url)
    assert sorted(names) == [
        "cmp / adam", "cmp / adam / confirmation 0", "cmp / adam / validation 0",
        "cmp / sgd_nesterov", "cmp / sgd_nesterov / confirmation 0",
        "cmp / sgd_nesterov / validation 0",
    ]  # fmt: skip


def test_compare_runs_the_tuning_free_families_once_and_reports_compute(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Prodigy is a one-shot baseline at its defaults: one search trial, then its defaults
    alone on the validation's seeds; every family's compute is printed."""
    result = adamtune_here(
        capsys,
        "compare", "--task", "logreg_breast_cancer", "--optimizers", "adam,prodigy",
        "--trials", "3", "--epochs", "2", "--pruner", "none", "--validate-seeds", "2",
        "--confirm-seeds", "2", "--storage", f"sqlite:///{tmp_path / 'c.db'}", "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "== Prodigy" in result.stdout and "one-shot baseline" in result.stdout
    # 2 epochs a run. Adam: 3 trials, then 2 configs on 2 + 2 seeds; Prodigy: 1 trial, then
    # its defaults alone on 2 + 2
    assert re.search(r"^Adam \(4 tuned\): 22 epochs, [\d.]+ s \(search 6, [\d.]+ s; "
                     r"validation 16, ", result.stdout, re.M), result.stdout  # fmt: skip
    assert re.search(r"^Prodigy \(one-shot at its defaults\): 10 epochs, [\d.]+ s \(search 2, "
                     r"[\d.]+ s; validation 8, ", result.stdout, re.M), result.stdout  # fmt: skip
    # time to result: the target is Prodigy's validated mean, Adam's search reached it or not
    assert (
        "\nTarget: test loss " in result.stdout and "(the best one-shot baseline)" in result.stdout
    )
    assert re.search(r"^Adam: its search (reached the target at trial \d|did not reach the "
                     r"target in 6 epochs)", result.stdout, re.M), result.stdout  # fmt: skip
    assert re.search(
        r"^Prodigy at its defaults: validated mean .* after one run \(2 epochs, "
        r"[\d.]+ s of training\): the target\.$",
        result.stdout,
        re.M,
    ), result.stdout
    assert "Prodigy" in result.stdout.strip().splitlines()[-2]  # its verdict against Adam
    assert result.stdout.strip().splitlines()[-1].startswith("advice: ")


def test_every_option_says_what_it_does_and_its_default() -> None:
    """`--help` of each command: a line for every option, its default where it has one, and
    `compare` takes `--optimizers` only (its studies' families), not `--optimizer` too."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
    for name, command in commands.choices.items():
        text = command.format_help()
        for action in command._actions:  # noqa: SLF001
            if action.help == argparse.SUPPRESS or not action.option_strings:
                continue
            assert action.help, f"{name} {action.option_strings[0]} has no help line"
            if action.default not in (None, False, argparse.SUPPRESS) and not action.required:
                assert f"(default: {action.default})" in " ".join(text.split()), (
                    name, action.option_strings[0]
                )  # fmt: skip
    compare = commands.choices["compare"].format_help()
    assert "--optimizers" in compare and "--optimizer " not in compare
    assert "--optimizer {" not in compare


@pytest.mark.parametrize("value", ["nan", "inf", "low"])
def test_compare_refuses_a_target_that_is_not_a_finite_number(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["compare", "--task", "rosenbrock", "--target", value])
    assert exited.value.code == 2
    assert f"--target: {value!r} is not a finite number" in capsys.readouterr().err
