"""The outbox: every outbound HTTP call the sandbox makes (lead.* and call.completed webhooks, the
SMS-agent hand-off, the first-submission-action webhook, control-plane test events) is a
*delivery* recorded in ``tenant.state.deliveries`` with all its attempts.

Lifecycle: ``enqueue`` records a ``pending`` delivery and schedules a ``webhook.attempt`` job on the
tenant clock; the job (``simulation/webhooks.py``) calls ``begin_attempt`` (status ``delivering``)
and hands the request to the async sender (``sandbox/webhooks``); the sender's completion calls
``finish_attempt``, which marks the delivery ``delivered`` (any 2xx), or schedules a retry
``30 s · 2^k`` after the failed attempt *started* (k = retries already made), or — when the
configured retries are used — marks it ``failed`` (kept; ``replay`` starts a new series).

Deliveries of kind ``listen`` (``services/listener.py``) go to ``leadsail-sandbox listen`` instead
of a URL: the same records and attempts, but no job on the clock — a scheduled attempt is only
``nextAttemptAt``, and the listener's poll starts it when it is due.

The one thing a reader might get wrong: nothing here performs I/O or awaits. ``enqueue`` never
sends, even with no delay, so a webhook never leaves inside the request that caused it; and the
retry time is computed from the attempt's start on the tenant clock, not from when the HTTP answer
arrived, so ``clock/advance`` gives the same schedule however far it jumps.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta

from .. import metrics
from ..clock import iso, parse_instant
from ..errors import ValidationFailed, found, refuse_if
from ..webhooks.targets import TargetError, canonical_url
from . import webhook_signing

ATTEMPT_JOB = "webhook.attempt"
LISTEN_KIND = "listen"           # an event's delivery to the listener (no URL, no clock job)
KINDS = ("webhook", "sms_agent", "first_submission_action", "test", LISTEN_KIND)
STATUSES = ("pending", "delivering", "delivered", "failed")
TRIGGERS = ("initial", "retry", "replay", "duplicate")
BACKOFF_BASE_SECONDS = 30
MAX_DELIVERIES = 2000            # per tenant; the oldest finished ones are dropped beyond it
EXCERPT_CHARS = 1000             # of a receiver's answer kept on an attempt
OUT_OF_ORDER_WINDOW_SECONDS = 20  # fault switch: each new delivery is held back 0..20 s (seeded)
USER_AGENT = "LeadSail-Sandbox-Webhooks/1.0"
FAULT_DEFAULTS = {"duplicate": False, "outOfOrder": False, "extraDelaySeconds": 0}
MAX_EXTRA_DELAY_SECONDS = 3600


def is_webhook_url(url) -> bool:
    """An absolute http(s) URL with a host that has one canonical form (``targets.canonical_url``):
    what a webhook can be sent to. Refused on write, in every mode, rather than at each attempt:
    backslashes, userinfo, fragments, whitespace, control characters, bad escapes, hosts or ports."""
    try:
        canonical_url(url)
    except TargetError:
        return False
    return True


def backoff_seconds(retries_made: int) -> int:
    return BACKOFF_BASE_SECONDS * 2 ** retries_made


# --- enqueue ----------------------------------------------------------------------------------

def enqueue(tenant, *, kind: str, url: str, payload: dict, headers: dict | None = None,
            method: str = "POST", timeout_seconds: float = 30, retry_attempts: int = 3,
            event: str | None = None, lead_id: str | None = None, campaign_id: str | None = None,
            delay_seconds: float = 0, source: str | None = None) -> dict:
    """Record a pending delivery and schedule its first attempt; returns a copy of the record."""
    if kind not in KINDS:
        raise ValueError(f"unknown delivery kind {kind!r}")
    now = tenant.now()
    stamp = iso(now)
    delivery = {
        "deliveryId": tenant.ids.new("whd"),
        "kind": kind,
        "event": event,
        "status": "pending",
        "source": source,
        "url": url,
        "method": method.upper(),
        "headers": {str(k): str(v) for k, v in (headers or {}).items()},
        "leadId": lead_id,
        "campaignId": campaign_id,
        # A snapshot: callers hand in live records, and the body must not change between retries.
        "payload": copy.deepcopy(payload),
        "retryAttempts": int(retry_attempts),
        "timeoutSeconds": timeout_seconds,
        "retriesLeft": int(retry_attempts),
        "attemptCount": 0,
        "attempts": [],
        "nextAttemptAt": None,
        "createdAt": stamp,
        "updatedAt": stamp,
    }
    faults = get_faults(tenant)
    delay = float(delay_seconds) + faults["extraDelaySeconds"]
    if faults["outOfOrder"]:
        delay += tenant.rng.randint(0, OUT_OF_ORDER_WINDOW_SECONDS)
    _trim(tenant.state.deliveries)
    tenant.state.deliveries[delivery["deliveryId"]] = delivery
    _schedule(tenant, delivery, now + timedelta(seconds=delay), 1, "initial")
    return copy.deepcopy(delivery)


def _trim(deliveries: dict) -> None:
    if len(deliveries) < MAX_DELIVERIES:
        return
    finished = [d for d, record in deliveries.items() if record["status"] in ("delivered", "failed")]
    for delivery_id in finished[: len(deliveries) - MAX_DELIVERIES + 1]:
        del deliveries[delivery_id]


def unschedule(tenant, delivery_id: str) -> int:
    """Drop the delivery's scheduled attempts (a test event is sent at once instead)."""
    return tenant.timeline.cancel(lambda job: job.kind == ATTEMPT_JOB and job.payload.get("deliveryId") == delivery_id)


