"""`app.event_batch.EventBatcher`: runners' report events appended in groups, on the real
database: every event stored once, each request's in order, stored before `append` returns;
a request that cannot be stored fails alone."""

from __future__ import annotations

import threading
from concurrent.futures import Future

import pytest
from sqlalchemy import select

from app.event_batch import EventBatcher
from app.models import Event, EventKind
from tests.app.conftest import Api
from tests.conftest import both_databases


def epochs(study_id: int, number: int, steps: range) -> list[Event]:
    return [
        Event(study_id=study_id, kind=EventKind.EPOCH, trial_number=number, epoch=step,
              val_loss=1.0 / (step + 1))
        for step in steps
    ]  # fmt: skip


def stored(api: Api, study_id: int) -> list[tuple[int, int]]:
    """(trial, epoch) of the study's epoch events, by id."""
    db = api.client.app.state.adamtune.db  # type: ignore[attr-defined]
    with db.session(write=False) as session:
        rows = session.execute(
            select(Event.trial_number, Event.epoch)
            .where(Event.study_id == study_id, Event.kind == EventKind.EPOCH)
            .order_by(Event.id)
        )
        return [(row[0], row[1]) for row in rows]


@both_databases
def test_concurrent_requests_each_find_their_events_stored_in_order(api: Api) -> None:
    study = api.create_study(task="external", n_trials=2, epochs=8)
    batcher = EventBatcher(api.client.app.state.adamtune.db)  # type: ignore[attr-defined]
    seen: dict[int, list[tuple[int, int]]] = {}

    def request(number: int) -> None:
        batcher.append(epochs(study["id"], number, range(4)))
        seen[number] = [row for row in stored(api, study["id"]) if row[0] == number]

    threads = [threading.Thread(target=request, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # each request saw its own events once `append` returned, in the order it gave them
    assert seen == {n: [(n, step) for step in range(4)] for n in range(16)}
    rows = stored(api, study["id"])
    assert sorted(rows) == [(n, step) for n in range(16) for step in range(4)]
    batcher.append([])  # nothing to store: returns at once


@both_databases
def test_a_request_that_cannot_be_stored_fails_alone(api: Api) -> None:
    study = api.create_study(task="external", n_trials=2, epochs=8)
    batcher = EventBatcher(api.client.app.state.adamtune.db)  # type: ignore[attr-defined]
    group = [
        (epochs(study["id"], 0, range(2)), Future()),
        (epochs(999_999, 0, range(2)), Future()),  # no such study: the foreign key refuses it
        (epochs(study["id"], 1, range(2)), Future()),
    ]
    batcher._write(group)  # one group, as the writer thread would take them  # noqa: SLF001
    assert group[0][1].result() is None and group[2][1].result() is None
    with pytest.raises(Exception, match="(?i)foreign key"):
        group[1][1].result()
    assert stored(api, study["id"]) == [(0, 0), (0, 1), (1, 0), (1, 1)]
