"""Analysis figures from `optuna.visualization`, computed on a bounded set of trials and cached.

Optuna's figures do not scale by themselves (on 10,000 trials `plot_contour` exhausted 24 GB and
fANOVA importance ran for over 10 minutes), so a figure is built from at most
`figure_max_trials` finished trials (the best quarter plus the most recent), loaded with plain
SQL rather than `study.get_trials()`; importance uses PED-ANOVA; at most two figures are built at
once; and each result is cached until the study's finished-trial count changes.
"""

from __future__ import annotations

from collections.abc import Callable

import optuna
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState
from plotly.graph_objects import Figure
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import Database
from app.queries import directions
from optim import optuna_internals as oi

FigureBuilder = Callable[[optuna.Study, list[str] | None], Figure]

CONTOUR_MAX_TRIALS = 300  # contour interpolates a grid per pair of params: keep it small


def _importances(study: optuna.Study, params: list[str] | None) -> Figure:
    evaluator = optuna.importance.PedAnovaImportanceEvaluator()
    return optuna.visualization.plot_param_importances(study, evaluator=evaluator, params=params)


def _contour(study: optuna.Study, params: list[str] | None) -> Figure:
    """One pair by default (the first two parameters, lr and beta1 for a full space): a grid of
    every pair is 13 MB of JSON for four parameters."""
    if params is None:
        names = list(study.trials[0].params) if study.trials else []
        params = names[:2]
    return optuna.visualization.plot_contour(study, params=params)


FIGURES: dict[str, FigureBuilder] = {
    "history": lambda study, _: optuna.visualization.plot_optimization_history(study),
    "parallel_coordinate": lambda study, params: optuna.visualization.plot_parallel_coordinate(
        study, params=params
    ),
    "importances": _importances,
    "contour": _contour,
    "slice": lambda study, params: optuna.visualization.plot_slice(study, params=params),
    "edf": lambda study, _: optuna.visualization.plot_edf(study),
    "timeline": lambda study, _: optuna.visualization.plot_timeline(study),
}
MIN_TRIALS = {"importances": 2, "contour": 2, "parallel_coordinate": 1, "slice": 1}


class UnknownParamsError(ValueError):
    """A requested parameter is not one of the study's."""


class NotEnoughTrialsError(ValueError):
    """The figure needs more finished trials than the study has yet."""


def figure_version(session: Session, study_id: int) -> tuple[int, int]:
    """Changes whenever a trial finishes: (finished trials, highest finished trial id)."""
    row = session.execute(
        select(func.count(), func.max(oi.TRIALS.c.trial_id)).where(
            oi.TRIALS.c.study_id == study_id,
            oi.TRIALS.c.state.in_(("COMPLETE", "PRUNED", "FAIL")),
        )
    ).one()
    return int(row[0]), int(row[1] or 0)


def load_trials(session: Session, study_id: int, limit: int) -> list[FrozenTrial]:
    """At most `limit` finished trials as FrozenTrials: the best quarter and the most recent."""
    direction = directions(session, [study_id]).get(study_id, "minimize")
    value = oi.VALUES.c.value
    best_ids = session.scalars(
        select(oi.TRIALS.c.trial_id)
        .join(oi.VALUES, oi.VALUES.c.trial_id == oi.TRIALS.c.trial_id)
        .where(oi.TRIALS.c.study_id == study_id, oi.TRIALS.c.state == "COMPLETE")
        .order_by(value.asc() if direction == "minimize" else value.desc())
        .limit(max(limit // 4, 1))
    ).all()
    recent_ids = session.scalars(
        select(oi.TRIALS.c.trial_id)
        .where(oi.TRIALS.c.study_id == study_id, oi.TRIALS.c.state.in_(("COMPLETE", "PRUNED")))
        .order_by(oi.TRIALS.c.trial_id.desc())
        .limit(limit)
    ).all()
    ids = sorted(set(best_ids) | set(recent_ids[: max(limit - len(best_ids), 0)]))
    if not ids:
        return []
    return oi.read_trials(session.connection(), [oi.TRIALS.c.trial_id.in_(ids)])


def build_figure(
    db: Database,
    study_id: int,
    kind: str,
    max_trials: int,
    params: list[str] | None,
) -> str:
    """Figure `kind` of the study as Plotly JSON text, from at most `max_trials` trials.

    The trials are read in a session of their own, closed before the figure's computation:
    no connection is held while the CPU works."""
    limit = min(max_trials, CONTOUR_MAX_TRIALS) if kind == "contour" else max_trials
    with db.session(write=False) as session:
        trials = load_trials(session, study_id, limit)
        direction = directions(session, [study_id]).get(study_id, "minimize")
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    needed = MIN_TRIALS.get(kind, 1)
    if len(complete) < needed:
        raise NotEnoughTrialsError(
            f"the {kind} figure needs at least {needed} completed trial(s); "
            f"the study has {len(complete)} so far"
        )
    study = optuna.create_study(
        direction=StudyDirection.MAXIMIZE if direction == "maximize" else StudyDirection.MINIMIZE
    )
    study.add_trials(trials)
    known = set().union(*(t.params for t in trials))
    unknown = sorted(set(params or ()) - known)
    if unknown:
        raise UnknownParamsError(f"unknown parameters {unknown}; the study has {sorted(known)}")
    figure = FIGURES[kind](study, params)
    return str(figure.to_json())
