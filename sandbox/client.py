"""A typed Python client for the sandbox's ``/_sandbox`` control plane (and the key for the public API).

    from sandbox.client import SandboxClient

    with SandboxClient("http://127.0.0.1:8000", "ci-key") as sb:
        lead = sb.api.post("/api/v1/leads", json={...}).json()["data"]
        sb.clock.advance(minutes=15)
        done = sb.webhooks.wait_for("call.completed", lead_id=lead["leadId"], advance=30)

Hand-written thin wrappers over httpx, not generated from ``control.yaml``. A generated client
(openapi-python-client, as ``build/clients`` makes for the public API) names things after
operationIds and paths (``advance_clock.sync(client=..., body=AdvanceClockBody(seconds=...))``),
wraps optional fields in ``Unset`` sentinels, and types the many answers the spec declares as a
bare object as ``Any``; the calls a test writes (``sb.clock.advance(minutes=15)``,
``sb.webhooks.wait_for(...)``) and the one error type they catch would still have to be written on
top. Answers are TypedDicts — the JSON objects themselves, camelCase keys as the handlers return
them (``sandbox/control/*.py`` and the services they call), so a field the sandbox adds shows up at
once, and ``doc["nextDueAt"]`` reads the same here as in ``curl`` output and in the docs.

Every call returns the envelope's ``data``; a refusal raises ``SandboxAPIError(status, code,
message, details)``, and a sandbox that cannot be reached raises ``SandboxConnectionError``.

The one thing a reader might get wrong: on a manual clock (the default in tests) nothing that
is due happens until someone advances the clock — including webhook deliveries. ``wait_for``
therefore either advances the clock itself (``advance=seconds`` per poll) or waits for another
party to do it, and gives up after ``timeout`` with a message saying so; it never spins forever.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any, TypedDict
from urllib.parse import quote

import httpx

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_KEY = "dev-key"
CONTROL = "/_sandbox"
FINAL_DELIVERY_STATUSES = ("delivered", "failed")


# --- errors ------------------------------------------------------------------------------------

class SandboxError(Exception):
    """Anything this client raises on purpose."""


class SandboxAPIError(SandboxError):
    """The sandbox answered with an error envelope (or a non-JSON error)."""

    def __init__(self, status: int, code: str, message: str, details: list[str] | None = None):
        self.status, self.code, self.message, self.details = status, code, message, list(details or [])
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """``CODE: message; detail; detail`` (what the CLI prints after ``error``)."""
        return " ".join((f"{self.code}: " + "; ".join([self.message, *self.details])).split())


class SandboxConnectionError(SandboxError):
    """The sandbox could not be reached (refused, DNS, timeout): the request never got an answer."""


class WaitTimeout(SandboxError, TimeoutError):
    """``wait_for`` gave up."""


# --- what the handlers return (TypedDicts: the JSON itself) ---------------------------------------

class Info(TypedDict):
    service: str
    version: str
    mode: str                        # open | strict


class Clock(TypedDict):
    mode: str                        # manual | realtime
    speed: float
    now: str
    pendingJobs: int
    nextDueAt: str | None


class Job(TypedDict):
    at: str
    job: str                         # call.answer, call.end, webhook.attempt, ...
    payload: dict
    effects: list[dict]


class ClockChange(Clock):
    ran: list[Job]                   # what the jump ran


class AdvanceResult(TypedDict, total=False):
    now: str
    ran: list[Job]                   # without summary
    ranCount: int                    # with summary
    byKind: dict[str, int]           # with summary


class TenantSummary(TypedDict):
    tenant: str
    now: str
    leads: int


class SmsInbound(TypedDict, total=False):
    duplicate: bool
    messageId: str
    interactionId: str
    leadId: str
    routedBy: str
    placeholderLead: bool
    keyword: str | None
    agentMode: bool
    batchClosesAt: str | None


# Functional form: one of its keys is "from".
SmsMessage = TypedDict("SmsMessage", {
    "messageId": str, "interactionId": str, "leadId": str,
    "direction": str,                # outbound | inbound
    "from": str, "to": str, "provider": str, "providerMessageId": "str | None", "text": str,
    "status": str,                   # queued | sent | delivered | failed | received
    "source": str, "errorCode": "str | None", "errorMessage": "str | None",
    "agentAsks": "str | None",       # the field the built-in SMS agent asked for
    "createdAt": str, "updatedAt": str,
})


class InboundCall(TypedDict):
    interactionId: str
    leadId: str
    campaignId: str
    agentId: str
    matched: bool


class Verdict(TypedDict):
    rule: str
    allowed: bool | None
    reason: str | None
    allowedAt: str | None


class DialerCheck(TypedDict):
    leadId: str
    campaignId: str | None
    allowedNow: bool
    nextAllowedAt: str | None
    leadLocalTime: str
    timezone: str
    autoDialerActive: bool
    verdicts: list[Verdict]


class QueueEntry(TypedDict):
    leadId: str
    campaignId: str | None
    nextCallTime: str
    attemptsUsed: int
    maxAttempts: int


class DialerQueue(TypedDict):
    total: int                       # every pending attempt that matches
    queue: list[QueueEntry]          # the first ``limit``


class AttemptSummary(TypedDict):
    attempt: int
    trigger: str                     # initial | retry | replay | duplicate
    at: str
    status: str
    responseStatus: int | None
    error: str | None
    latencyMs: float | None


class Delivery(TypedDict, total=False):
    deliveryId: str
    kind: str                        # webhook | sms_agent | first_submission_action | test
    event: str | None
    status: str                      # pending | delivering | delivered | failed
    source: str | None
    url: str
    method: str
    headers: dict[str, str]
    leadId: str | None
    campaignId: str | None
    payload: dict
    retryAttempts: int
    timeoutSeconds: int
    retriesLeft: int
    attemptCount: int
    nextAttemptAt: str | None
    createdAt: str
    updatedAt: str
    lastAttempt: AttemptSummary | None   # in lists
    attempts: list[dict]                 # in one delivery (replay, delivery())


class SinkView(TypedDict):
    name: str
    count: int
    requests: list[dict]


class CampaignView(TypedDict):
    campaign: dict                   # the public Campaign
    config: dict                     # its sandbox-only configuration


class NextOutcome(TypedDict):
    leadId: str
    nextOutcome: str


class IssuedKey(TypedDict):
    key: str                         # shown once
    label: str | None


class KeyListing(TypedDict):
    keyPrefix: str
    label: str | None


# --- the client ----------------------------------------------------------------------------------

def instant(value: datetime | str) -> str:
    """An ISO 8601 UTC date-time the control plane accepts: ``2026-01-16T15:00Z`` and naive
    datetimes (taken as UTC) become ``2026-01-16T15:00:00Z``; text that is no date-time is sent as
    it is, for the sandbox to refuse with its own words."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S") + (f".{value.microsecond:06d}" if value.microsecond else "") + "Z"


