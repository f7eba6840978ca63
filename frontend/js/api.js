// fetch wrapper: JSON in/out, the optional bearer token, and FastAPI error parsing.

const TOKEN_KEY = "adamtune.token";

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return "";
  }
}

export function setToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage disabled: the token lives for this page only */
  }
}

/** An API answer that was not 2xx (status 0: the server could not be reached). */
export class ApiError extends Error {
  constructor(status, detail, fallback) {
    super(describeDetail(detail) || fallback || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
  }

  /** FastAPI validation errors as [{loc: [...], msg}] (empty for other errors). */
  get fieldErrors() {
    if (!Array.isArray(this.detail)) return [];
    return this.detail
      .filter((d) => d && typeof d === "object")
      .map((d) => ({ loc: Array.isArray(d.loc) ? d.loc.map(String) : [], msg: cleanMsg(d.msg) }));
  }
}

function cleanMsg(msg) {
  // pydantic prefixes errors raised in validators with "Value error, "
  return String(msg ?? "invalid value").replace(/^Value error, /, "");
}

function describeDetail(detail) {
  if (detail === null || detail === undefined) return "";
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((d) => {
        const loc = Array.isArray(d?.loc) ? d.loc.filter((p) => p !== "body").join(".") : "";
        return loc ? `${loc}: ${cleanMsg(d?.msg)}` : cleanMsg(d?.msg);
      })
      .join("; ");
  }
  if (typeof detail === "object" && detail.message) return String(detail.message);
  return JSON.stringify(detail);
}

export function isAbort(err) {
  return err && (err.name === "AbortError" || err.code === 20);
}

/** A readable message for any error thrown by `request`. */
export function errorMessage(err) {
  if (err instanceof ApiError) {
    if (err.status === 0) return "The server cannot be reached.";
    if (err.status === 401) return `Not authorised: ${err.message}. Enter the API token at the top.`;
    return err.message;
  }
  return err && err.message ? err.message : String(err);
}

/** URL (relative to the page, so a reverse-proxy prefix keeps working) of an API path. */
export function apiUrl(path, query) {
  let url = `api${path}`;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== null && v !== undefined && v !== "") params.set(k, String(v));
    }
    const qs = params.toString();
    if (qs) url += `?${qs}`;
  }
  return url;
}

/**
 * request("GET", "/studies", {query, body, signal}) -> parsed JSON (null for 204);
 * with `withHeaders: true` -> {data, headers}.
 * Throws ApiError; a 401 also fires the window event "adamtune:auth-required".
 */
export async function request(method, path, { query, body, signal, withHeaders } = {}) {
  const headers = { Accept: "application/json" };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, signal };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(apiUrl(path, query), init);
  } catch (err) {
    if (isAbort(err)) throw err;
    throw new ApiError(0, null, "network error");
  }
  if (res.status === 204) return withHeaders ? { data: null, headers: res.headers } : null;
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const detail = data && typeof data === "object" && "detail" in data ? data.detail : null;
    const err = new ApiError(res.status, detail, `${res.status} ${res.statusText || "error"}`);
    if (res.status === 401) {
      window.dispatchEvent(new CustomEvent("adamtune:auth-required", { detail: { method, message: err.message } }));
    }
    throw err;
  }
  return withHeaders ? { data, headers: res.headers } : data;
}

/**
 * Save an API answer as a file. A plain link cannot send the token, so with one the file is
 * fetched with the Authorization header and handed to the browser as a Blob's object URL.
 */
export async function download(path, filename, { signal } = {}) {
  const headers = {};
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(apiUrl(path), { headers, signal });
  } catch (err) {
    if (isAbort(err)) throw err;
    throw new ApiError(0, null, "network error");
  }
  if (!res.ok) {
    let detail = null;
    try {
      detail = (await res.json()).detail ?? null;
    } catch {
      detail = null;
    }
    const err = new ApiError(res.status, detail, `${res.status} ${res.statusText || "error"}`);
    if (res.status === 401) {
      window.dispatchEvent(new CustomEvent("adamtune:auth-required", { detail: { method: "GET", message: err.message } }));
    }
    throw err;
  }
  const url = URL.createObjectURL(await res.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.appendChild(link);
  link.click();
  link.remove();
  // the browser has taken the file once the click's task is over
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

export const api = {
  get: (path, query, opts = {}) => request("GET", path, { ...opts, query }),
  post: (path, body, opts = {}) => request("POST", path, { ...opts, body }),
  put: (path, body, opts = {}) => request("PUT", path, { ...opts, body }),
  del: (path, opts = {}) => request("DELETE", path, opts),
};
