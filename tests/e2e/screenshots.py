"""The README's screenshots: `make screenshots` (about two minutes on 2 cores).

Runs a real `adamtune serve` with two workers on a fresh SQLite file, tunes Rosenbrock with 120
trials (plus two small studies for the list), and photographs the studies list and the study
page in the light and the dark theme into docs/screenshots/. Tests never write there.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, ROOT, launched_server

OUT = ROOT / "docs" / "screenshots"
READY_JS = "(n) => (document.getElementById('curves-plot')?.data || []).length >= n"
FIGURE_JS = "() => (document.getElementById('figure-plot')?.data || []).length > 0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--trials", type=int, default=120)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, launched_server(Path(tmp), workers=2) as server:
        sweep = server.create_study(
            name="rosenbrock sweep", task="rosenbrock", n_trials=args.trials, epochs=20, seed=0
        )
        server.create_study(
            name="quadratic quick look", task="quadratic_deep", n_trials=6, epochs=8
        )
        stopped = server.create_study(
            name="lr only",
            task="rosenbrock",
            n_trials=40,
            epochs=20,
            space={"beta1": {"value": 0.9}, "beta2": {"value": 0.999}, "eps": {"value": 1e-8}},
        )
        server.wait_status(sweep["id"], "completed", timeout=900)
        deadline = time.monotonic() + 120
        while server.study(stopped["id"])["progress"]["finished"] < 6:
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        server.api("POST", f"/api/studies/{stopped['id']}/stop")
        deadline = time.monotonic() + 300
        while any(
            s["status"] in ("queued", "running", "stopping")
            for s in server.api("GET", "/api/studies").json()["studies"]
        ):
            if time.monotonic() > deadline:
                break
            time.sleep(1)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for scheme, suffix in (("light", ""), ("dark", "-dark")):
                context = browser.new_context(
                    viewport={"width": 1280, "height": 1500}, color_scheme=scheme
                )
                page = context.new_page()
                page.goto(f"{server.url}/#/studies/{sweep['id']}")
                page.wait_for_function(READY_JS, arg=args.trials)
                page.locator(".figures").scroll_into_view_if_needed()
                page.click(".tab[data-kind=parallel_coordinate]")
                page.wait_for_function(FIGURE_JS)
                page.evaluate("() => window.scrollTo(0, 0)")
                page.screenshot(path=str(args.out / f"study{suffix}.png"), full_page=True)
                if scheme == "light":
                    page.set_viewport_size({"width": 1280, "height": 560})
                    page.goto(f"{server.url}/#/")
                    page.wait_for_selector(f"tr[data-study-id='{sweep['id']}']")
                    page.screenshot(path=str(args.out / "studies.png"))
                context.close()
            browser.close()
    for name in ("studies.png", "study.png", "study-dark.png"):
        print(args.out / name)


if __name__ == "__main__":
    main()
