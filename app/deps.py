"""FastAPI dependencies: the app state, sessions, the study and job lookups, the token check."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated

import optuna
from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.config import Settings
from app.curves_payload import CurvesCache
from app.db import Database
from app.doorbell import Doorbell
from app.event_hub import EventHub
from app.external import ExternalTrials
from app.figure_cache import FigureCache
from app.jobs import ConflictError, get_job
from app.models import JobKind, StudyJob
from app.queries import study_ref
from app.schemas import StudyPublic
from app.summaries import study_summaries


@dataclass
class AppState:
    """What the routes share; built once by `create_app` and kept on `app.state.adamtune`."""

    settings: Settings
    db: Database
    storage: optuna.storages.RDBStorage
    figures: FigureCache
    curves: CurvesCache
    events: EventHub
    external: ExternalTrials
    # rung after a study is created or resumed: `adamtune serve`'s workers start on it at once
    doorbell: Doorbell = field(default_factory=Doorbell)


def get_state(request: Request) -> AppState:
    return request.app.state.adamtune  # type: ignore[no-any-return]


StateDep = Annotated[AppState, Depends(get_state)]


def get_read_session(state: StateDep) -> Iterator[Session]:
    with state.db.session(write=False) as session:
        yield session


# scope="function": the session (and its connection) is closed when the route returns, not when
# the response has been sent, which for a slow client or a stream could be much later
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]

# ids, numbers and cursors are 64-bit integers in the database: a larger one is bad input (422),
# not an OverflowError in the driver (500)
DB_INT_MAX = 2**63 - 1
StudyIdPath = Annotated[int, Path(ge=0, le=DB_INT_MAX)]

_bearer = HTTPBearer(auto_error=False)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _check_token(state: AppState, credentials: HTTPAuthorizationCredentials | None) -> None:
    token = state.settings.api_token
    if token is None:
        return
    given = credentials.credentials if credentials is not None else ""
    # constant-time comparison: the response time must not reveal how much of a guess matched
    if not secrets.compare_digest(given.encode(), token.get_secret_value().encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing or wrong API token (Authorization: Bearer <token>)",
            headers={"WWW-Authenticate": "Bearer"},
        )


def require_token(state: StateDep, credentials: BearerDep) -> None:
    """Mutating routes: the token is needed whenever one is configured."""
    _check_token(state, credentials)


def require_read_token(state: StateDep, credentials: BearerDep) -> None:
    """Read routes: the token is needed only with ADAMTUNE_PROTECT_READS=true."""
    if state.settings.protect_reads:
        _check_token(state, credentials)


def get_study(study_id: StudyIdPath, session: ReadSessionDep) -> StudyPublic:
    """The study summary, or 404."""
    found = study_summaries(session, study_id)
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"study {study_id} not found")
    return found[0]


StudyDep = Annotated[StudyPublic, Depends(get_study)]


def get_job_of(study_id: StudyIdPath, session: ReadSessionDep) -> StudyJob:
    """The adamtune job of a study, or 404 (none, or a study adamtune did not create)."""
    job = get_job(session, study_id)
    if job is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"study {study_id} not found (or not adamtune's)"
        )
    return job


JobDep = Annotated[StudyJob, Depends(get_job_of)]


def get_search_job(study: StudyDep, session: ReadSessionDep) -> StudyJob:
    """The search job of a study: 404 without the study, 409 when it is not a search."""
    job = get_job(session, study.id)
    if job is None or job.kind != JobKind.SEARCH:
        raise ConflictError("only a search launched by adamtune can be validated")
    return job


SearchJobDep = Annotated[StudyJob, Depends(get_search_job)]


@dataclass(frozen=True)
class StudyRef:
    """What hot read routes need of a study, without computing its summary."""

    id: int
    name: str
    read_only: bool


def get_study_ref(study_id: StudyIdPath, state: StateDep) -> StudyRef:
    with state.db.session(write=False) as session:  # closed at once: streams use this too
        found = study_ref(session, study_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"study {study_id} not found")
    return StudyRef(id=study_id, name=found[0], read_only=found[1])


StudyRefDep = Annotated[StudyRef, Depends(get_study_ref)]
