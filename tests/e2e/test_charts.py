"""The study page as a decision tool, in Chromium, on studies written straight into the server's
database with plain Optuna (read-only studies, curves from their intermediate values): every
trial visible, a y-range that keeps the best and default-Adam curves apart, one legend, integer
epochs, chart and table linked, Adam-aware analysis figures in both themes, one number format,
and a layout that fits from 1280 down to 390 px.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import LiveServer, open_page
from tests.e2e.factories import Trial, sweep, write_study

pytestmark = pytest.mark.e2e

TRIALS_JS = """() => (document.getElementById('curves-plot')?.data || [])
  .filter((t) => t.meta && t.meta.trial !== undefined)
  .map((t) => ({trial: t.meta.trial, mode: t.mode, visible: t.visible, n: t.x.length,
                width: t.line.width, legend: t.showlegend ? t.name : null}))"""
PLOTTED_JS = "(n) => (document.getElementById('curves-plot')?.data || []).length >= n"
FIGURE_JS = """(kind) => {
  const gd = document.getElementById('figure-plot');
  return gd && gd.dataset.kind === kind && !gd.hidden && (gd.data || []).length > 0;
}"""
TEXTS_JS = "(sel) => [...document.querySelectorAll(sel)].map((e) => e.textContent)"
# the pixel y of trial `n`'s last point on the convergence chart
LAST_Y_JS = """(n) => {
  const gd = document.getElementById('curves-plot');
  const t = gd.data.find((d) => d.meta && d.meta.trial === n);
  const y = t.y[t.y.length - 1];
  const ax = gd._fullLayout.yaxis;
  return ax.d2p(ax.type === 'log' ? y : y);
}"""
PRUNED = {
    2: 1,
    4: 1,
    5: 2,
    8: 3,
    10: 1,
    13: 2,
    16: 1,
    20: 3,
    22: 1,
    25: 2,
    29: 1,
    31: 3,
    34: 1,
    38: 2,
}
SPIKES = (3, 11, 19, 27)
DIVERGED = 33
NO_SIDEWAYS_JS = (
    "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
)


@pytest.fixture(scope="module")
def studies(server: LiveServer) -> dict[str, int]:
    """The studies of this module, written once."""
    url = server.database_url
    # char_lstm with 3 trials x 2 epochs, as reported: two trials pruned at epoch 1
    short = [
        Trial(curve={1: 3.1, 2: 1.2}, baseline=True),
        Trial(curve={1: 3.3}, pruned=True),
        Trial(curve={1: 3.2}, pruned=True),
    ]
    # 40 trials of 10 epochs: four spike to 4.7, one diverges to 3e4, 14 are pruned early, the
    # best ends at 0.139 and the default Adam at 0.161
    finals = {0: 0.161, 7: 0.139}
    spiky = sweep(
        40,
        10,
        pruned=PRUNED.get,
        final=lambda i: finals.get(i, 0.2 + 0.01 * (i % 17)),
        spike=lambda i: 3e4 if i == DIVERGED else 4.7 if i in SPIKES else None,
    )
    # values and parameters over decades, for the one number format and log axes
    tiny = [
        Trial(curve={1: 0.5, 2: 0.01, 3: 0.0017914}, baseline=True),
        Trial(curve={1: 0.4, 2: 1e-6, 3: 7.305e-4}),
        Trial(curve={1: 0.3, 2: 1e-5, 3: 1e-9}, pruned=True),
        Trial(curve={1: 0.6, 2: 0.2, 3: 0.1}),
    ]
    # a loss over about one decade: Plotly's own log ticks there are bare digits
    decade = [
        Trial(curve={1: 0.6, 2: 0.2, 3: 0.05}, baseline=True),
        Trial(curve={1: 0.5, 2: 0.15, 3: 0.04}),
        Trial(curve={1: 0.55, 2: 0.3, 3: 0.09}),
    ]
    return {
        "decade": write_study(url, "one decade", decade, seed=5),
        "short": write_study(url, "short runs", short),
        "spiky": write_study(url, "spiky sweep", spiky, seed=1),
        "tiny": write_study(url, "tiny values", tiny, seed=2),
    }


@pytest.fixture
def dark(browser: Any, server: LiveServer) -> Iterator[Any]:
    context, page = open_page(browser, server.url, color_scheme="dark")
    yield page
    context.close()
    page.console.check()


def open_study(page: Any, study_id: int, curves: int) -> None:
    page.goto(f"#/studies/{study_id}")
    page.page.wait_for_function(PLOTTED_JS, arg=curves)


def test_one_epoch_pruned_trial_is_drawn_on_integer_epochs(page: Any, studies: dict) -> None:
    """A curve of one point is a marker, not an invisible line; the x-axis is 1..epochs with
    integer ticks (the old chart drew only the baseline and ticked 1.2, 1.4 ...)."""
    open_study(page, studies["short"], 3)
    traces = {t["trial"]: t for t in page.page.evaluate(TRIALS_JS)}
    assert sorted(traces) == [0, 1, 2]
    for number in (1, 2):  # pruned at epoch 1
        assert traces[number]["n"] == 1
        assert "markers" in traces[number]["mode"], traces[number]
        assert traces[number]["visible"] is True
    ticks = page.page.evaluate(TEXTS_JS, "#curves-plot .xtick text")
    assert ticks == ["1", "2"], ticks
    x_range = page.page.evaluate("() => document.getElementById('curves-plot').layout.xaxis.range")
    assert 0.5 <= x_range[0] < 1 and 2 < x_range[1] <= 2.5, x_range
    # the pruned points are inside the y-range, not beyond it
    y_range = page.page.evaluate(
        "() => document.getElementById('curves-plot')._fullLayout.yaxis.range"
    )
    assert y_range[0] < 1.2 and y_range[1] > 3.3, y_range


def test_robust_range_keeps_best_and_baseline_apart(page: Any, studies: dict) -> None:
    """The best (0.139) and the default Adam (0.161) stay apart: losses over decades go on a log
    axis, and what would squash them (a divergence to 3e4; on a linear axis the spikes to 4.7)
    is clipped and marked with ▲ at the top edge. The full range is a double-click away."""
    open_study(page, studies["spiky"], 40)
    marks_js = "() => document.getElementById('curves-plot').layout.annotations.map((a) => a.name)"
    layout_js = "() => document.getElementById('curves-plot')._fullLayout.yaxis.range"
    assert page.page.is_checked("#curves-logy")
    y_top = page.page.evaluate(layout_js)[1]
    assert y_top < 4, y_top  # log10: below 1e4, not stretched to the divergence
    gap = abs(page.page.evaluate(LAST_Y_JS, 0) - page.page.evaluate(LAST_Y_JS, 7))
    assert gap >= 10, f"best and default Adam {gap:.1f} px apart"
    assert f"off-{DIVERGED}" in page.page.evaluate(marks_js)
    assert "above the range:" in page.page.text_content("#curves-off")

    page.page.uncheck("#curves-logy")  # linear: the spikes to 4.7 are clipped as well
    page.page.wait_for_function(
        "() => document.getElementById('curves-plot')._fullLayout.yaxis.type === 'linear'"
    )
    y_top = page.page.evaluate(layout_js)[1]
    assert y_top < 4.7, y_top
    marks = sorted(page.page.evaluate(marks_js))
    assert marks == sorted(f"off-{n}" for n in (*SPIKES, DIVERGED)), marks
    assert "above the range: 5 trials" in page.page.text_content("#curves-off")

    # double-click: Plotly's full range, the user's choice, kept
    page.page.dblclick("#curves-plot .nsewdrag")
    page.page.wait_for_function(
        f"() => ({layout_js})()[1] > 3e4"
        " && document.getElementById('curves-off').textContent === ''"
    )


def test_hide_pruned_and_one_legend(page: Any, studies: dict) -> None:
    """One legend (Plotly's), one entry per kind of curve; pruned curves (14 of 40) can be
    hidden and come back."""
    open_study(page, studies["spiky"], 40)
    assert page.page.locator(".curves div.legend, .curves .swatch").count() == 0  # no HTML twin
    entries = page.page.evaluate(TEXTS_JS, "#curves-plot .legend .legendtext")
    assert sorted(entries) == sorted(["default Adam", "best: trial 7", "complete", "pruned"])
    pruned = {t["trial"] for t in page.page.evaluate(TRIALS_JS) if t["legend"] == "pruned"}
    states = page.page.evaluate(
        "(id) => fetch(`api/studies/${id}/trials?limit=100`).then((r) => r.json())"
        ".then((d) => d.trials.filter((t) => t.state === 'PRUNED').length)",
        studies["spiky"],
    )
    assert states == len(PRUNED) == 14 and len(pruned) == 1  # one of them carries the entry
    page.page.check("#curves-hide-pruned")
    page.page.wait_for_function(
        f"() => ({TRIALS_JS})().filter((t) => t.visible === false).length === 14"
    )
    assert "pruned" not in page.page.evaluate(TEXTS_JS, "#curves-plot .legend .legendtext")
    page.page.uncheck("#curves-hide-pruned")
    page.page.wait_for_function(f"() => ({TRIALS_JS})().every((t) => t.visible === true)")


def test_chart_and_table_are_linked(page: Any, studies: dict) -> None:
    """Hovering a curve marks its row, hovering a row draws its curve thick on top, clicking a
    curve opens the trial."""
    open_study(page, studies["short"], 3)
    page.page.wait_for_selector("#trials-table tbody tr[data-trial='2']")
    page.page.hover("#trials-table tbody tr[data-trial='2']")
    page.page.wait_for_function(f"() => ({TRIALS_JS})().find((t) => t.trial === 2).width >= 4")
    last = page.page.evaluate(TRIALS_JS)[-1]
    assert last["trial"] == 2  # drawn on top
    page.page.mouse.move(5, 5)
    page.page.wait_for_function(f"() => ({TRIALS_JS})().find((t) => t.trial === 2).width < 4")
    # hover the marker of trial 1 (one point at epoch 1)
    page.page.evaluate("() => window.scrollTo(0, 0)")
    xy = page.page.evaluate(
        """(n) => {
          const gd = document.getElementById('curves-plot');
          const t = gd.data.find((d) => d.meta && d.meta.trial === n);
          const L = gd._fullLayout, box = gd.getBoundingClientRect();
          return [box.left + L._size.l + L.xaxis.d2p(t.x[0]),
                  box.top + L._size.t + L.yaxis.d2p(t.y[0])];
        }""",
        1,
    )
    page.page.mouse.move(*xy)
    page.page.wait_for_selector("#trials-table tr.linked[data-trial='1']")
    page.page.mouse.click(*xy)
    page.page.wait_for_function(
        "() => /Trial 1/.test(document.querySelector('#trial-detail h3')?.textContent || '')"
    )
    assert page.page.locator("#trials-table tr.selected[data-trial='1']").count() == 1


def test_one_number_format(page: Any, studies: dict) -> None:
    """Table, cards and hover write a number the same way (4 significant digits, 7.305e-4, never
    0.0017914 beside it), and log axes read 1e-6, never 100μ or 10n."""
    open_study(page, studies["tiny"], 4)
    page.page.wait_for_selector("#trials-table tbody tr[data-trial='1']")
    value = lambda n: page.page.text_content(f"#trials-table tr[data-trial='{n}'] td.value")  # noqa: E731
    assert value(0) == "0.001791"
    assert value(1) == "7.305e-4"
    assert value(2) == "1e-9"
    assert page.page.text_content("#best-value") == value(1)
    lr_cells = page.page.evaluate(TEXTS_JS, "#trials-table td[data-param='lr']")
    assert all(re.fullmatch(r"-?\d+(\.\d{1,6})?|\d(\.\d{1,3})?e-?\d+", c) for c in lr_cells), (
        lr_cells
    )
    assert page.page.is_checked("#curves-logy")  # values over decades: a log axis
    ticks = page.page.evaluate(TEXTS_JS, "#curves-plot .ytick text")
    assert ticks and not any(re.search("[μnmk]", t) for t in ticks), ticks
    assert any("e" in t for t in ticks), ticks
    page.page.click(".tab[data-kind=slice]")
    page.page.locator(".figures").scroll_into_view_if_needed()
    page.page.wait_for_function(FIGURE_JS, arg="slice")
    ticks = page.page.evaluate(TEXTS_JS, "#figure-plot .xtick text, #figure-plot .x2tick text")
    assert ticks and not any(re.search("[μn]", t) for t in ticks), ticks


# every tick of a chart's axis: [its value, its label]; Plotly keeps log ticks as log10 values
TICKS_JS = """([id, axis]) => {
  const ax = document.getElementById(id)?._fullLayout?.[axis];
  return (ax?._vals || []).filter((t) => t.text !== '')
    .map((t) => [ax.type === 'log' ? Math.pow(10, t.x) : t.x, t.text]);
}"""
# what validation.js draws: a log loss axis with the page's shared axis settings, no ticks set
SHARED_AXIS_JS = """async (values) => {
  const { AXIS_NUMBERS } = await import('./js/format.js');
  const div = document.createElement('div');
  div.id = 'probe-plot';
  div.style.width = '390px';
  div.style.height = '300px';
  document.body.appendChild(div);
  await window.Plotly.newPlot(div, [{ y: values, type: 'scatter' }],
    { yaxis: { type: 'log', ...AXIS_NUMBERS } });
}"""


def _unambiguous(ticks: list[list[Any]]) -> list[str]:
    """The labels that do not read as their tick's value (a bare "2" at 0.2)."""
    bad = []
    for value, text in ticks:
        number = float(text.replace("\u2212", "-"))
        if abs(number - value) > 1e-6 * abs(value):
            bad.append(f"{text} at {value:g}")
    return bad


@pytest.mark.parametrize(("scheme", "width"), [("light", 1280), ("dark", 390)])
def test_log_ticks_read_as_numbers(
    browser: Any, server: LiveServer, studies: dict, scheme: str, width: int
) -> None:
    """A log axis writes its ticks as numbers in the page's format (0.05, 0.1, 0.2, 1e-4): it
    wrote "0.1, 1" beside bare digits "7 6 5 4 3 2", so "2" meant 0.2 and 2 on one axis. The
    convergence chart, the history's log y, and the shared axis settings a chart without ticks
    of its own (the validation chart) spreads."""
    context, page = open_page(
        browser, server.url, viewport={"width": width, "height": 800}, color_scheme=scheme
    )
    try:
        open_study(page, studies["decade"], 3)
        assert page.page.is_checked("#curves-logy")
        ticks = page.page.evaluate(TICKS_JS, ["curves-plot", "yaxis"])
        assert len(ticks) >= 3, ticks
        assert not _unambiguous(ticks), ticks
        fmt = page.page.evaluate(
            "async (vs) => { const { fmtNum } = await import('./js/format.js');"
            " return vs.map((v) => fmtNum(v)); }",
            [v for v, _ in ticks],
        )
        assert [t for _, t in ticks] == fmt, ticks

        page.page.locator(".figures").scroll_into_view_if_needed()
        page.page.wait_for_function(FIGURE_JS, arg="history")
        page.page.check("#history-logy")
        page.page.wait_for_function(
            "() => document.getElementById('figure-plot')._fullLayout.yaxis.type === 'log'"
        )
        ticks = page.page.evaluate(TICKS_JS, ["figure-plot", "yaxis"])
        assert len(ticks) >= 3 and not _unambiguous(ticks), ticks

        page.page.evaluate(SHARED_AXIS_JS, [0.04, 0.07, 0.1, 0.3, 0.6])
        ticks = page.page.evaluate(TICKS_JS, ["probe-plot", "yaxis"])
        assert len(ticks) >= 3 and not _unambiguous(ticks), ticks
    finally:
        context.close()
    page.console.check()


OKABE_ITO = {"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"}
# per x axis of the figure, its tick labels' [left, right] in pixels, in order
TICK_BOXES_JS = """() => [...document.querySelectorAll('#figure-plot .xaxislayer-above')]
  .map((layer) => [...layer.querySelectorAll('text')].map((t) => {
    const r = t.getBoundingClientRect(); return [r.left, r.right, t.textContent]; })
    .sort((a, b) => a[0] - b[0]))"""


@pytest.mark.parametrize("width", [1280, 390])
def test_details_read_at_a_glance(
    browser: Any, server: LiveServer, studies: dict, width: int
) -> None:
    """A pruned trial's note says its whole reason ("pruned at epoch" lost its number); every
    chart's series take the Okabe-Ito palette (the validation chart's orange and red were hard
    to tell apart); the slice chart's lr ticks do not run into each other."""
    context, page = open_page(browser, server.url, viewport={"width": width, "height": 800})
    try:
        open_study(page, studies["spiky"], 40)
        note = "#trials-table tr[data-trial='38'] td.note"
        page.page.wait_for_selector(note)
        assert page.page.text_content(note) == "pruned at epoch 2"
        assert page.page.evaluate(
            f'() => {{ const td = document.querySelector("{note}");'
            " return td.scrollWidth <= td.clientWidth; }"
        )
        way = page.page.evaluate("async () => (await import('./js/plot.js')).palette().colorway")
        assert set(way) <= OKABE_ITO, way
        page.page.click("#trials-table tbody tr[data-trial='7']")
        page.page.wait_for_function(
            "() => (document.getElementById('trial-detail-plot')?.data || []).length > 0"
        )
        colours = page.page.evaluate(
            "() => document.getElementById('trial-detail-plot').data.map((t) => t.line.color)"
        )
        assert set(colours) <= OKABE_ITO, colours

        page.page.click(".tab[data-kind=slice]")
        page.page.locator(".figures").scroll_into_view_if_needed()
        page.page.wait_for_function(FIGURE_JS, arg="slice")
        for boxes in page.page.evaluate(TICK_BOXES_JS):
            for a, b in zip(boxes, boxes[1:], strict=False):
                assert a[1] <= b[0] + 0.5, boxes
    finally:
        context.close()
    page.console.check()


def test_analysis_figures_speak_adam(page: Any, studies: dict) -> None:
    """β on a 1 − β log axis labelled β, the metric's name on the axes, a history with pruned
    trials (14 of 40) and a log y, contour pairs to pick, the timeline's pruned bars grey like
    the page's, and the panel full width."""
    open_study(page, studies["spiky"], 40)
    figures = page.page.locator(".figures")
    figures.scroll_into_view_if_needed()
    page.page.wait_for_function(FIGURE_JS, arg="history")
    width = page.page.evaluate(
        "() => ['.figures', 'main'].map((s) => document.querySelector(s).clientWidth)"
    )
    assert width[0] > 0.9 * width[1], width
    pruned = page.page.evaluate(
        "() => document.getElementById('figure-plot').data.find((t) => t.meta?.role === 'pruned')"
    )
    assert len(pruned["x"]) == 14 and pruned["visible"] is True
    assert page.page.text_content("#figure-plot .ytitle") == "objective value"
    page.page.uncheck("#history-pruned")
    page.page.wait_for_function(
        "() => document.getElementById('figure-plot').data"
        ".find((t) => t.meta?.role === 'pruned').visible === false"
    )
    page.page.check("#history-logy")
    page.page.wait_for_function(
        "() => document.getElementById('figure-plot')._fullLayout.yaxis.type === 'log'"
    )

    page.page.click(".tab[data-kind=slice]")
    page.page.wait_for_function(FIGURE_JS, arg="slice")
    svg = page.page.text_content("#figure-plot")
    assert "one_minus" not in svg and "Objective Value" not in svg
    titles = page.page.evaluate(
        TEXTS_JS, "#figure-plot .g-x2title, #figure-plot .g-xtitle, #figure-plot [class^=g-x] text"
    )
    assert "β1" in " ".join(titles) and "β2" in " ".join(titles), titles
    assert "0.99" in page.page.evaluate(TEXTS_JS, "#figure-plot .xaxislayer-above text")

    page.page.click(".tab[data-kind=contour]")
    page.page.wait_for_function(FIGURE_JS, arg="contour")
    assert page.page.text_content("#figure-plot .ytitle") == "β1"
    page.page.select_option("#contour-y", label="β2")
    page.page.wait_for_function(
        "() => document.querySelector('#figure-plot .ytitle')?.textContent === 'β2'"
    )

    page.page.click(".tab[data-kind=timeline]")
    page.page.wait_for_function(FIGURE_JS, arg="timeline")
    colors = page.page.evaluate(
        "() => Object.fromEntries(document.getElementById('figure-plot').data"
        ".map((t) => [t.name, t.marker.color]))"
    )
    assert _is_grey(colors["pruned"]) and not _is_grey(colors["complete"]), colors


def test_parallel_coordinates_in_dark_mode_and_brushing(dark: Any, studies: dict) -> None:
    """In the dark theme the best lines are bright and the worst fade into the page (they were
    navy and white); brushing an axis selects those trials in the table."""
    open_study(dark, studies["spiky"], 40)
    dark.page.locator(".figures").scroll_into_view_if_needed()
    dark.page.click(".tab[data-kind=parallel_coordinate]")
    dark.page.wait_for_function(FIGURE_JS, arg="parallel_coordinate")
    trace = dark.page.evaluate("() => document.getElementById('figure-plot').data[0]")
    assert trace["type"] == "parcoords"
    labels = [d["label"] for d in trace["dimensions"]]
    assert labels == ["objective value", "lr", "β1", "β2", "eps"], labels
    scale = trace["line"]["colorscale"]
    background = (0x17, 0x1A, 0x21)
    best, worst = _rgb(scale[0][1]), _rgb(scale[-1][1])
    assert _contrast(best, background) >= 7, scale  # the best lines stand out
    assert _contrast(worst, background) < 2.5, scale  # the worst fade, never white
    # brush the objective axis around its lowest values: those trials, and only them, listed
    values = sorted(trace["dimensions"][0]["values"])
    high = values[4] + 1e-9
    dark.page.evaluate(
        "(hi) => Plotly.restyle('figure-plot', {'dimensions[0].constraintrange': [[0, hi]]}, [0])",
        high,
    )
    chosen = sum(v <= high for v in values)
    dark.page.wait_for_selector("#trials-selection:not([hidden])")
    assert f"{chosen} selected" in dark.page.text_content("#trials-selection")
    dark.page.wait_for_function(
        "(n) => document.querySelectorAll('#trials-table tbody tr').length === n", arg=chosen
    )


@pytest.mark.parametrize("width", [800, 390])
def test_no_sideways_scroll(browser: Any, server: LiveServer, studies: dict, width: int) -> None:
    """At 800 px the trials table spilled out of its panel and the page scrolled sideways; down
    to 390 px every page fits its width (wide tables scroll inside their panel)."""
    context, page = open_page(browser, server.url, viewport={"width": width, "height": 800})
    try:
        open_study(page, studies["spiky"], 40)
        page.page.wait_for_selector("#trials-table tbody tr")
        page.page.locator(".figures").scroll_into_view_if_needed()
        page.page.wait_for_function(FIGURE_JS, arg="history")
        assert page.page.evaluate(NO_SIDEWAYS_JS), page.page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        panel = page.page.evaluate(
            "() => { const p = document.querySelector('.panel.trials').getBoundingClientRect();"
            " const t = document.querySelector('.table-wrap').getBoundingClientRect();"
            " return [p.left, p.right, t.left, t.right]; }"
        )
        assert panel[2] >= panel[0] and panel[3] <= panel[1], panel
        if width == 390:
            for route in ("#/", "#/new"):
                page.goto(route)
                page.page.wait_for_selector(".studies-table, #new-study-form")
                assert page.page.evaluate(NO_SIDEWAYS_JS), route
    finally:
        context.close()
    page.console.check()


def _rgb(color: str) -> tuple[int, int, int]:
    color = color.strip()
    if color.startswith("#"):
        return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
    parts = re.findall(r"[\d.]+", color)
    return int(float(parts[0])), int(float(parts[1])), int(float(parts[2]))


def _is_grey(color: str) -> bool:
    r, g, b = _rgb(color)
    return max(r, g, b) - min(r, g, b) < 40


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_notes_render_markdown_safely_on_studies_and_trials(page: Any, studies: dict) -> None:
    """A note is Markdown: written on the page, stored by the server, shown rendered, with raw
    HTML shown as text and a javascript: link not made a link; a trial has its own note."""
    open_study(page, studies["short"], 3)
    page.page.wait_for_selector("#study-notes:not([hidden]) #study-note-edit")
    page.page.click("#study-note-edit")
    note = (
        "**lr above 0.01 diverges**, see [the runs](https://example.org/runs)\n\n"
        '<img src=x onerror="window.pwned=1"> [click](javascript:window.pwned=2)'
    )
    page.page.fill("#study-note-input", note)
    page.page.click("#study-note-save")
    page.page.wait_for_selector("#study-note-text strong")
    assert page.page.text_content("#study-note-text strong") == "lr above 0.01 diverges"
    assert page.page.get_attribute("#study-note-text a", "href") == "https://example.org/runs"
    assert page.page.locator("#study-note-text img").count() == 0
    assert "<img src=x" in (page.page.text_content("#study-note-text") or "")
    hrefs = page.page.eval_on_selector_all("#study-note-text a", "(els) => els.map((e) => e.href)")
    assert not [h for h in hrefs if h.startswith("javascript:")]
    assert page.page.evaluate("() => window.pwned") is None
    page.page.reload()  # stored by the server, not the page
    page.page.wait_for_selector("#study-note-text strong")

    page.page.click("#trials-table tbody tr[data-trial='1']")
    page.page.wait_for_selector("#trial-detail #trial-note-edit")
    page.page.click("#trial-detail #trial-note-edit")
    page.page.fill("#trial-detail #trial-note-input", "*worth a re-run*")
    page.page.click("#trial-detail #trial-note-save")
    page.page.wait_for_selector("#trial-detail #trial-note-text em")
