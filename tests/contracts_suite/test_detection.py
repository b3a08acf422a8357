"""Proven detection power: the suite catches each deliberately broken sandbox, and passes the real one.

Each variant is a small ASGI middleware around the unmodified sandbox, served on a real port, and the
tool runs against its URL exactly as a CI job would (``leadsail-contracts --base-url ...``), with few
examples to stay fast. Every variant run is paired with the *same* command against an unbroken
sandbox, which must pass: what is caught is the breakage, not noise of that particular command.
"""

from __future__ import annotations

import io
import re

import pytest

from contracts import cli
from tests.contracts_suite.harness import KEY, Rewrite, serve

SEED = "11"


def run_tool(base: str, *extra: str):
    args = cli.parse_args(["--base-url", base, "--api-key", KEY, "--seed", SEED, "--max-examples", "5", *extra])
    out = io.StringIO()
    result = cli.run(args, out=out, err=io.StringIO())
    return result, out.getvalue()


# -- the breakages ------------------------------------------------------------------------------
LEAD = re.compile(r"^/api/v1/leads/lead_[a-z0-9]+$")


def drop_email_from_leads(exchange):
    """GET /api/v1/leads answers leads without their `email`."""
    body = exchange.json()
    if exchange.method == "GET" and exchange.path == "/api/v1/leads" and exchange.status == 200:
        for lead in body["data"]["leads"]:
            lead.pop("email", None)
        exchange.set_json(body)


def retype_pagination_total(exchange):
    """GET /api/v1/clients answers `pagination.total` as a string."""
    body = exchange.json()
    if exchange.method == "GET" and exchange.path == "/api/v1/clients" and exchange.status == 200:
        body["data"]["pagination"]["total"] = str(body["data"]["pagination"]["total"])
        exchange.set_json(body)


def accept_invalid_patch(exchange):
    """PATCH /api/v1/leads/{leadId} answers 200 where the sandbox refused the body with 400."""
    if exchange.method == "PATCH" and LEAD.match(exchange.path) and exchange.status == 400:
        exchange.set_json({"success": True, "data": None}, status=200)


def not_found_outside_envelope(exchange):
    """Every 404 of the public API is a bare `{"detail": "Not Found"}`."""
    if exchange.path.startswith("/api/v1/") and exchange.status == 404:
        exchange.set_json({"detail": "Not Found"})


def crash_on_zero_limit(exchange):
    """GET /api/v1/leads?limit=0 crashes (a division by the page size), with a 500 in the envelope."""
    if exchange.method == "GET" and exchange.path == "/api/v1/leads" and re.search(r"(^|&)limit=0+(&|$)", exchange.query):
        exchange.set_json({"success": False, "error": {"code": "INTERNAL_ERROR", "message": "Internal error"}}, 500)


def ignore_auth(exchange):
    """A missing or unknown X-API-Key is served as if it were the issued key."""
    if exchange.path.startswith("/api/v1/") and exchange.headers.get("x-api-key") != KEY:
        exchange.headers["x-api-key"] = KEY


def cursor_one_short(exchange):
    """GET /api/v1/leads hands out the second-to-last lead as the next cursor (one lead repeats)."""
    body = exchange.json()
    if exchange.method == "GET" and exchange.path == "/api/v1/leads" and exchange.status == 200:
        leads = body["data"]["leads"]
        if body["data"]["hasMore"] and len(leads) > 1:
            body["data"]["nextCursor"] = leads[-2]["leadId"]
            exchange.set_json(body)


def page_drops_its_last_lead(exchange):
    """GET /api/v1/leads leaves out the last lead of every page that has more (the cursor still names it)."""
    body = exchange.json()
    if exchange.method == "GET" and exchange.path == "/api/v1/leads" and exchange.status == 200:
        if body["data"]["hasMore"] and len(body["data"]["leads"]) > 1:
            body["data"]["leads"].pop()
            exchange.set_json(body)


# name: (middleware, tool arguments, (operation label, check) or (journey, words of its failure))
VARIANTS = {
    "field dropped": (dict(after=drop_email_from_leads), ["--include", "listLeads", "--no-journeys"],
                      ("GET /api/v1/leads", "response_schema_conformance")),
    "field retyped": (dict(after=retype_pagination_total), ["--include", "listClients", "--no-journeys"],
                      ("GET /api/v1/clients", "response_schema_conformance")),
    "invalid request accepted": (dict(after=accept_invalid_patch), ["--include", "updateLead", "--no-journeys"],
                                 ("PATCH /api/v1/leads/{leadId}", "negative_data_rejection")),
    "error outside the envelope": (dict(after=not_found_outside_envelope), ["--include", "getLead", "--no-journeys"],
                                   ("GET /api/v1/leads/{leadId}", "response_schema_conformance")),
    "500 on an edge input": (dict(after=crash_on_zero_limit), ["--include", "listLeads", "--no-journeys"],
                             ("GET /api/v1/leads", "not_a_server_error")),
    "auth not enforced": (dict(before=ignore_auth), ["--include", "listCampaigns", "--no-journeys"],
                          ("GET /api/v1/campaigns", "ignored_auth")),
    "wrong pagination cursor": (dict(after=cursor_one_short), ["--phases", "none", "--journeys", "cursor_pagination_is_exact"],
                                ("cursor_pagination_is_exact", "repeats")),
    "page skips a lead": (dict(after=page_drops_its_last_lead), ["--phases", "none", "--journeys", "cursor_pagination_is_exact"],
                          ("cursor_pagination_is_exact", "skipped")),
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_each_breakage_is_caught_and_the_same_run_passes_the_real_sandbox(name):
    hooks, extra, expected = VARIANTS[name]
    with serve() as base:
        clean, clean_report = run_tool(base, *extra)
    assert clean.ok, clean_report
    with serve(lambda app: Rewrite(app, **hooks)) as base:
        broken, report = run_tool(base, *extra)
    assert not broken.ok, report
    where, what = expected
    assert "curl -X" in report  # the failing request, ready to replay
    if where in broken.operations:
        assert what in {f.check for f in broken.operations[where].findings.values()}, report
    else:
        journey = next(j for j in broken.journeys if j.name == where)
        assert journey.status == "failed" and what in journey.detail, report


def test_the_unbroken_sandbox_passes_every_operation_and_journey():
    with serve() as base:
        result, report = run_tool(base)
    totals = result.totals()
    assert result.ok, report
    assert totals["operations"] == 26 and totals["checks_failed"] == 0 and totals["refused"] == 0, report
    assert {j.name: j.status for j in result.journeys} == {
        "call_reaches_final_status": "passed", "sms_thread_threads": "passed",
        "cursor_pagination_is_exact": "passed", "call_scenarios_match": "passed"}, report
    # fuzzing that only ever met 401/400 would pass while testing nothing (stack-notes §7.10)
    assert sum(op.answered_2xx for op in result.operations.values()) >= 20, report
