// Live study events: Server-Sent Events through EventSource, or read with fetch when a token is
// set (EventSource cannot send one), with polling of /curves as the last fallback.
import { api, apiUrl, getToken, isAbort } from "./api.js";

const POLL_MS = 2000;
const RECONNECT_MS = 2000;
const REFUSED_KEY = "adamtune.sse-refused"; // this tab's server refused EventSource once: poll

function sseRefused() {
  try {
    return sessionStorage.getItem(REFUSED_KEY) === "1";
  } catch {
    return false;
  }
}

function rememberRefused() {
  try {
    sessionStorage.setItem(REFUSED_KEY, "1");
  } catch {
    /* storage disabled */
  }
}

const EVENT_NAMES = ["epoch", "trial_started", "trial_finished", "study_status"];

export class StudyStream {
  /**
   * @param {number|string} studyId
   * @param {number} cursor where the first /curves load ended
   * @param {{epoch, trialStarted, trialFinished, status, mode}} handlers
   */
  constructor(studyId, cursor, handlers) {
    this.studyId = studyId;
    this.cursor = cursor || 0;
    this.handlers = handlers;
    this.es = null;
    this.pollTimer = null;
    this.polling = false;
    this.stopped = true;
    this.abort = null;
    this.trialStates = new Map();
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    if (getToken() && typeof ReadableStream !== "undefined" && typeof TextDecoder !== "undefined") {
      this.startFetchStream();
      return;
    }
    if (typeof EventSource === "undefined" || sseRefused()) {
      this.startPolling();
      return;
    }
    const es = new EventSource(apiUrl(`/studies/${this.studyId}/events`, { after: this.cursor }));
    this.es = es;
    for (const name of EVENT_NAMES) {
      es.addEventListener(name, (e) => this.receive(name, e.data, e.lastEventId));
    }
    es.addEventListener("open", () => {
      this.opened = true;
      this.handlers.mode?.("live");
    });
    es.addEventListener("error", () => {
      if (this.stopped) return;
      if (es.readyState === EventSource.CLOSED) {
        // the server refused the stream (e.g. 401: EventSource cannot send the token): poll
        // with fetch, which can, from now on in this tab
        if (!this.opened) rememberRefused();
        es.close();
        this.es = null;
        this.startPolling();
      } else {
        this.handlers.mode?.("reconnecting");
      }
    });
  }

  /** One event, from EventSource or the fetch reader: move the cursor, then call its handler. */
  receive(name, text, id) {
    if (this.stopped) return;
    if (id && Number.isFinite(Number(id))) this.cursor = Number(id);
    let d;
    try {
      d = JSON.parse(text);
    } catch {
      return;
    }
    if (name === "epoch") this.handlers.epoch?.(d);
    else if (name === "trial_started") this.handlers.trialStarted?.(d);
    else if (name === "trial_finished") {
      this.trialStates.set(d.trial, d.state);
      this.handlers.trialFinished?.(d);
    } else if (name === "study_status") this.handlers.status?.(d);
  }

  /** The event stream read with fetch, which can send the token; reconnects from the cursor. */
  async startFetchStream() {
    while (!this.stopped) {
      this.abort = new AbortController();
      try {
        const res = await fetch(apiUrl(`/studies/${this.studyId}/events`, { after: this.cursor }), {
          headers: { Accept: "text/event-stream", Authorization: `Bearer ${getToken()}` },
          signal: this.abort.signal,
        });
        if (!res.ok || !res.body) {
          // refused (a wrong token: 401): polling goes through the API helper, which asks for it
          if (!this.stopped) this.startPolling();
          return;
        }
        this.handlers.mode?.("live");
        await this.readFrames(res.body.getReader());
      } catch (err) {
        if (isAbort(err) || this.stopped) return;
      }
      if (this.stopped) return;
      this.handlers.mode?.("reconnecting");
      await new Promise((resolve) => {
        this.pollTimer = setTimeout(resolve, RECONNECT_MS);
      });
    }
  }

  /** Split the byte stream into SSE frames (a blank line ends one) and dispatch each. */
  async readFrames(reader) {
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done || this.stopped) return;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = "message";
        let id = "";
        const data = [];
        for (const line of frame.split("\n")) {
          if (!line || line.startsWith(":")) continue; // keep-alive comments
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          let text = colon < 0 ? "" : line.slice(colon + 1);
          if (text.startsWith(" ")) text = text.slice(1);
          if (field === "event") name = text;
          else if (field === "data") data.push(text);
          else if (field === "id") id = text;
        }
        if (data.length) this.receive(name, data.join("\n"), id);
        else if (id && Number.isFinite(Number(id))) this.cursor = Number(id);
      }
    }
  }

  startPolling() {
    this.polling = true;
    this.handlers.mode?.("polling");
    const tick = async () => {
      if (this.stopped) return;
      this.abort = new AbortController();
      try {
        const resp = await api.get(`/studies/${this.studyId}/curves`, { after: this.cursor }, { signal: this.abort.signal });
        if (this.stopped) return;
        this.ingest(resp);
      } catch (err) {
        if (isAbort(err)) return;
      }
      if (!this.stopped) this.pollTimer = setTimeout(tick, POLL_MS);
    };
    this.pollTimer = setTimeout(tick, POLL_MS);
  }

  /** Turn a /curves?after= answer into the same callbacks as the SSE events. */
  ingest(resp) {
    const pts = resp.points || {};
    for (const info of resp.trials || []) {
      const prev = this.trialStates.get(info.number);
      if (prev === undefined) this.handlers.trialStarted?.({ trial: info.number, params: info.params });
      if (info.state !== prev && info.state !== "RUNNING" && info.state !== "WAITING") {
        this.handlers.trialFinished?.({ trial: info.number, state: info.state, value: info.value, reason: info.reason });
      }
      this.trialStates.set(info.number, info.state);
    }
    const n = (pts.trial || []).length;
    for (let i = 0; i < n; i++) {
      this.handlers.epoch?.({
        trial: pts.trial[i],
        epoch: pts.epoch[i],
        train_loss: pts.train_loss?.[i],
        val_loss: pts.val_loss?.[i],
        val_accuracy: pts.val_accuracy?.[i],
      });
    }
    if (resp.cursor !== undefined && resp.cursor !== null) this.cursor = resp.cursor;
  }

  /** Remember the states from the first /curves load so polling only reports changes. */
  seed(trials) {
    for (const t of trials || []) this.trialStates.set(t.number, t.state);
  }

  stop() {
    this.stopped = true;
    if (this.es) this.es.close();
    this.es = null;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
    if (this.abort) this.abort.abort();
    this.polling = false;
  }
}
