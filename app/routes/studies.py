"""Studies: create (or dry-run), list, read, stop, resume, delete."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Response, status

from app.deps import (
    ReadSessionDep,
    SearchJobDep,
    StateDep,
    StudyDep,
    require_read_token,
    require_token,
)
from app.jobs import check_limits, create_job, delete_job, get_job, resume_job, stop_job
from app.schemas import (
    DryRunResult,
    StudiesPublic,
    StudyCreate,
    StudyPublic,
    ValidationCreate,
    ValidationPublic,
)
from app.summaries import study_summaries
from app.validation import public_report, start_validation

router = APIRouter(prefix="/api/studies", tags=["studies"])


@router.get("", dependencies=[Depends(require_read_token)])
def list_studies(session: ReadSessionDep) -> StudiesPublic:
    return StudiesPublic(studies=study_summaries(session))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require_token)],
    response_model=StudyPublic | DryRunResult,
    responses={200: {"model": DryRunResult}, 409: {}},
)
def create(
    payload: StudyCreate, state: StateDep, response: Response, dry_run: bool = False
) -> StudyPublic | DryRunResult:
    """Queue a study; workers pick it up. With `dry_run=true` only validate it."""
    if dry_run:
        check_limits(payload, state.settings)
        response.status_code = status.HTTP_200_OK
        config = payload.to_config()
        return DryRunResult(valid=True, config=config, training_runs=config.training_runs())
    study_id = create_job(state.db, state.storage, payload, state.settings)
    state.doorbell.ring()
    response.headers["Location"] = f"/api/studies/{study_id}"
    with state.db.session(write=False) as session:
        return study_summaries(session, study_id)[0]


@router.get("/{study_id}", dependencies=[Depends(require_read_token)])
def read(study: StudyDep) -> StudyPublic:
    return study


@router.post("/{study_id}/stop", dependencies=[Depends(require_token)], responses={409: {}})
def stop(study: StudyDep, state: StateDep) -> StudyPublic:
    """Running trials end at an epoch boundary within about a second (pruned, "stopped")."""
    stop_job(state.db, study.id)
    with state.db.session(write=False) as session:
        return study_summaries(session, study.id)[0]


@router.post("/{study_id}/resume", dependencies=[Depends(require_token)], responses={409: {}})
def resume(study: StudyDep, state: StateDep) -> StudyPublic:
    resume_job(state.db, study.id)
    state.doorbell.ring()
    with state.db.session(write=False) as session:
        return study_summaries(session, study.id)[0]


@router.delete(
    "/{study_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Depends(require_token)]
)
def delete(study: StudyDep, state: StateDep) -> Response:
    delete_job(state.db, state.storage, study.id, study.name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{study_id}/validate",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require_token)],
    responses={409: {"description": "a validation runs already, or nothing to validate yet"}},
)
def validate(
    job: SearchJobDep, state: StateDep, body: ValidationCreate | None = None
) -> ValidationPublic:
    """Retrain the study's best `top_k` configs and the defaults on `seeds` fresh seeds (a
    new round: seeds no earlier round or trial used), on the workers, like trials; then the
    pick and the defaults on `confirm_seeds` further seeds, which alone give the reported gain."""
    body = body or ValidationCreate()
    child = start_validation(
        state.db,
        state.storage,
        job,
        top_k=body.top_k,
        seeds=body.seeds,
        confirm_seeds=body.confirm_seeds,
    )
    state.doorbell.ring()
    with state.db.session(write=False) as session:
        child_job = get_job(session, child)
        assert child_job is not None
        return ValidationPublic(**public_report(session, child_job))


@router.get("/{study_id}/validation", dependencies=[Depends(require_read_token)])
def read_validation(study: StudyDep) -> ValidationPublic:
    """The newest validation of the study: per config the mean test metric on the fresh seeds
    with its 95 % CI, the gain over the defaults seed by seed, and the verdict. 404: none."""
    if study.validation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="this study has no validation")
    return study.validation