def _schedule(tenant, delivery: dict, due, number: int, trigger: str) -> None:
    delivery["nextAttemptAt"] = iso(due)
    if delivery["kind"] == LISTEN_KIND:
        return  # the listener's poll starts it once due (listener.collect)
    tenant.schedule(due, ATTEMPT_JOB, {"deliveryId": delivery["deliveryId"], "attempt": number, "trigger": trigger})


# --- attempts (called by the webhook.attempt job and the sender's completion) --------------------

def due_attempt(tenant, delivery_id: str, number: int, trigger: str) -> tuple[dict | None, str | None]:
    """(delivery, None) when attempt ``number`` may start now; (None, why not) for a stale job."""
    delivery = tenant.state.deliveries.get(delivery_id)
    if delivery is None:
        return None, "delivery no longer exists"
    if number != len(delivery["attempts"]) + 1:
        return None, f"attempt {number} is stale (delivery has {len(delivery['attempts'])} attempts)"
    expected = "delivered" if trigger == "duplicate" else "pending"
    if delivery["status"] != expected:
        return None, f"delivery is now '{delivery['status']}'"
    return delivery, None


def defer(tenant, delivery: dict, number: int, trigger: str, seconds: int) -> None:
    """Push an attempt back without spending it (strict mode's per-minute cap)."""
    _schedule(tenant, delivery, tenant.now() + timedelta(seconds=seconds), number, trigger)
    delivery["updatedAt"] = iso(tenant.now())


def begin_attempt(tenant, delivery: dict, number: int, trigger: str) -> dict:
    """Append attempt ``number`` (in flight) with the exact request to send; returns it."""
    now = tenant.now()
    body = json.dumps(delivery["payload"], separators=(",", ":"), ensure_ascii=False).encode()
    timestamp = int(now.timestamp())
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    headers.update(delivery["headers"])
    # webhook-id is the delivery id on every attempt, replay and duplicate: receivers dedupe on it.
    headers.update({"webhook-id": delivery["deliveryId"], "webhook-timestamp": str(timestamp)})
    secret = tenant.state.settings.get("webhookSecret")
    if secret:
        headers.update(webhook_signing.headers(secret, delivery["deliveryId"], timestamp, body))
    attempt = {
        "attempt": number,
        "trigger": trigger,
        "at": iso(now),
        "status": "in_flight",
        "request": {"method": delivery["method"], "url": delivery["url"], "headers": headers,
                    "body": body.decode()},
        "response": None,
        "error": None,
        "latencyMs": None,
        "nextRetryAt": None,
    }
    delivery["attempts"].append(attempt)
    delivery["attemptCount"] = len(delivery["attempts"])
    if trigger != "duplicate":
        delivery["status"] = "delivering"
        delivery["nextAttemptAt"] = None
    delivery["updatedAt"] = iso(now)
    return attempt


