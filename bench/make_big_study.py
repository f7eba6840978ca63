"""Write a big finished study (default 10,000 trials x 50 epochs) into a database, fast.

The study is created through adamtune (so it is a real adamtune study with its job row and
config), then trials, params, values, intermediate values and epoch events are bulk-inserted
with SQL in the exact shape Optuna and the workers write them: going through `trial.report`
would take hours at one commit per report.

    python bench/make_big_study.py --database-url sqlite:///bench/big.db --trials 10000 --epochs 50
"""

from __future__ import annotations

import argparse
import json
import math
import time
from datetime import datetime, timedelta

import numpy as np
import optuna
from sqlalchemy import insert, select

from app.db import Database
from app.models import Event, EventKind, JobStatus, StudyJob
from app.schemas import StudyCreate
from optim import optuna_internals as oi
from optim.attrs import BASELINE_ATTR, CONFIG_ATTR, PARAMS_ATTR
from optim.space import BASELINE
from optim.storage import make_storage

CHUNK = 20_000


def make(database_url: str, trials: int, epochs: int, seed: int = 0) -> int:
    """Create the study and return its id."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = make_storage(database_url)
    db = Database.open(database_url)
    payload = StudyCreate(
        task="mlp_digits",
        n_trials=trials,
        epochs=epochs,
        name=f"big-{trials}x{epochs}-{time.time():.0f}",
    )
    # no create_study(): its enqueued baseline would be a WAITING trial; trial 0 is written below
    study = optuna.create_study(storage=storage, study_name=payload.name, direction="minimize")
    study.set_user_attr(CONFIG_ATTR, payload.to_config().model_dump(mode="json"))
    study_id = study._study_id  # noqa: SLF001
    space = payload.space
    dists = space.distributions()
    rng = np.random.default_rng(seed)
    start = datetime(2026, 1, 1)
    t0 = time.perf_counter()
    with db.session() as session:
        session.add(
            StudyJob(
                study_id=study_id, study_name=payload.name, task=payload.task,
                config=payload.to_config().model_dump(mode="json"), n_trials=trials,
                status=JobStatus.COMPLETED, started_at=start,
                finished_at=start + timedelta(seconds=trials),
            )
        )  # fmt: skip
    with db.write_engine.begin() as conn:
        next_id = (
            conn.scalar(select(oi.TRIALS.c.trial_id).order_by(oi.TRIALS.c.trial_id.desc()).limit(1))
            or 0
        ) + 1
        for lo in range(0, trials, CHUNK // epochs):
            hi = min(lo + CHUNK // epochs, trials)
            trial_rows, param_rows, value_rows, attr_rows, iv_rows, event_rows = (
                [],
                [],
                [],
                [],
                [],
                [],
            )
            for number in range(lo, hi):
                trial_id = next_id + number
                raw = {
                    name: float(math.exp(rng.uniform(math.log(d.low), math.log(d.high))))
                    for name, d in dists.items()
                }
                if number == 0:
                    raw = space.to_optuna_params(BASELINE)
                adam = space.to_params(raw)
                quality = abs(math.log10(adam.lr) + 2.5) + rng.normal(0, 0.1)
                curve = [
                    0.05 + quality * 0.1 + 2.0 * math.exp(-e / (3 + 10 * adam.lr))
                    for e in range(1, epochs + 1)
                ]
                t_start = start + timedelta(seconds=number)
                trial_rows.append(
                    {
                        "trial_id": trial_id,
                        "number": number,
                        "study_id": study_id,
                        "state": "COMPLETE",
                        "datetime_start": t_start,
                        "datetime_complete": t_start + timedelta(seconds=0.9),
                    }
                )
                for name, value in raw.items():
                    param_rows.append(
                        {
                            "trial_id": trial_id,
                            "param_name": name,
                            "param_value": value,
                            "distribution_json": optuna.distributions.distribution_to_json(
                                dists[name]
                            ),
                        }
                    )
                value_rows.append(
                    {
                        "trial_id": trial_id,
                        "objective": 0,
                        "value": curve[-1],
                        "value_type": "FINITE",
                    }
                )
                attr_rows.append(
                    {
                        "trial_id": trial_id,
                        "key": PARAMS_ATTR,
                        "value_json": json.dumps(adam.as_dict()),
                    }
                )
                if number == 0:
                    attr_rows.append(
                        {"trial_id": trial_id, "key": BASELINE_ATTR, "value_json": "true"}
                    )
                event_rows.append(
                    {
                        "study_id": study_id,
                        "kind": EventKind.TRIAL_STARTED,
                        "trial_number": number,
                        "payload": {"params": raw},
                    }
                )
                for epoch, loss in enumerate(curve, start=1):
                    iv_rows.append(
                        {
                            "trial_id": trial_id,
                            "step": epoch,
                            "intermediate_value": loss,
                            "intermediate_value_type": "FINITE",
                        }
                    )
                    event_rows.append(
                        {
                            "study_id": study_id,
                            "kind": EventKind.EPOCH,
                            "trial_number": number,
                            "epoch": epoch,
                            "train_loss": loss * 0.9,
                            "val_loss": loss,
                            "val_accuracy": 1 - loss / 3,
                            "elapsed_s": epoch * 0.02,
                        }
                    )
                event_rows.append(
                    {
                        "study_id": study_id,
                        "kind": EventKind.TRIAL_FINISHED,
                        "trial_number": number,
                        "state": "COMPLETE",
                        "value": curve[-1],
                    }
                )
            conn.execute(insert(oi.TRIALS), trial_rows)
            conn.execute(insert(oi.PARAMS), param_rows)
            conn.execute(insert(oi.VALUES), value_rows)
            conn.execute(insert(oi.USER_ATTRS), attr_rows)
            conn.execute(insert(oi.INTERMEDIATE), iv_rows)
            columns = [c.name for c in Event.__table__.columns if c.name != "id"]
            conn.execute(
                insert(Event.__table__), [{c: row.get(c) for c in columns} for row in event_rows]
            )
    print(
        f"study {study_id}: {trials} trials x {epochs} epochs "
        f"written in {time.perf_counter() - t0:.1f} s"
    )
    return study_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="sqlite:///bench/big.db")
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=50)
    args = parser.parse_args()
    make(args.database_url, args.trials, args.epochs)


if __name__ == "__main__":
    main()