def _drop_none(**params) -> dict:
    return {key: value for key, value in params.items() if value is not None}


def segment(value: str) -> str:
    """One path segment, escaped (ids and E.164 numbers carry ``+``; keys may carry ``/``)."""
    return quote(str(value), safe="")


class SandboxClient:
    """One sandbox tenant (named by ``api_key``), and the admin endpoints when ``admin_key`` is given.

    ``sb.api`` is the underlying ``httpx.Client`` (base URL and ``X-API-Key`` set) for the public
    API: ``sb.api.get("/api/v1/leads")``. It is shared with the control-plane calls, so a header
    set on it applies to both.
    """

    def __init__(self, base_url: str = DEFAULT_URL, api_key: str = DEFAULT_KEY, admin_key: str | None = None,
                 timeout: float = 60.0, *, transport: httpx.BaseTransport | None = None):
        # 60 s: an advance awaits the webhooks it sends, each up to its timeoutSeconds (default 30).
        self.base_url = base_url.rstrip("/")
        self.admin_key = admin_key
        self.api = httpx.Client(base_url=self.base_url, headers={"X-API-Key": api_key}, timeout=timeout,
                                transport=transport)
        self.clock = ClockAPI(self)
        self.sms = SmsAPI(self)
        self.calls = CallsAPI(self)
        self.dialer = DialerAPI(self)
        self.webhooks = WebhooksAPI(self)
        self.state = StateAPI(self)
        self.campaigns = CampaignsAPI(self)
        self.keys = KeysAPI(self)

    # -- plumbing --

    @property
    def api_key(self) -> str:
        return self.api.headers["X-API-Key"]

    def request(self, method: str, path: str, *, json_body: Any = None, content: bytes | None = None,
                params: Mapping | None = None, admin: bool = False) -> Any:
        """``method`` ``/_sandbox{path}``; the envelope's ``data``, or ``SandboxAPIError``."""
        headers = {}
        if admin:
            if not self.admin_key:
                raise SandboxError("this call needs the admin key: SandboxClient(..., admin_key=...)")
            headers["X-Admin-Key"] = self.admin_key
        if content is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = self.api.request(method, CONTROL + path, json=json_body, content=content,
                                        params=params, headers=headers)
        except httpx.TransportError as exc:
            raise SandboxConnectionError(f"cannot reach {self.base_url}: {exc or type(exc).__name__}") from exc
        return unwrap(response)

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> "SandboxClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the tenant --

    def info(self) -> Info:
        """What this sandbox is and its key mode (open | strict); needs no key."""
        return self.request("GET", "/info")

    def reset(self) -> TenantSummary:
        """Replace my tenant by a freshly seeded one (the clock mode is kept)."""
        return self.request("POST", "/reset")

    def force_next_outcome(self, lead_id: str, outcome: str) -> NextOutcome:
        """The lead's next call ends ``outcome`` (``voicemail``, ``no_answer``, ...; see /_sandbox/scenarios)."""
        return self.request("PUT", f"/leads/{segment(lead_id)}/next-outcome", json_body={"outcome": outcome})

    def scenarios(self) -> list[dict]:
        """The magic inputs that force outcomes."""
        return self.request("GET", "/scenarios")["scenarios"]


