"""Server-Sent Events: trial started, epoch metrics, trial finished, study status; resumable."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from app import queries
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


@router.get("/events", response_class=StreamingResponse)
async def stream_events(
    request: Request,
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

    def fetch(after_id: int) -> list[Event]:
        with state.db.session(write=False) as session:
            return queries.events_after(session, study.id, after_id)

    async def generate() -> AsyncIterator[str]:
        nonlocal cursor
        yield "retry: 1000\n\n"
        last_sent = time.monotonic()
        while not await request.is_disconnected():
            events = await run_in_threadpool(fetch, cursor)
            for event in events:
                yield format_sse(event)
                cursor = event.id
            if events:
                last_sent = time.monotonic()
            elif time.monotonic() - last_sent > KEEPALIVE_S:
                yield ": keep-alive\n\n"
                last_sent = time.monotonic()
            if not events:
                await asyncio.sleep(state.settings.sse_poll_interval)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(generate(), media_type="text/event-stream", headers=headers)
