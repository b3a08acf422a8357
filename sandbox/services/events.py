"""Events: what the sandbox tells an integrator's webhook, and where it sends it.

``emit`` is called by the submit engine (``services/submissions.py``, ``simulation/leads_pipeline.py``)
for the six documented ``lead.*`` events, ``emit_call_completed`` by the voice simulation when a
call reaches a final status (G13). Both build the payload, pick the target by the precedence of
README gap 56 and hand a delivery to the outbox. When fired:

* ``lead.queued`` — a submission is accepted (submit, manual deliver, repost), status ``pending``;
* ``lead.processed`` — the engine finished evaluating: ``qualified``, ``duplicate``, ``missing_data``
  or ``disqualified``;
* ``lead.disqualified`` — after ``lead.processed`` when a disqualification rule matched;
* ``lead.first_submission_action`` — the run stopped at ``pending_action``; a campaign whose first
  action is ``webhook`` also gets its action webhook (G57, kind ``first_submission_action``);
* ``lead.delivered`` / ``lead.failed`` — the client accepted / refused or errored (``failed``,
  ``rejected``, ``error``).

Precedence (gap 56): a campaign with ``inheritFromTenant: false`` uses only its own config; with
``true`` (the default) the campaign's own url and headers win for each event it subscribes, and the
tenant's config serves the rest. At most one delivery per event and target. While
``leadsail-sandbox listen`` is connected, each event also gets one delivery to the listener
(``services/listener.py``), configured URL or not, with the headers the URL delivery would carry.

The one thing a reader might get wrong: ``emit`` receives the engine's *live* dicts; the payload is
built at once (the outbox snapshots it), so a later change to the lead never alters a webhook
already queued — each event tells the state at the moment it fired.
"""

from __future__ import annotations

import re

from ..clock import iso
from ..errors import refuse_if
from . import listener, outbox

LEAD_EVENTS = ("lead.queued", "lead.processed", "lead.delivered", "lead.disqualified", "lead.failed",
               "lead.first_submission_action")
CALL_COMPLETED = "call.completed"
EVENT_NAMES = LEAD_EVENTS + (CALL_COMPLETED,)
DEFAULT_RETRY_ATTEMPTS = 3
DEFAULT_TIMEOUT_SECONDS = 30

# First-submission-action webhook limits (§4.8.3).
ACTION_METHODS = ("POST", "PUT")
ACTION_TIMEOUT = (1, 300, 30)      # min, max, default seconds
ACTION_RETRIES = (0, 5, 3)

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# Set by the HTTP client or by the sandbox's signing; a configured value would corrupt the request.
_RESERVED_HEADERS = ("content-length", "transfer-encoding", "connection", "host", "webhook-id",
                     "webhook-timestamp", "webhook-signature")


def header_problems(headers, where: str) -> list[str]:
    if headers is None:
        return []
    if not isinstance(headers, dict):
        return [f"{where}: must be an object mapping header names to string values"]
    problems = []
    for name, value in headers.items():
        if not _TOKEN.match(name):
            problems.append(f"{where}.{name}: is not a valid HTTP header name")
        elif name.lower() in _RESERVED_HEADERS:
            problems.append(f"{where}.{name}: is set by the sandbox and cannot be configured")
        elif not isinstance(value, str) or "\r" in value or "\n" in value:
            problems.append(f"{where}.{name}: must be a string without line breaks")
    return problems


def event_map_problems(events, where: str) -> list[str]:
    if events is None:
        return []
    if not isinstance(events, dict):
        return [f"{where}: must be an object mapping event names to true or false"]
    problems = []
    for name, value in events.items():
        if name not in EVENT_NAMES:
            problems.append(f"{where}.{name}: unknown event; expected one of " + ", ".join(EVENT_NAMES))
        elif not isinstance(value, bool):
            problems.append(f"{where}.{name}: must be a boolean (true or false)")
    return problems


# --- precedence ---------------------------------------------------------------------------------