def unwrap(response: httpx.Response) -> Any:
    """The ``data`` of a success envelope; ``SandboxAPIError`` for anything else."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.is_success and isinstance(body, dict) and body.get("success") is True:
        return body.get("data")
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        details = error.get("details")
        details = [str(d) for d in details] if isinstance(details, list) else ([json.dumps(details)] if details else [])
        raise SandboxAPIError(response.status_code, str(error.get("code") or f"HTTP_{response.status_code}"),
                              str(error.get("message") or response.reason_phrase), details)
    text = response.text.strip().replace("\n", " ")
    raise SandboxAPIError(response.status_code, f"HTTP_{response.status_code}",
                          (text[:200] or response.reason_phrase or "no body"),
                          [] if response.is_error else ["the answer is not a sandbox envelope"])


class _Area:
    def __init__(self, client: SandboxClient):
        self._client = client

    def _call(self, method: str, path: str, **kwargs) -> Any:
        return self._client.request(method, path, **kwargs)


class ClockAPI(_Area):
    """The tenant clock. Time only moves forward; due work runs in order as it passes."""

    def get(self) -> Clock:
        return self._call("GET", "/clock")

    def advance(self, *, seconds: float | None = None, minutes: float | None = None, hours: float | None = None,
                to: datetime | str | None = None, summary: bool = False) -> AdvanceResult:
        """Advance by a duration (``seconds``, ``minutes`` and ``hours`` add up) or to ``to``; runs
        every job due on the way and awaits the webhooks they send. ``summary=True`` answers counts
        per job kind (``ranCount``, ``byKind``) instead of every job."""
        parts = [value for value in (seconds, (minutes or 0) * 60 if minutes is not None else None,
                                     (hours or 0) * 3600 if hours is not None else None) if value is not None]
        if bool(parts) == (to is not None):
            raise ValueError("give a duration (seconds=, minutes=, hours=) or to=, not both and not neither")
        body: dict[str, Any] = {"to": instant(to)} if to is not None else {"seconds": sum(parts)}
        if summary:
            body["summary"] = True
        return self._call("POST", "/clock/advance", json_body=body)

    def jump(self, to: datetime | str) -> ClockChange:
        """Move the clock to ``to`` (forward only), running the work due up to it."""
        return self._call("PUT", "/clock", json_body={"now": instant(to)})

    def set_mode(self, mode: str | None = None, speed: float | None = None) -> ClockChange:
        """Switch to ``manual`` or ``realtime`` and/or change the real-time ``speed``."""
        body = _drop_none(mode=mode, speed=speed)
        if not body:
            raise ValueError("give mode= and/or speed=")
        return self._call("PUT", "/clock", json_body=body)

    def step(self, summary: bool = False) -> AdvanceResult | None:
        """Advance exactly to the next due job (running it and whatever else is due then);
        None when nothing is pending."""
        view = self.get()
        if not view["nextDueAt"]:
            return None
        gap = (datetime.fromisoformat(view["nextDueAt"]) - datetime.fromisoformat(view["now"])).total_seconds()
        # By seconds, not to=: a real-time clock moves on between the two calls, and a to= it has
        # passed would be refused as a step back.
        return self.advance(seconds=max(0.0, gap), summary=summary)


class SmsAPI(_Area):
    def inbound(self, *, from_: str, to: str, text: str, provider_message_id: str | None = None) -> SmsInbound:
        """A lead texts one of my numbers (what the provider's inbound webhook delivers)."""
        body = {"from": from_, "to": to, "text": text, **_drop_none(providerMessageId=provider_message_id)}
        return self._call("POST", "/sms/inbound", json_body=body)

    def messages(self, *, lead_id: str | None = None, number: str | None = None, status: str | None = None,
                 direction: str | None = None, limit: int | None = None) -> list[SmsMessage]:
        """Texts the sandbox handled, newest first."""
        params = _drop_none(leadId=lead_id, number=number, status=status, direction=direction, limit=limit)
        return self._call("GET", "/sms/messages", params=params)["messages"]

    def set_agent_mode(self, interaction_id: str, enabled: bool) -> dict:
        return self._call("PUT", f"/interactions/{segment(interaction_id)}/agent-mode", json_body={"enabled": enabled})


class CallsAPI(_Area):
    def inbound(self, *, from_: str, to: str) -> InboundCall:
        """A call from ``from_`` arrives at my number ``to``; it plays out on the clock."""
        return self._call("POST", "/calls/inbound", json_body={"from": from_, "to": to})


class DialerAPI(_Area):
    def check(self, lead_id: str) -> DialerCheck:
        """Dry run: may the lead be called now, and if not, when? Changes nothing."""
        return self._call("GET", f"/dialer/check/{segment(lead_id)}")

    def queue(self, *, limit: int | None = None, campaign_id: str | None = None) -> DialerQueue:
        return self._call("GET", "/dialer/queue", params=_drop_none(limit=limit, campaignId=campaign_id))


class WebhooksAPI(_Area):
    def deliveries(self, *, event: str | None = None, lead_id: str | None = None, status: str | None = None,
                   campaign_id: str | None = None, kind: str | None = None,
                   limit: int | None = None) -> list[Delivery]:
        """My outbound deliveries, newest first (each with ``lastAttempt``, without attempt bodies)."""
        params = _drop_none(event=event, leadId=lead_id, status=status, campaignId=campaign_id, kind=kind,
                            limit=limit)
        return self._call("GET", "/webhooks/deliveries", params=params)["deliveries"]

    def delivery(self, delivery_id: str) -> Delivery:
        """One delivery with every attempt (request, response excerpt, latency)."""
        return self._call("GET", f"/webhooks/deliveries/{segment(delivery_id)}")

    def replay(self, delivery_id: str) -> Delivery:
        """Send a delivered or failed delivery again, now; returns it with the new attempt."""
        return self._call("POST", f"/webhooks/deliveries/{segment(delivery_id)}/replay")

    def sink_url(self, name: str) -> str:
        """The built-in receiver's URL, to point a webhook at."""
        return f"{self._client.base_url}{CONTROL}/sink/{segment(name)}"

    def sink(self, name: str) -> SinkView:
        """What the sink ``name`` received, oldest first."""
        return self._call("GET", f"/sink/{segment(name)}")

    def wait_for(self, event: str, *, lead_id: str | None = None, timeout: float = 10.0, interval: float = 0.2,
                 advance: float | None = None, statuses: Iterable[str] = FINAL_DELIVERY_STATUSES,
                 exclude: Iterable[str] = ()) -> Delivery:
        """The newest delivery of ``event`` (for ``lead_id``) whose status is in ``statuses``
        (default: finished, i.e. delivered or failed after its retries), polling the deliveries list.

        On a manual clock deliveries leave only when the clock moves: either the caller advances it
        (another thread, or before calling), or ``advance=seconds`` advances it by that much after
        each poll that found nothing. Gives up after ``timeout`` wall-clock seconds with
        ``WaitTimeout``. ``exclude`` skips delivery ids seen before (an earlier run's)."""
        wanted, skipped = tuple(statuses), set(exclude)
        deadline = time.monotonic() + timeout
        while True:
            for delivery in self.deliveries(event=event, lead_id=lead_id, limit=500):
                if delivery["deliveryId"] not in skipped and delivery["status"] in wanted:
                    return delivery
            if time.monotonic() >= deadline:
                break
            if advance is not None:
                self._client.clock.advance(seconds=advance)
            else:
                time.sleep(interval)
        clock = self._client.clock.get()
        hint = ""
        if clock["mode"] == "manual" and advance is None:
            hint = ("; the clock is manual: nothing due runs until it is advanced "
                    "(sb.clock.advance(...), or wait_for(..., advance=seconds))")
        who = f" for {lead_id}" if lead_id else ""
        raise WaitTimeout(f"no {'/'.join(wanted)} {event} delivery{who} after {timeout:g} s "
                          f"(tenant clock {clock['now']}, {clock['pendingJobs']} jobs pending){hint}")


class StateAPI(_Area):
    def export(self) -> dict:
        """My whole tenant (state, clock, ids, timeline) as JSON; ``load`` takes it back exactly."""
        return self._call("GET", "/state")

    def load(self, doc: Mapping | bytes | str) -> TenantSummary:
        """Replace my tenant by an export (or the envelope ``GET /_sandbox/state`` answered).
        Bytes or text are sent as they are (a file read from disk need not be parsed here)."""
        if isinstance(doc, (bytes, str)):
            return self._call("PUT", "/state", content=doc.encode() if isinstance(doc, str) else doc)
        return self._call("PUT", "/state", json_body=dict(doc))


class CampaignsAPI(_Area):
    def list(self) -> list[CampaignView]:
        return self._call("GET", "/campaigns")["campaigns"]

    def get(self, campaign_id: str) -> CampaignView:
        return self._call("GET", f"/campaigns/{segment(campaign_id)}")

    def update(self, campaign_id: str, doc: Mapping | None = None, **fields) -> CampaignView:
        """Create or update (deep merge) public fields and sandbox config in one document:
        ``update("HXZ", webhooks={"enabled": True, "url": ..., "events": {...}}, outcomeMix={...})``."""
        return self._call("PUT", f"/campaigns/{segment(campaign_id)}", json_body={**(doc or {}), **fields})


class KeysAPI(_Area):
    """Strict mode's tenant keys (admin: needs ``admin_key``)."""

    def issue(self, label: str | None = None, key: str | None = None) -> IssuedKey:
        return self._call("POST", "/admin/keys", json_body=_drop_none(label=label, key=key), admin=True)

    def list(self) -> list[KeyListing]:
        return self._call("GET", "/admin/keys", admin=True)["keys"]

    def revoke(self, key: str) -> dict:
        """Revoke the key and drop its tenant."""
        return self._call("DELETE", f"/admin/keys/{segment(key)}", admin=True)