def finish_attempt(tenant, delivery: dict, attempt: dict, result: dict) -> str:
    """Record what the receiver answered and decide what comes next; returns the delivery's status.

    ``result``: ``{responseStatus, bodyExcerpt, error, latencyMs, refused}`` from the sender.
    Ignored (returns "discarded") when the delivery was replaced meanwhile (reset, import).
    """
    if tenant.state.deliveries.get(delivery["deliveryId"]) is not delivery:
        return "discarded"
    status_code = result.get("responseStatus")
    succeeded = status_code is not None and 200 <= status_code < 300 and not result.get("error")
    attempt.update(
        status="succeeded" if succeeded else ("refused" if result.get("refused") else "failed"),
        response=None if status_code is None else
        {"status": status_code, "bodyExcerpt": (result.get("bodyExcerpt") or "")[:EXCERPT_CHARS]},
        error=result.get("error"),
        latencyMs=result.get("latencyMs"),
    )
    metrics.webhook_attempt(attempt["status"], delivery["kind"])
    delivery["updatedAt"] = iso(tenant.now())
    if attempt["trigger"] == "duplicate":
        return delivery["status"]  # a duplicate never changes the delivery's outcome
    if succeeded:
        delivery.update(status="delivered", nextAttemptAt=None)
        if get_faults(tenant)["duplicate"]:
            _schedule(tenant, delivery, tenant.now(), len(delivery["attempts"]) + 1, "duplicate")
        return "delivered"
    if delivery["retriesLeft"] > 0 and not result.get("refused"):
        made = delivery["retryAttempts"] - delivery["retriesLeft"]
        delivery["retriesLeft"] -= 1
        due = parse_instant(attempt["at"]) + timedelta(seconds=backoff_seconds(made))
        delivery["status"] = "pending"
        _schedule(tenant, delivery, due, len(delivery["attempts"]) + 1, "retry")
        attempt["nextRetryAt"] = delivery["nextAttemptAt"]
        return "retrying"
    delivery.update(status="failed", nextAttemptAt=None)
    return "failed"


def replay(tenant, delivery_id: str) -> tuple[dict, int]:
    """Start a new series (1 + retryAttempts tries) for a finished delivery: (delivery, attempt no.)."""
    delivery = _get(tenant, delivery_id)
    if delivery["status"] not in ("delivered", "failed"):
        raise ValidationFailed([f"status: delivery {delivery_id} is '{delivery['status']}'; "
                                "only a delivered or failed delivery can be replayed"])
    delivery.update(status="pending", retriesLeft=delivery["retryAttempts"], updatedAt=iso(tenant.now()))
    return delivery, len(delivery["attempts"]) + 1


# --- reading and fault switches ------------------------------------------------------------------

def _get(tenant, delivery_id: str) -> dict:
    return found(tenant.state.deliveries.get(delivery_id))


def get_delivery(tenant, delivery_id: str) -> dict:
    return copy.deepcopy(_get(tenant, delivery_id))


def list_deliveries(tenant, *, event=None, status=None, lead_id=None, campaign_id=None, kind=None,
                    limit: int = 50) -> dict:
    """Newest first; each item without its attempts' bodies (``lastAttempt`` sums up the latest)."""
    wanted = {"event": event, "status": status, "leadId": lead_id, "campaignId": campaign_id, "kind": kind}
    matched = [d for d in reversed(tenant.state.deliveries.values())
               if all(value is None or d.get(key) == value for key, value in wanted.items())]
    items = []
    for delivery in matched[:limit]:
        item = {k: copy.deepcopy(v) for k, v in delivery.items() if k != "attempts"}
        last = delivery["attempts"][-1] if delivery["attempts"] else None
        item["lastAttempt"] = None if last is None else {
            "attempt": last["attempt"], "trigger": last["trigger"], "at": last["at"], "status": last["status"],
            "responseStatus": (last["response"] or {}).get("status"), "error": last["error"],
            "latencyMs": last["latencyMs"]}
        items.append(item)
    return {"deliveries": items, "count": len(items), "total": len(matched)}


def get_faults(tenant) -> dict:
    return {**FAULT_DEFAULTS, **tenant.state.webhook_faults}


def set_faults(tenant, body: dict) -> dict:
    """Replace the tenant's fault switches (a missing switch is off)."""
    problems = [f"{key}: must be a boolean (true or false)" for key in ("duplicate", "outOfOrder")
                if key in body and not isinstance(body[key], bool)]
    extra = body.get("extraDelaySeconds", 0)
    if isinstance(extra, bool) or not isinstance(extra, int) or not 0 <= extra <= MAX_EXTRA_DELAY_SECONDS:
        problems.append(f"extraDelaySeconds: must be an integer between 0 and {MAX_EXTRA_DELAY_SECONDS}")
    refuse_if(problems)
    tenant.state.webhook_faults = {key: body.get(key, default) for key, default in FAULT_DEFAULTS.items()}
    return get_faults(tenant)