def _subscribes(hooks: dict, event: str) -> bool:
    return bool(hooks.get("enabled")) and bool(hooks.get("url")) and (hooks.get("events") or {}).get(event) is True


def resolve_target(tenant, event: str, campaign_id: str | None) -> dict | None:
    """Where ``event`` of ``campaign_id`` goes: {url, headers, retryAttempts, timeoutSeconds, source}."""
    campaign_hooks = (tenant.state.campaigns.get(campaign_id) or {}).get("webhooks") or {}
    tenant_hooks = tenant.state.settings.get("webhooks") or {}
    if _subscribes(campaign_hooks, event):
        hooks, source = campaign_hooks, "campaign"
    elif campaign_hooks.get("inheritFromTenant", True) and _subscribes(tenant_hooks, event):
        hooks, source = tenant_hooks, "tenant"
    else:
        return None
    return {"url": hooks["url"], "headers": dict(hooks.get("headers") or {}),
            "retryAttempts": hooks.get("retryAttempts") or DEFAULT_RETRY_ATTEMPTS,
            "timeoutSeconds": hooks.get("timeoutSeconds") or DEFAULT_TIMEOUT_SECONDS, "source": source}


def _send(tenant, event: str, payload: dict, campaign_id: str | None, lead_id: str | None) -> None:
    target = resolve_target(tenant, event, campaign_id)
    if target is not None:
        outbox.enqueue(tenant, kind="webhook", url=target["url"], payload=payload, headers=target["headers"],
                       timeout_seconds=target["timeoutSeconds"], retry_attempts=target["retryAttempts"],
                       event=event, lead_id=lead_id, campaign_id=campaign_id, source=target["source"])
    if listener.connected(tenant):
        target = target or {"headers": {}, "retryAttempts": DEFAULT_RETRY_ATTEMPTS,
                            "timeoutSeconds": DEFAULT_TIMEOUT_SECONDS}
        listener.offer(tenant, event, payload, headers=target["headers"], retry_attempts=target["retryAttempts"],
                       timeout_seconds=target["timeoutSeconds"], lead_id=lead_id, campaign_id=campaign_id)


# --- the hooks ------------------------------------------------------------------------------------

def lead_payload(event: str, lead: dict, submission: dict | None, campaign_id: str | None, stamp: str) -> dict:
    """The documented lead event body (§4.8.1); ``status`` is the run's status at the event."""
    return {
        "event": event,
        "leadId": lead["leadId"],
        "submissionId": submission["submissionId"] if submission else None,
        "campaignId": campaign_id,
        "status": (submission or lead)["status"],
        "timestamp": stamp,
        "data": {key: lead.get(key) for key in ("firstName", "lastName", "email", "phone")},
    }


def emit(tenant, name: str, lead: dict, submission: dict | None) -> None:
    campaign_id = ((submission or {}).get("campaign") or lead.get("campaign") or {}).get("campaignId")
    stamp = iso(tenant.now())
    _send(tenant, name, lead_payload(name, lead, submission, campaign_id, stamp), campaign_id, lead["leadId"])
    if name == "lead.first_submission_action":
        _first_submission_action(tenant, lead, submission, campaign_id, stamp)


def _first_submission_action(tenant, lead: dict, submission: dict | None, campaign_id: str | None,
                             stamp: str) -> None:
    """G57: a campaign whose first submission action is a webhook calls the action's URL."""
    action = (tenant.state.campaign_config.get(campaign_id) or {}).get("firstSubmissionAction") or {}
    if action.get("type") != "webhook" or not action.get("url"):
        return
    payload = {
        "event": "lead.first_submission_action", "leadId": lead["leadId"],
        "submissionId": submission["submissionId"] if submission else None, "campaignId": campaign_id,
        "action": "webhook",
        "lead": {key: lead.get(key) for key in ("leadId", "firstName", "lastName", "email", "phone", "status")},
        "timestamp": stamp,
    }
    method = str(action.get("method") or "POST").upper()
    outbox.enqueue(tenant, kind="first_submission_action", url=action["url"], payload=payload,
                   headers=action.get("headers") or {}, method=method if method in ACTION_METHODS else "POST",
                   timeout_seconds=_bounded(action.get("timeoutSeconds"), ACTION_TIMEOUT),
                   retry_attempts=_bounded(action.get("retries"), ACTION_RETRIES),
                   event="lead.first_submission_action", lead_id=lead["leadId"], campaign_id=campaign_id,
                   source="first_submission_action")


