"""The inspector at size: 100,000 leads and 300,000 interactions in one tenant, in real Chromium.

    python bench/inspector.py [--leads 100000] [--interactions-per-lead 3] [--rounds 7]

Starts the sandbox (production settings, manual clock) under uvicorn on a free loopback port, fills
one tenant the way ``bench/size.py`` does (records inserted through the store with the domain
builders, so it takes seconds), and opens ``/_sandbox/inspector/`` in Debian's headless Chromium
through Selenium. It measures, for that tenant and for a freshly seeded one (~50 leads):

* the leads view's first paint: from navigation start (a full page load) to the first row of the
  leads table, and the browser's own first-contentful-paint;
* a lead's timeline page: from the hash change to the first timeline row (the lead's own calls,
  read through the per-lead index);
* the two requests behind them, in-process through the whole ASGI app (median of 300).

The one thing a reader might get wrong: the page pages through the API 50 leads at a time, so the
tenant's size should barely show; a figure that grows with it is the thing to look at. Figures
only, no pass/fail. Needs /usr/bin/chromium, /usr/bin/chromedriver and selenium.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import size  # noqa: E402  (bench/size.py: the loader and the in-process GET)

from sandbox.app import create_app  # noqa: E402
from sandbox.settings import Settings  # noqa: E402

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"

# Installed before any page script: the instant (performance.now(), ms since navigation start) the
# first row of a leads table or a lead's timeline appears.
WATCH = """
window.__marks = {};
new MutationObserver(() => {
  const m = window.__marks;
  if (!m.leads && document.querySelector('#view table tbody tr td a')) m.leads = performance.now();
  if (!m.timeline && document.querySelector('#view ol.timeline li')) m.timeline = performance.now();
}).observe(document, {childList: true, subtree: true});
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1440,900", "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})
    return driver


def wait_mark(driver, name: str, timeout: float = 30) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(f"return window.__marks && window.__marks.{name}")
        if value:
            return float(value)
        time.sleep(0.005)
    raise TimeoutError(f"no {name} row within {timeout} s")


def leads_paint(driver, url: str, key: str, rounds: int) -> tuple[float, float]:
    """(median ms to the first leads row, median first-contentful-paint ms), full page loads."""
    driver.get(url)
    driver.execute_script("sessionStorage.setItem('leadsail-inspector-key', arguments[0])", key)
    rows, fcp = [], []
    for _ in range(rounds + 1):
        driver.get("about:blank")
        driver.get(url + "#/leads")
        rows.append(wait_mark(driver, "leads"))
        fcp.append(driver.execute_script(
            "const p = performance.getEntriesByName('first-contentful-paint')[0]; return p ? p.startTime : 0"))
    return statistics.median(rows[1:]), statistics.median(fcp[1:])  # the first load warms the cache


def timeline_load(driver, url: str, key: str, lead_ids: list[str]) -> float:
    """Median ms from the hash change to the first row of a lead's timeline."""
    driver.get(url)
    driver.execute_script("sessionStorage.setItem('leadsail-inspector-key', arguments[0])", key)
    driver.get(url + "#/leads")
    wait_mark(driver, "leads")
    samples = []
    for lead_id in lead_ids:
        driver.execute_script("window.__marks.timeline = 0; window.__t0 = performance.now();"
                              "location.hash = '#/leads/' + encodeURIComponent(arguments[0]);", lead_id)
        end = wait_mark(driver, "timeline")
        samples.append(end - driver.execute_script("return window.__t0"))
        driver.execute_script("location.hash = '#/scenarios'")
        time.sleep(0.05)
    return statistics.median(samples[1:])


async def inspector_get_ms(app, path: str, query: str, key: str, rounds: int = 300) -> float:
    """Median latency of a GET as the page sends it (marked, so it stays out of the journal)."""
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            assert message["status"] == 200, message["status"]

    scope = size.scope(path, query, key)
    scope["headers"].append((b"x-sandbox-inspector", b"read"))
    samples = []
    for n in range(rounds + 20):
        started = time.perf_counter()
        await app(dict(scope), receive, send)
        if n >= 20:
            samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def api_ms(app, key: str, lead_id: str) -> dict:
    return {
        "GET /api/v1/leads?limit=50": await inspector_get_ms(app, "/api/v1/leads", "limit=50", key),
        "GET /_sandbox/leads/{id}/timeline": await inspector_get_ms(app, f"/_sandbox/leads/{lead_id}/timeline", "", key),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--interactions-per-lead", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    import uvicorn

    port = free_port()
    app = create_app(Settings(host="127.0.0.1", port=port, validate_specs=False))
    small, large = "inspector-small", "inspector-large"
    app.registry.lookup(small)
    tenant = app.registry.lookup(large)
    started = time.perf_counter()
    size.load(tenant, args.leads, args.interactions_per_lead)
    loaded_in = time.perf_counter() - started
    gc.collect()
    gc.freeze()  # as the CLI does (cli.tune_gc): the loaded state out of the collector's sight
    state = tenant.state
    large_leads = [state.lead_order[i] for i in (-1, -2, len(state.lead_order) // 2, 0, 1, 12345 % len(state.lead_order))]
    small_state = app.registry.lookup(small).state
    small_leads = [small_state.lead_order[i] for i in (-1, -2, len(small_state.lead_order) // 2, 0, 1, 7)]

    in_process = {name: asyncio.run(api_ms(app, key, leads[0])) for name, key, leads in
                  (("seeded", small, small_leads), ("large", large, large_leads))}

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}/_sandbox/inspector/"
    driver = browser()
    try:
        figures = {}
        leads_paint(driver, url, small, 2)  # warm the browser up, so neither tenant pays for it
        for name, key, leads in (("seeded", small, small_leads), ("large", large, large_leads)):
            rows, fcp = leads_paint(driver, url, key, args.rounds)
            figures[name] = {"rows": rows, "fcp": fcp, "timeline": timeline_load(driver, url, key, leads)}
    finally:
        driver.quit()
        server.should_exit = True
        thread.join(10)

    print(f"\nloaded {len(state.leads):,} leads and {len(state.interactions):,} interactions into one tenant "
          f"in {loaded_in:.1f} s; Chromium {CHROMIUM}, median of {args.rounds} loads\n")
    print("| measure | seeded tenant (~50 leads) | large tenant |")
    print("|---|---|---|")
    print(f"| leads view: first contentful paint | {figures['seeded']['fcp']:.0f} ms | {figures['large']['fcp']:.0f} ms |")
    print(f"| leads view: first row of 50 (full page load) | {figures['seeded']['rows']:.0f} ms "
          f"| {figures['large']['rows']:.0f} ms |")
    print(f"| lead's timeline page: first row (hash change) | {figures['seeded']['timeline']:.0f} ms "
          f"| {figures['large']['timeline']:.0f} ms |")
    for label in in_process["seeded"]:
        print(f"| `{label}` in-process (median of 300) | {in_process['seeded'][label]:.2f} ms "
              f"| {in_process['large'][label]:.2f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
