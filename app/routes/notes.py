"""Notes on a study and on its trials: Markdown source in, rendered (safe) HTML out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, status

from app import queries
from app.deps import (
    DB_INT_MAX,
    ReadSessionDep,
    StateDep,
    StudyRefDep,
    require_read_token,
    require_token,
)
from app.notes import read_note, write_note
from app.schemas import NotePublic, NoteUpdate

router = APIRouter(prefix="/api/studies/{study_id}", tags=["notes"])

TrialNumber = Annotated[int, Path(ge=0, le=DB_INT_MAX)]


def _require_trial(session: ReadSessionDep, study_id: int, number: int) -> None:
    if queries.trial_count(session, study_id, numbers=[number]) == 0:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"trial {number} not found")


@router.get("/note", dependencies=[Depends(require_read_token)])
def read_study_note(study: StudyRefDep, session: ReadSessionDep) -> NotePublic:
    return NotePublic(**read_note(session, study.id, None))


@router.put("/note", dependencies=[Depends(require_token)])
def write_study_note(study: StudyRefDep, body: NoteUpdate, state: StateDep) -> NotePublic:
    return NotePublic(**write_note(state.storage, study.id, None, body.text))


@router.get("/trials/{number}/note", dependencies=[Depends(require_read_token)])
def read_trial_note(number: TrialNumber, study: StudyRefDep, session: ReadSessionDep) -> NotePublic:
    _require_trial(session, study.id, number)
    return NotePublic(**read_note(session, study.id, number))


@router.put("/trials/{number}/note", dependencies=[Depends(require_token)])
def write_trial_note(
    number: TrialNumber,
    study: StudyRefDep,
    body: NoteUpdate,
    state: StateDep,
    session: ReadSessionDep,
) -> NotePublic:
    _require_trial(session, study.id, number)
    return NotePublic(**write_note(state.storage, study.id, number, body.text))