def _bounded(value, limits: tuple[int, int, int]) -> int:
    low, high, default = limits
    return value if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high else default


def emit_call_completed(tenant, interaction: dict) -> None:
    """G13: ``call.completed`` when a call reaches a final status."""
    call = interaction.get("call") or {}
    payload = {
        "event": CALL_COMPLETED,
        "interactionId": interaction["interactionId"],
        "leadId": interaction.get("leadId"),
        "campaignId": interaction.get("campaignId"),
        "status": interaction.get("status"),
        "duration": call.get("duration"),
        "spokenTo": call.get("spokenTo"),
        "terminationReason": call.get("terminationReason"),
        "summary": interaction.get("summary"),
        "recordingUrl": call.get("recordingUrl"),
        "timestamp": iso(tenant.now()),
    }
    _send(tenant, CALL_COMPLETED, payload, interaction.get("campaignId"), interaction.get("leadId"))


# --- control plane: a test event -------------------------------------------------------------------

SAMPLE_LEAD = {"leadId": "lead_abc123", "submissionId": "sub_xyz789", "campaignId": "ABC",
               "data": {"firstName": "John", "lastName": "Doe", "email": "john@example.com",
                        "phone": "+15551234567"}}
SAMPLE_STATUS = {"lead.queued": "pending", "lead.processed": "qualified", "lead.delivered": "delivered",
                 "lead.disqualified": "disqualified", "lead.failed": "failed",
                 "lead.first_submission_action": "pending_action", CALL_COMPLETED: "completed"}


def sample_payload(event: str, stamp: str) -> dict:
    """The docs' example values (§4.8.1), so a test event is recognisable as one."""
    if event == CALL_COMPLETED:
        return {"event": event, "interactionId": "int_xyz789", "leadId": SAMPLE_LEAD["leadId"],
                "campaignId": SAMPLE_LEAD["campaignId"], "status": "completed", "duration": 142,
                "spokenTo": "lead", "terminationReason": "call ended by the lead",
                "summary": "Sample call: the lead answered every question.", "recordingUrl": None,
                "timestamp": stamp}
    return {"event": event, "leadId": SAMPLE_LEAD["leadId"], "submissionId": SAMPLE_LEAD["submissionId"],
            "campaignId": SAMPLE_LEAD["campaignId"], "status": SAMPLE_STATUS[event], "timestamp": stamp,
            "data": dict(SAMPLE_LEAD["data"])}


def queue_test_event(tenant, body: dict) -> dict:
    """A one-try delivery of a sample event to ``url`` (kind ``test``); returns the record."""
    url, event = body.get("url"), body.get("event", "lead.delivered")
    timeout = body.get("timeoutSeconds", 10)
    problems = [] if outbox.is_webhook_url(url) else ["url: must be an absolute http:// or https:// URL"]
    if event not in EVENT_NAMES:
        problems.append("event: must be one of " + ", ".join(EVENT_NAMES))
    if isinstance(timeout, bool) or not isinstance(timeout, int) or not 1 <= timeout <= 120:
        problems.append("timeoutSeconds: must be an integer between 1 and 120")
    problems += header_problems(body.get("headers"), "headers")
    refuse_if(problems)
    return outbox.enqueue(tenant, kind="test", url=url, payload=sample_payload(event, iso(tenant.now())),
                          headers=body.get("headers") or {}, timeout_seconds=timeout, retry_attempts=0,
                          event=event, source="control_plane")
