"""Trials trained by external code: ask for one, report each step, beat, tell how it ended."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from app.deps import DB_INT_MAX, JobDep, StateDep, require_token
from app.schemas import (
    AskPublic,
    AskRequest,
    HandedOutTrial,
    HeartbeatPublic,
    LeaseRequest,
    ReportPublic,
    ReportRequest,
    ReportsRequest,
    TellPublic,
    TellRequest,
)

router = APIRouter(
    prefix="/api/studies/{study_id}", tags=["runners"], dependencies=[Depends(require_token)]
)

TrialNumber = Annotated[int, Path(ge=0, le=DB_INT_MAX)]
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such study or trial"},
    409: {"description": "the lease does not hold the trial, or it ended already"},
    422: {"description": "bad input: a step going back, a value that is not finite"},
}


@router.post("/ask", responses=ERRORS)
def ask(
    job: JobDep, state: StateDep, request: Request, body: AskRequest | None = None
) -> AskPublic:
    """The next trial of a study created with `"task": "external"`: its params and seeds, and
    a lease to report with; after the search, its validation runs; then "done"."""
    host = (body.host if body else None) or (request.client.host if request.client else "?")
    handout = state.external.ask(job, host, ahead=body.ahead if body else False)
    settings = state.settings
    if handout.lease is None or handout.config is None:
        wait = min(float(settings.heartbeat_interval), 2.0) if handout.state == "wait" else None
        return AskPublic(state=handout.state, reason=handout.reason, retry_after_s=wait)
    config, lease = handout.config, handout.lease
    family = config.family()
    return AskPublic(
        state="trial",
        study_id=handout.study_id,
        trial=HandedOutTrial(
            number=lease.number,
            params=family.params(lease.params),
            optimizer=family.name,
            eps_mode=config.eps_mode,
            seeds=list(lease.seeds),
            steps=config.resolved_epochs(),
            metric=config.metric,
            direction=config.direction,
            purpose=handout.purpose,
            torch_line=family.torch_line(lease.params),
        ),
        lease=handout.token,
        heartbeat_interval_s=float(settings.heartbeat_interval),
        grace_period_s=float(settings.grace_period),
    )


@router.post("/trials/{number}/report", responses=ERRORS)
def report(number: TrialNumber, body: ReportRequest, job: JobDep, state: StateDep) -> ReportPublic:
    """The metric at a step (steps only go forward; the same step again changes nothing), and
    whether to prune or stop."""
    prune, stop = state.external.report(
        job, number, body.lease, [(body.step, body.value, dict(body.metrics))]
    )
    return ReportPublic(prune=prune, stop=stop)


@router.post("/trials/{number}/reports", responses=ERRORS)
def reports(
    number: TrialNumber, body: ReportsRequest, job: JobDep, state: StateDep
) -> ReportPublic:
    """Several steps at once, in order, as `report` takes each; whether to prune or stop after
    the last. A step going back is refused with those before it kept."""
    steps = [(r.step, r.value, dict(r.metrics)) for r in body.reports]
    prune, stop = state.external.report(job, number, body.lease, steps)
    return ReportPublic(prune=prune, stop=stop)


@router.post("/trials/{number}/heartbeat", responses=ERRORS)
def heartbeat(
    number: TrialNumber, body: LeaseRequest, job: JobDep, state: StateDep
) -> HeartbeatPublic:
    """Keep the lease (a lease silent for the grace period is failed and its params re-asked)."""
    return HeartbeatPublic(stop=state.external.heartbeat(job, number, body.lease))


@router.post("/trials/{number}/tell", responses=ERRORS)
def tell(number: TrialNumber, body: TellRequest, job: JobDep, state: StateDep) -> TellPublic:
    """How the trial ended: complete (with its value), pruned, stopped, or failed (its params
    are asked again by another runner, a few times at most)."""
    frozen = state.external.tell(
        job, number, body.lease, body.state, body.value, body.reason, body.metrics
    )
    if frozen is None:
        return TellPublic(number=number, state="FAIL", value=None)
    return TellPublic(number=number, state=frozen.state.name, value=frozen.value)
