#!/usr/bin/env python3
"""Drives one of xprof's HTML pages in a real browser (Debian's chromium through Playwright) and prints what it
shows, as JSON, for the Swift tests (Tests/EndToEndTests/HtmlPageTests.swift), `make demo` (screenshots) and
`make bench` (paint times) to check.

Usage: pagedriver.py PAGE.html STEPS.json   (STEPS: a JSON list of steps; see `run_step`)
Prints {"steps": [result per step], "console_errors": [...], "requests": [...]}.
Environment: XPROF_CHROMIUM (default /usr/bin/chromium).
"""
import json
import os
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

# What the page shows, read from its DOM (not from its script's state).
OBSERVE = """() => {
  const table = id => {
    const t = document.querySelector('#' + id + ' table');
    if (!t) return null;
    const heads = Array.from(t.querySelectorAll('thead th')).map(th => th.textContent.replace(/ [\\u25be\\u25b4]$/, ''));
    const rows = Array.from(t.querySelectorAll('tbody tr')).map(tr => Array.from(tr.cells).map(td => td.textContent));
    return {heads, rows, selected: Array.from(t.querySelectorAll('tbody tr')).findIndex(tr => tr.classList.contains('sel'))};
  };
  const frames = sel => Array.from(document.querySelectorAll(sel + ' .fr')).map(d => ({
    n: +d.dataset.n, name: d.dataset.name, left: parseFloat(d.style.left), top: parseFloat(d.style.top),
    width: parseFloat(d.style.width), title: d.title, background: d.style.background, match: d.classList.contains('match'),
    zoomed: d.classList.contains('zoomed')}));
  const m = document.getElementById('matched');
  const flame = document.getElementById('flame');
  const details = document.getElementById('details');
  return {
    ready: document.body.dataset.ready === '1',
    header: table('header-figures'), domains: table('domain-figures'), top: table('top'),
    topNote: (document.getElementById('top-note') || {}).textContent,
    frames: flame ? frames('#flame') : [], flameWidth: flame ? flame.clientWidth : 0,
    crumbs: Array.from(document.querySelectorAll('#crumbs .crumb')).map(a => a.textContent),
    matched: m ? m.textContent : '', matchedShare: m && m.dataset.share !== undefined ? parseFloat(m.dataset.share) : null,
    details: details && !details.hidden ? {name: document.getElementById('details-name').textContent,
      callers: table('callers'), callees: table('callees'), lines: table('lines'),
      linesNote: document.getElementById('lines-note').textContent} : null,
    scale: table('scale-table'),
    chartRows: document.querySelectorAll('#chart g.row').length,
    focus: Array.from(document.querySelectorAll('#focus .focus-run')).map(s => ({
      run: +s.dataset.run, share: parseFloat(s.dataset.share), heading: s.querySelector('h3').textContent,
      frames: Array.from(s.querySelectorAll('.fr')).map(d => ({name: d.dataset.name, width: d.getBoundingClientRect().width, title: d.title}))})),
  };
}"""


def run_step(page, step):
    """Does one step; the result is what the page then shows, with `elapsed_ms`: how long the step took until
    the page's handlers had run (they run synchronously on the event), before it was read back."""
    start = time.perf_counter()
    result = do_step(page, step)
    elapsed = round((time.perf_counter() - start) * 1000, 1)
    if result is None:
        page.wait_for_timeout(50)
        result = page.evaluate(OBSERVE)
    result["elapsed_ms"] = elapsed
    return result


def do_step(page, step):
    op = step["op"]
    if op == "observe":
        pass
    elif op == "select":  # a filter: {"id": "f-domain", "value": "0"}
        page.select_option("#" + step["id"], step["value"])
    elif op == "options":  # the choices of a filter
        return {"options": page.eval_on_selector_all("#" + step["id"] + " option", "os => os.map(o => [o.value, o.textContent])")}
    elif op == "search":
        page.fill("#search", step["text"])
        page.press("#search", "Enter")
    elif op == "click_frame":  # the first drawn frame of that name, clicked with the mouse
        page.locator('#flame .fr[data-name="%s"]' % step["name"].replace('"', '\\"')).first.click()
    elif op == "click_crumb":
        page.locator("#crumbs .crumb").nth(step["index"]).click()
    elif op == "click_row":  # a row of a table by the text of one of its cells
        page.locator("#%s tbody tr" % step.get("table", "top")).filter(
            has=page.locator("td", has_text=step["text"])).first.click()
    elif op == "sort":  # a column heading of the top table, by its title
        page.locator("#top thead th").filter(has_text=step["title"]).first.click()
    elif op == "click_chart_row":
        page.locator("#chart g.row").nth(step["index"]).dispatch_event("click")
    elif op == "screenshot":
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=step["path"], full_page=step.get("full_page", False))
        return {"path": step["path"]}
    elif op == "timing":
        # The first paint is recorded after the script has run: wait for it (a page that never paints times out).
        page.wait_for_function("performance.getEntriesByType('paint').length > 0", timeout=30000)
        return page.evaluate("""() => {
          const nav = performance.getEntriesByType('navigation')[0];
          const paint = Object.fromEntries(performance.getEntriesByType('paint').map(e => [e.name, e.startTime]));
          const ready = performance.getEntriesByName('xprof-ready')[0];
          return {firstPaint: paint['first-paint'] ?? null, firstContentfulPaint: paint['first-contentful-paint'] ?? null,
                  ready: ready ? ready.startTime : null, domContentLoaded: nav ? nav.domContentLoadedEventEnd : null,
                  frames: document.querySelectorAll('.fr').length};
        }""")
    else:
        raise SystemExit("unknown step: %s" % op)
    return None


def main():
    html, steps_file = sys.argv[1], sys.argv[2]
    steps = json.loads(Path(steps_file).read_text())
    errors, requests = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=os.environ.get("XPROF_CHROMIUM", "/usr/bin/chromium"),
                                    args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
        page.goto(Path(html).resolve().as_uri(), wait_until="load")
        page.wait_for_function("document.body.dataset.ready === '1'", timeout=60000)
        results = [run_step(page, s) for s in steps]
        browser.close()
    json.dump({"steps": results, "console_errors": errors, "requests": requests}, sys.stdout)


if __name__ == "__main__":
    main()
