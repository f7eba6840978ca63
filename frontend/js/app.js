// Hash router (#/, #/new, #/studies/3, #/compare?ids=3,4, #/comparisons/2) and the API-token field.
import { getToken, setToken } from "./api.js";
import { clear, h, setText } from "./dom.js";
import * as compare from "./pages/compare.js";
import * as comparisons from "./pages/comparisons.js";
import * as newStudy from "./pages/new_study.js";
import * as study from "./pages/study.js";
import * as studies from "./pages/studies.js";

const routes = [
  { re: /^\/?$/, page: studies, nav: "studies", title: "Studies" },
  { re: /^\/new\/?$/, page: newStudy, nav: "new", title: "New study" },
  { re: /^\/studies\/(\d+)\/?$/, page: study, nav: "studies", title: "Study" },
  { re: /^\/compare\/?(?:\?(.*))?$/, page: compare, nav: "studies", title: "Compare" },
  { re: /^\/comparisons\/?$/, page: { mount: comparisons.mountList }, nav: "comparisons", title: "Comparisons" },
  { re: /^\/comparisons\/(\d+)\/?$/, page: { mount: comparisons.mountDetail }, nav: "comparisons", title: "Comparison" },
];

const main = document.getElementById("main");
let current = null; // {controller, cleanups}

function teardown() {
  if (!current) return;
  current.controller.abort();
  for (const fn of current.cleanups.reverse()) {
    try {
      fn();
    } catch (err) {
      console.warn("cleanup failed", err);
    }
  }
  current = null;
}

/** Render the page for the current hash. */
function render() {
  teardown();
  const path = decodeURIComponent(location.hash.replace(/^#/, "")) || "/";
  clear(main);
  for (const link of document.querySelectorAll("[data-nav]")) link.classList.remove("active");
  const route = routes.find((r) => r.re.test(path));
  if (!route) {
    document.title = "Not found · adamtune";
    main.appendChild(
      h("section", { class: "panel" }, h("h1", { text: "Page not found" }), h("p", {}, h("a", { href: "#/" }, "Back to the studies"))),
    );
    return;
  }
  const match = path.match(route.re);
  document.querySelector(`[data-nav="${route.nav}"]`)?.classList.add("active");
  document.title = `${route.title} · adamtune`;
  const controller = new AbortController();
  current = { controller, cleanups: [] };
  const ctx = {
    signal: controller.signal,
    /** Register a function to run when the user leaves the page. */
    onCleanup: (fn) => {
      if (current && current.controller === controller) current.cleanups.push(fn);
      else fn(); // registered after the user left: clean up at once
    },
    alive: () => !controller.signal.aborted,
    setTitle: (title) => {
      document.title = `${title} · adamtune`;
    },
    rerender: render,
  };
  const view = h("div", { class: "page" });
  main.appendChild(view);
  try {
    const result = route.page.mount(view, ctx, ...match.slice(1));
    if (result && typeof result.catch === "function") {
      result.catch((err) => {
        if (ctx.alive()) console.warn("page failed", err);
      });
    }
  } catch (err) {
    console.warn("page failed", err);
  }
}

// --- API token (only needed when the server sets ADAMTUNE_API_TOKEN) ---
const tokenForm = document.getElementById("token-form");
const tokenInput = document.getElementById("token-input");
const tokenMessage = document.getElementById("token-message");
const tokenToggle = document.getElementById("token-toggle");

let reloadAfterToken = false; // a page failed to load (a read needed the token): render it again

function showTokenForm(message) {
  tokenForm.hidden = false;
  tokenToggle.hidden = true;
  setText(tokenMessage, message || "");
  tokenInput.value = getToken();
}

tokenForm.addEventListener("submit", (event) => {
  event.preventDefault();
  setToken(tokenInput.value.trim());
  tokenForm.hidden = true;
  tokenToggle.hidden = !getToken();
  // after a refused write (stop, create...) keep the page as it is, so a form keeps its input
  if (reloadAfterToken) render();
  reloadAfterToken = false;
});
document.getElementById("token-clear").addEventListener("click", () => {
  setToken("");
  tokenInput.value = "";
  tokenForm.hidden = true;
  tokenToggle.hidden = true;
  reloadAfterToken = false;
});
tokenToggle.addEventListener("click", () => showTokenForm(""));
window.addEventListener("adamtune:auth-required", (event) => {
  const method = event.detail?.method || "GET";
  if (method === "GET") reloadAfterToken = true;
  const what = method === "GET" ? "" : " Save it, then try again.";
  showTokenForm((getToken() ? "The token was refused." : "This server needs an API token.") + what);
});
tokenToggle.hidden = !getToken();

window.addEventListener("hashchange", render);
render();
