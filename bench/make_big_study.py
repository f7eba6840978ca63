"""Write a big finished study (default 10,000 trials x 50 epochs) into a database, fast.

The study is created through adamtune (so it is a real adamtune study with its job row and
config), then trials (as `FrozenTrial`s, written by `optim.optuna_internals.bulk_insert_trials`
in the shape Optuna's storage writes them) and epoch events are bulk-inserted: going through
`trial.report` would take hours at one commit per report.

    python bench/make_big_study.py --database-url sqlite:///bench/big.db --trials 10000 --epochs 50
"""

from __future__ import annotations

import argparse
import math
import time
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy import insert

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
    study_id = storage.get_study_id_from_name(study.study_name)
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
        for lo in range(0, trials, CHUNK // epochs):
            hi = min(lo + CHUNK // epochs, trials)
            frozen: list[FrozenTrial] = []
            event_rows: list[dict[str, Any]] = []
            for number in range(lo, hi):
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
                user_attrs: dict[str, Any] = {PARAMS_ATTR: adam.as_dict()}
                if number == 0:
                    user_attrs[BASELINE_ATTR] = True
                frozen.append(
                    FrozenTrial(
                        number=number,
                        state=TrialState.COMPLETE,
                        value=curve[-1],
                        datetime_start=oi.as_local_naive(t_start),
                        datetime_complete=oi.as_local_naive(t_start + timedelta(seconds=0.9)),
                        params=raw,
                        distributions={name: dists[name] for name in raw},
                        user_attrs=user_attrs,
                        system_attrs={},
                        intermediate_values=dict(enumerate(curve, start=1)),
                        trial_id=0,  # given by the insert
                    )
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
            oi.bulk_insert_trials(conn, study_id, frozen)
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
