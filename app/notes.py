"""Notes on studies and trials: Markdown kept in Optuna's study system attributes.

Why there: a note then lives and dies with its study (Optuna deletes the attributes with it),
works for studies another script wrote as well, and is written through Optuna's public storage
API. Trial notes are study attributes keyed by the trial's number, as optuna-dashboard does,
because Optuna refuses to change a finished trial's attributes. Markdown is rendered here by
markdown-it-py with raw HTML off: tags in a note come out as text, and links with `javascript:`
or other unsafe schemes are not made links, so the page can insert the HTML as it is.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from typing import Any

import optuna
from markdown_it import MarkdownIt
from sqlalchemy.orm import Session

from optim import optuna_internals as oi

STUDY_NOTE_KEY = "adamtune:note"
TRIAL_NOTE_PREFIX = "adamtune:note:trial:"
MAX_NOTE_CHARS = 20_000


def note_key(trial_number: int | None) -> str:
    return STUDY_NOTE_KEY if trial_number is None else f"{TRIAL_NOTE_PREFIX}{trial_number}"


@cache
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def render(text: str) -> str:
    """Markdown -> HTML that is safe to insert: raw HTML escaped, unsafe links refused."""
    return _markdown().render(text)


def read_note(session: Session, study_id: int, trial_number: int | None) -> dict[str, Any]:
    """{"text", "html", "updated_at"} of the note (empty text when there is none)."""
    stored = oi.study_attr_json(session, study_id, note_key(trial_number), system=True)
    note: dict[str, Any] = {"text": "", "updated_at": None}
    if stored is not None:
        note = json.loads(stored)
    return {**note, "html": render(str(note["text"]))}


def write_note(
    storage: optuna.storages.BaseStorage, study_id: int, trial_number: int | None, text: str
) -> dict[str, Any]:
    note = {"text": text, "updated_at": datetime.now(UTC).isoformat()}
    storage.set_study_system_attr(study_id, note_key(trial_number), note)
    return {**note, "html": render(text)}
