// Live study events: Server-Sent Events, with polling of /curves as a fallback (e.g. when the
// server protects reads with a token, which EventSource cannot send).
import { api, apiUrl, isAbort } from "./api.js";

const POLL_MS = 2000;
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
    if (typeof EventSource === "undefined" || sseRefused()) {
      this.startPolling();
      return;
    }
    const es = new EventSource(apiUrl(`/studies/${this.studyId}/events`, { after: this.cursor }));
    this.es = es;
    const on = (name, fn) =>
      es.addEventListener(name, (e) => {
        if (this.stopped) return;
        if (e.lastEventId && Number.isFinite(Number(e.lastEventId))) this.cursor = Number(e.lastEventId);
        let data;
        try {
          data = JSON.parse(e.data);
        } catch {
          return;
        }
        fn(data);
      });
    on("epoch", (d) => this.handlers.epoch?.(d));
    on("trial_started", (d) => this.handlers.trialStarted?.(d));
    on("trial_finished", (d) => {
      this.trialStates.set(d.trial, d.state);
      this.handlers.trialFinished?.(d);
    });
    on("study_status", (d) => this.handlers.status?.(d));
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
