"""The README's quickstart against a sandbox started the default way: open mode, real-time clock.

A user's first run (``leadsail-contracts --base-url http://127.0.0.1:8000 --api-key dev-key``) must
pass on a healthy sandbox whenever it is run. Two things used to fail it: ``ignored_auth`` (in open
mode every non-empty key opens a tenant, by design) and the call journeys outside calling hours. The
sandbox here starts on a Sunday night in every US zone, the worst time for calling hours.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import httpx

from contracts import cli
from sandbox.clock import REALTIME, parse_instant
from tests.contracts_suite.harness import Rewrite, serve

# Monday 03:30 UTC: Sunday 23:30 in New York (22:30 in winter) ... Sunday 17:30 in Honolulu.
SUNDAY_NIGHT = parse_instant("2026-01-19T03:30:00Z")
QUICKSTART_KEY = "dev-key"
OPS = ["listCampaigns", "listClients", "getLead"]


def default_sandbox(wrap=None):
    """``leadsail-sandbox`` as it starts by default (open mode, real-time clock), on a Sunday night."""
    return serve(wrap, strict=False, clock_mode=REALTIME, start_time=SUNDAY_NIGHT)


def quickstart(base: str, *extra: str) -> tuple[int, str]:
    out = io.StringIO()
    args = cli.parse_args(["--base-url", base, "--api-key", QUICKSTART_KEY, "--seed", "3", "--max-examples", "5",
                           "--include", *OPS, *extra])
    result = cli.run(args, out=out, err=io.StringIO())
    return (0 if result.ok else 1), out.getvalue()


def test_the_sandbox_says_which_key_mode_it_runs_in_without_a_key():
    with default_sandbox() as base:
        info = httpx.get(f"{base}/_sandbox/info")
    assert info.status_code == 200
    assert info.json() == {"success": True, "data": {"service": "leadsail-sandbox", "version": info.json()["data"]["version"],
                                                     "mode": "open"}}
    with serve() as base:
        assert httpx.get(f"{base}/_sandbox/info").json()["data"]["mode"] == "strict"


def test_the_quickstart_passes_against_a_default_sandbox_on_a_sunday_night(tmp_path):
    junit = tmp_path / "c.xml"
    with default_sandbox() as base:
        code, out = quickstart(base, "--journeys", "call_reaches_final_status", "call_scenarios_match",
                               "--junit", str(junit))
        clock = httpx.get(f"{base}/_sandbox/clock", headers={"X-API-Key": QUICKSTART_KEY}).json()["data"]
    assert code == 0, out
    assert "ignored_auth (invalid key) skipped: the sandbox runs in open mode" in out
    assert "ok    call_reaches_final_status" in out and "ok    call_scenarios_match" in out
    assert "Result: PASSED" in out
    # The journeys moved the tenant's real-time clock into calling hours (Monday 09:00 New York).
    assert clock["mode"] == REALTIME and clock["now"] >= "2026-01-19T14:00:00Z"
    skipped = ET.parse(junit).getroot().find("testsuite[@name='operations']/testcase[@classname='checks']")
    assert skipped.get("name") == "ignored_auth (invalid key)" and skipped.find("skipped") is not None


def serve_missing_key_as_dev_key(exchange):
    """GET /api/v1/campaigns without a key is answered as if `dev-key` had been sent."""
    if exchange.method == "GET" and exchange.path == "/api/v1/campaigns" and "x-api-key" not in exchange.headers:
        exchange.headers["x-api-key"] = QUICKSTART_KEY


def test_in_open_mode_a_request_without_a_key_that_is_served_still_fails():
    with default_sandbox(lambda app: Rewrite(app, before=serve_missing_key_as_dev_key)) as base:
        code, out = quickstart(base, "--no-journeys")
    assert code == 1, out
    assert "FAIL  GET /api/v1/campaigns" in out
    assert "✗ missing_key_refused: API accepts requests without authentication" in out
    assert out.count("FAIL  ") == 1, out  # the other operations refuse a missing key: no noise
