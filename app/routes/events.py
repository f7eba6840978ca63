"""Server-Sent Events: trial started, epoch metrics, trial finished, study status; resumable."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse

from app.deps import DB_INT_MAX, StateDep, StudyRefDep, require_read_token
from app.models import Event, EventKind

router = APIRouter(
    prefix="/api/studies/{study_id}", tags=["events"], dependencies=[Depends(require_read_token)]
)

KEEPALIVE_S = 15.0


def event_data(event: Event) -> dict[str, Any]:
    """The JSON payload of one event, by kind (see docs/API.md)."""
    if event.kind == EventKind.EPOCH:
        return {
            "trial": event.trial_number,
            "epoch": event.epoch,
            "train_loss": event.train_loss,
            "val_loss": event.val_loss,
            "val_accuracy": event.val_accuracy,
            "elapsed_s": event.elapsed_s,
        }
    if event.kind == EventKind.TRIAL_STARTED:
        return {"trial": event.trial_number, **(event.payload or {})}
    if event.kind == EventKind.TRIAL_FINISHED:
        return {
            "trial": event.trial_number,
            "state": event.state,
            "value": event.value,
            "reason": event.message,
        }
    return {"status": event.state, "message": event.message}


def format_sse(event: Event) -> str:
    data = json.dumps(event_data(event), allow_nan=False, default=str)
    return f"id: {event.id}\nevent: {event.kind}\ndata: {data}\n\n"


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "an event stream"}},
)
async def stream_events(
    study: StudyRefDep,
    state: StateDep,
    after: Annotated[int | None, Query(ge=0, le=DB_INT_MAX)] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Resumes after `Last-Event-ID` (sent by EventSource on reconnect) or `?after=`."""
    cursor = after or 0
    # only ASCII digits count ("²".isdigit() is true); no event id has more than 18 of them
    if last_event_id and last_event_id.isascii() and last_event_id.isdigit():
        cursor = int(last_event_id) if len(last_event_id) <= 18 else DB_INT_MAX

    async def generate() -> AsyncIterator[str]:
        yield "retry: 1000\n\n"
        async for text in state.events.stream(study.id, cursor, KEEPALIVE_S):
            yield text or ": keep-alive\n\n"

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(generate(), media_type="text/event-stream", headers=headers)
