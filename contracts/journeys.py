"""Hand-written journeys over the public API: what fuzzing cannot judge, because it spans requests.

* ``call_reaches_final_status``: a test call to a fictional number, polled until its interaction
  leaves ``in_progress``, then every field the spec documents for a call is present.
* ``sms_thread_threads``: two texts to one lead land in one conversation (same ``interactionId``).
* ``cursor_pagination_is_exact``: walking ``GET /leads`` page by page by cursor yields exactly the
  leads of one big page, in order — no lead repeated, none skipped.
* ``call_scenarios_match`` (sandbox-only): each magic number of ``GET /_sandbox/scenarios`` ends its
  call with the documented outcome.

A journey is skipped, with the reason, when it needs an operation the profile excludes or (sandbox-
only ones) when the target is not a sandbox. The one thing a reader might get wrong: a journey's
writes go through the same guard as the fuzzer's, so they must already satisfy the safe profile's
pins (test flags, ``FICTIONAL``/``MARKER`` values below) — they are not exempt, they are compliant.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .profiles import MARKER_DOMAIN, Profile
from .results import JourneyResult
from .safety import Refused
from .target import Target

# Fictional numbers (555-01xx); on a sandbox, +12125550101 is also the "call completes" scenario.
CALL_PHONE = "+12125550101"
SMS_PHONE = "+12125550143"
FILLER_PHONE = "+12125550144"


class JourneyFailed(AssertionError):
    pass


class JourneySkipped(Exception):
    pass


@dataclass(frozen=True)
class Journey:
    name: str
    run: Callable[["Context"], None]
    needs: tuple[str, ...] = ()        # operationIds it calls that write
    sandbox_only: bool = False


@dataclass
class Context:
    target: Target
    spec: dict
    profile: Profile
    call_timeout: float = 600.0         # real seconds against a deployment
    _counter: itertools.count = field(default_factory=lambda: itertools.count(1), repr=False)

    def marker_email(self, what: str) -> str:
        return f"{what}{next(self._counter)}@{MARKER_DOMAIN}"

    def schema(self, name: str) -> dict:
        return self.spec["components"]["schemas"][name]


JOURNEYS: list[Journey] = []


def journey(name: str, needs: tuple[str, ...] = (), sandbox_only: bool = False):
    def register(func):
        JOURNEYS.append(Journey(name, func, needs, sandbox_only))
        return func
    return register


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise JourneyFailed(message)


def data(response, what: str) -> dict:
    expect(200 <= response.status_code < 300, f"{what} answered {response.status_code}: {response.text[:300]}")
    body = response.json()
    expect(isinstance(body, dict) and body.get("success") is True, f"{what} is not a success envelope")
    return body["data"]


# -- shared steps -------------------------------------------------------------------------------
def active_campaigns(ctx: Context) -> list[str]:
    found = data(ctx.target.call("GET", "/api/v1/campaigns", params={"active": "true", "limit": "100"}),
                 "GET /api/v1/campaigns")
    ids = [c["campaignId"] for c in found.get("campaigns", []) if c.get("active")]
    if not ids:
        raise JourneySkipped("the target has no active campaign")
    return ids


def create_test_lead(ctx: Context, campaign: str, phone: str, what: str) -> str:
    body = {"campaignId": campaign, "firstName": "Contracts", "lastName": "Journey",
            "email": ctx.marker_email(what), "phone": phone, "flags": {"isTest": True}}
    return data(ctx.target.call("POST", "/api/v1/leads", body=body), "POST /api/v1/leads")["leadId"]


def start_call(ctx: Context, lead: str, campaigns: list[str]) -> dict:
    """The first campaign that accepts a test call to ``lead``; a sandbox may be moved into calling hours."""
    t = ctx.target
    refusals = []
    for _hour in range(25 if t.is_sandbox else 1):
        for campaign in campaigns[:5]:
            response = t.call("POST", "/api/v1/voice/calls/initiate",
                              body={"leadId": lead, "campaignId": campaign, "isTest": True})
            if response.status_code == 200:
                return data(response, "POST /api/v1/voice/calls/initiate")
            expect(response.status_code in (400, 404), f"initiate answered {response.status_code}: {response.text[:300]}")
            refusals.append(f"{campaign}: {response.json().get('error', {}).get('details') or response.text[:200]}")
        if t.is_sandbox:
            t.wait(3600)  # dialer rules (calling hours, gaps) are the usual refusal; move an hour on
    message = "no campaign accepted a test call: " + "; ".join(refusals[-5:])
    if t.is_sandbox:
        raise JourneyFailed(message)
    raise JourneySkipped(message)


def poll_final(ctx: Context, interaction: str) -> dict:
    t = ctx.target
    step = 30 if t.is_sandbox else 5
    budget = 3 * 3600 if t.is_sandbox else ctx.call_timeout
    waited = 0.0
    while True:
        record = data(t.call("GET", "/api/v1/interactions/{interactionId}", {"interactionId": interaction}),
                      "GET /api/v1/interactions/{interactionId}")
        if record.get("status") != "in_progress":
            return record
        expect(waited < budget, f"call {interaction} still in_progress after {waited:.0f} s")
        t.wait(step)
        waited += step


def missing_required(ctx: Context, record: dict, schema: str) -> list[str]:
    return [name for name in ctx.schema(schema).get("required", []) if name not in record]


# -- the journeys -------------------------------------------------------------------------------
@journey("call_reaches_final_status", needs=("createLead", "initiateCall"))
def call_reaches_final_status(ctx: Context) -> None:
    campaigns = active_campaigns(ctx)
    lead = create_test_lead(ctx, campaigns[0], CALL_PHONE, "call")
    started = start_call(ctx, lead, campaigns)
    for name in ("interactionId", "leadId", "campaignId", "agentId"):
        expect(started.get(name), f"initiate reply lacks {name}: {started}")
    expect(started["leadId"] == lead, f"initiate reply names lead {started['leadId']}, not {lead}")
    record = poll_final(ctx, started["interactionId"])
    final = set(ctx.schema("InteractionStatus")["enum"]) - {"in_progress"}
    expect(record.get("status") in final, f"status {record.get('status')!r} is not a documented final status")
    expect(record.get("type") == "call" and record.get("leadId") == lead,
           f"interaction is {record.get('type')} for {record.get('leadId')}, expected a call for {lead}")
    missing = missing_required(ctx, record, "Interaction")
    call = record.get("call")
    expect(isinstance(call, dict), "a call interaction has no `call` block")
    for block, schema, prefix in ((call, "CallDetails", "call."), (call.get("voiceAI"), "VoiceAI", "call.voiceAI."),
                                  (record.get("telephony"), "Telephony", "telephony.")):
        expect(isinstance(block, dict), f"{prefix[:-1]} is missing")
        # Nested blocks document no `required`; every listed property is present, null while unknown (gap 45).
        missing += [prefix + name for name in ctx.schema(schema)["properties"] if name not in block]
    expect(not missing, f"the final call lacks documented fields: {', '.join(missing)}")


@journey("sms_thread_threads", needs=("createLead", "sendSms"))
def sms_thread_threads(ctx: Context) -> None:
    t = ctx.target
    lead = create_test_lead(ctx, active_campaigns(ctx)[0], SMS_PHONE, "sms")
    texts = ["Contracts journey: first text", "Contracts journey: second text"]
    sent = [data(t.call("POST", "/api/v1/sms/send", body={"leadId": lead, "message": text}), "POST /api/v1/sms/send")
            for text in texts]
    threads = {s["interactionId"] for s in sent}
    expect(len(threads) == 1, f"two texts to one lead opened {len(threads)} conversations: {sorted(threads)}")
    thread = threads.pop()
    record = data(t.call("GET", "/api/v1/interactions/{interactionId}", {"interactionId": thread}),
                  "GET /api/v1/interactions/{interactionId}")
    expect(record.get("type") == "sms" and record.get("leadId") == lead, f"thread {thread} is not an SMS thread of {lead}")
    messages = [entry.get("message") for entry in record.get("transcript", [])]
    expect([m for m in messages if m in texts] == texts, f"thread transcript does not hold both texts in order: {messages}")
    listed = data(t.call("GET", "/api/v1/interactions/lead/{leadId}", {"leadId": lead}),
                  "GET /api/v1/interactions/lead/{leadId}").get("interactions", [])
    sms = [i["interactionId"] for i in listed if i.get("type") == "sms"]
    expect(sms == [thread], f"the lead's interactions list SMS threads {sms}, expected [{thread}]")


PAGE = 7


def _walk(ctx: Context, limit: int, stop_after: int) -> tuple[list[str], list[str]]:
    """Lead ids page by page, and the pages whose ``nextCursor`` is not their last lead (documented)."""
    t = ctx.target
    seen: list[str] = []
    odd_cursors: list[str] = []
    cursor = None
    for page in range(1, 10_000):
        params = {"limit": str(limit)} | ({"cursor": cursor} if cursor else {})
        found = data(t.call("GET", "/api/v1/leads", params=params), "GET /api/v1/leads")
        ids = [lead["leadId"] for lead in found.get("leads", [])]
        repeated = [i for i in ids if i in seen]
        expect(not repeated, f"page {page} repeats {repeated} (cursor {cursor})")
        expect(len(ids) <= limit, f"page {page} has {len(ids)} leads for limit={limit}")
        seen += ids
        if not found.get("hasMore"):
            expect(found.get("nextCursor") is None, f"last page {page} still has nextCursor {found.get('nextCursor')}")
            return seen, odd_cursors
        expect(found.get("nextCursor"), f"page {page} has more but no nextCursor")
        if not ids or found["nextCursor"] != ids[-1]:
            odd_cursors.append(f"page {page}: nextCursor {found['nextCursor']!r}, last lead {ids[-1] if ids else None!r}")
        if len(seen) >= stop_after:
            return seen, odd_cursors
        cursor = found["nextCursor"]
    raise JourneyFailed("pagination did not end")


def _reference(ctx: Context) -> tuple[list[str], bool]:
    found = data(ctx.target.call("GET", "/api/v1/leads", params={"limit": "100"}), "GET /api/v1/leads")
    return [lead["leadId"] for lead in found.get("leads", [])], bool(found.get("hasMore"))


@journey("cursor_pagination_is_exact")
def cursor_pagination_is_exact(ctx: Context) -> None:
    reference, more = _reference(ctx)
    if len(reference) < 3 * PAGE and "createLead" not in ctx.profile.excluded:
        campaign = active_campaigns(ctx)[0]
        for _ in range(3 * PAGE - len(reference)):
            create_test_lead(ctx, campaign, FILLER_PHONE, "page")
        reference, more = _reference(ctx)
    if len(reference) <= PAGE:
        raise JourneySkipped(f"only {len(reference)} leads: too few for more than one page of {PAGE}")
    for _attempt in range(3):
        walked, odd_cursors = _walk(ctx, PAGE, len(reference))
        again, more_again = _reference(ctx)
        if again != reference:  # leads arrived meanwhile (a live deployment): compare again
            reference, more = again, more_again
            continue
        head = walked[:len(reference)]
        skipped = [lead for lead in reference if lead not in head]
        expect(not skipped, f"walking pages of {PAGE} skipped {skipped[:5]}")
        expect(head == reference, f"walking pages of {PAGE} changed the order of the leads")
        expect(more or len(walked) == len(reference), f"walk found {len(walked) - len(reference)} leads past the end")
        # Checked last: an opaque cursor would still page correctly; the spec, though, documents the last leadId.
        expect(not odd_cursors, "nextCursor is not the page's last leadId: " + "; ".join(odd_cursors[:3]))
        return
    raise JourneySkipped("the lead list kept changing during three walks")


@journey("call_scenarios_match", needs=("createLead", "initiateCall"), sandbox_only=True)
def call_scenarios_match(ctx: Context) -> None:
    t = ctx.target
    scenarios = t.sandbox("GET", "/scenarios").json()["data"]["scenarios"]
    statuses = set(ctx.schema("InteractionStatus")["enum"])
    calls = [s for s in scenarios if s.get("area") == "call"]
    expect(calls, "the sandbox lists no call scenarios")
    campaigns = active_campaigns(ctx)
    wrong = []
    for scenario in calls:
        lead = create_test_lead(ctx, campaigns[0], scenario["input"], "scenario")
        record = poll_final(ctx, start_call(ctx, lead, campaigns)["interactionId"])
        outcome = scenario["outcome"]
        if outcome in statuses and record["status"] != outcome:
            wrong.append(f"{scenario['input']}: {record['status']} (expected {outcome})")
        elif outcome not in statuses and not record.get("errorCode"):
            wrong.append(f"{scenario['input']}: no errorCode for outcome {outcome}")
    expect(not wrong, "scenario numbers gave other outcomes: " + "; ".join(wrong))


# -- running them -------------------------------------------------------------------------------
def run_all(ctx: Context, selected: list[str] | None = None, excluded: set[str] = frozenset()) -> list[JourneyResult]:
    results = []
    for j in JOURNEYS:
        if selected is not None and j.name not in selected:
            continue
        results.append(run_one(ctx, j, excluded))
    return results


def run_one(ctx: Context, j: Journey, excluded: set[str]) -> JourneyResult:
    t = ctx.target
    before, started = t.requests, time.monotonic()
    result = JourneyResult(j.name, "passed", sandbox_only=j.sandbox_only)
    blocked = [op for op in j.needs if op in ctx.profile.excluded or op in excluded]
    try:
        if blocked:
            raise JourneySkipped(f"needs {', '.join(blocked)}, excluded by the {ctx.profile.name} profile or --exclude")
        if j.sandbox_only and not t.is_sandbox:
            raise JourneySkipped("sandbox-only (needs /_sandbox/), and the target is not a sandbox")
        j.run(ctx)
    except JourneySkipped as exc:
        result.status, result.detail = "skipped", str(exc)
    except JourneyFailed as exc:
        result.status, result.detail, result.curl = "failed", str(exc), t.last_curl
    except Refused as exc:
        result.status, result.detail = "failed", f"the journey itself broke the profile: {exc}"
    except Exception as exc:  # a transport error or an unreadable answer is a failure of the target too
        result.status, result.detail, result.curl = "failed", f"{type(exc).__name__}: {exc}", t.last_curl
    result.requests = t.requests - before
    result.seconds = time.monotonic() - started
    return result
