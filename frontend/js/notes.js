// Notes on a study and on its trials: Markdown, rendered by the server into safe HTML
// (markdown-it with raw HTML off: tags come back as text, unsafe links are not links).
//
// The API is `GET/PUT /api/studies/{id}/note` and `GET/PUT /api/studies/{id}/trials/{n}/note`
// with the body {"text": "..."}. A server without them hides the notes: whether it has them is
// read from its OpenAPI schema once, rather than by asking for a note and logging a 404.
import { api, errorMessage, getToken, isAbort } from "./api.js";
import { h, setText } from "./dom.js";

const STUDY_NOTE = "/api/studies/{study_id}/note";
const TRIAL_NOTE = "/api/studies/{study_id}/trials/{number}/note";
const MAX_NOTE = 20000;

let schema = null;

/** {study: bool, trial: bool}: which notes this server stores (false when unsure). */
export function notesSupported() {
  if (!schema) {
    const headers = { Accept: "application/json" };
    if (getToken()) headers.Authorization = `Bearer ${getToken()}`;
    schema = fetch("openapi.json", { headers })
      .then((res) => (res.ok ? res.json() : null))
      .then((doc) => {
        const paths = (doc && doc.paths) || {};
        const has = (path) => !!(paths[path] && paths[path].get && paths[path].put);
        return { study: has(STUDY_NOTE), trial: has(TRIAL_NOTE) };
      })
      .catch(() => ({ study: false, trial: false }));
  }
  return schema;
}

/**
 * A note editor: the saved text, an Edit button, and a textarea with Save/Cancel.
 * @param {{path: string, ctx, label: string, id: string}} opts `path` is the API path of the note
 */
export function noteEditor({ path, ctx, label, id }) {
  const view = h("div", { class: "note-text", id: `${id}-text` });
  const empty = h("p", { class: "muted small", text: `No ${label} yet.` });
  const area = h("textarea", { id: `${id}-input`, rows: 4, maxlength: MAX_NOTE, "aria-label": label, hidden: true });
  const status = h("span", { class: "muted small", role: "status" });
  const edit = h("button", { type: "button", class: "small", id: `${id}-edit`, onclick: () => editing(true) }, "Edit");
  const save = h("button", { type: "button", class: "small primary", id: `${id}-save`, hidden: true, onclick: () => store() }, "Save");
  const cancel = h("button", { type: "button", class: "small ghost", hidden: true, onclick: () => editing(false) }, "Cancel");
  const el = h("div", { class: "note-editor", id }, view, empty, area, h("div", { class: "actions" }, edit, save, cancel, status));
  let text = "";
  let html = "";

  function show() {
    view.innerHTML = html; // rendered by the server from Markdown with raw HTML escaped
    view.hidden = !text;
    empty.hidden = !!text;
  }

  function keep(res, fallback) {
    text = res && typeof res.text === "string" ? res.text : fallback;
    html = res && typeof res.html === "string" ? res.html : "";
  }

  function editing(on) {
    area.hidden = !on;
    save.hidden = !on;
    cancel.hidden = !on;
    edit.hidden = on;
    view.hidden = on || !text;
    empty.hidden = on || !!text;
    if (on) {
      area.value = text;
      area.focus();
    }
  }

  async function store() {
    save.disabled = true;
    setText(status, "Saving…");
    try {
      const res = await api.put(path, { text: area.value }, { signal: ctx.signal });
      if (!ctx.alive()) return;
      keep(res, area.value);
      editing(false);
      show();
      setText(status, "Saved");
    } catch (err) {
      if (isAbort(err) || !ctx.alive()) return;
      setText(status, `Not saved: ${errorMessage(err)}`);
    } finally {
      save.disabled = false;
    }
  }

  async function load() {
    try {
      const res = await api.get(path, null, { signal: ctx.signal });
      if (!ctx.alive()) return;
      keep(res, "");
      show();
    } catch (err) {
      if (isAbort(err) || !ctx.alive()) return;
      setText(status, `Could not load the note: ${errorMessage(err)}`);
    }
  }

  show();
  load();
  return el;
}
