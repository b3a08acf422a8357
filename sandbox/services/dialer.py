"""Auto-dialer: queue leads (``send-to-auto-dialer``), place their calls when due, retry, give up.

A queued lead has ``state.dialer[leadId].nextCallTime`` set and exactly one pending
``dialer.attempt`` job; re-queueing replaces the job, so a lead is never dialled twice for one
slot. The attempt goes through the same pre-flight as ``POST /voice/calls/initiate``. The control
plane's dry run (``check_lead``) and queue view (``queue_view``) read the same rules and jobs and
change nothing. The one thing a reader might get wrong: ``failed[]`` reasons are the G53 strings
*without* a rule prefix (they are per-lead results, not request validation), and a refusal at
attempt time is not an error — hours/gap refusals re-queue for when the rules allow, max attempts
ends the lead in ``no_contact``, an inactive configuration or a failing pre-flight drops the lead
from the queue.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..clock import iso
from ..domain import call_outcomes, dialer_rules, phones
from ..errors import SandboxError, ValidationFailed
from . import interactions, voice

ATTEMPT_JOB = "dialer.attempt"

LEAD_NOT_FOUND = "lead not found"
CONFIG_INACTIVE = "auto-dialer configuration is inactive"
CAMPAIGN_NOT_FOUND = "campaign not found"
NO_VALID_PHONE = "lead has no valid E.164 phone number"
NEVER_OPEN = "auto-dialer operating hours never open"


def send_to_auto_dialer(tenant, lead_ids: list[str]) -> dict:
    """Queue each lead for its campaign's dialer, in request order (G53)."""
    failed, details = [], []
    for lead_id in lead_ids:
        reason, at = _schedulable(tenant, lead_id)
        if reason is not None:
            failed.append({"leadId": lead_id, "error": reason})
            continue
        queue(tenant, lead_id, at)
        details.append({"leadId": lead_id, "nextCallTime": iso(at)})
    return {"succeeded": len(details), "failed": failed, "details": details}


def _schedulable(tenant, lead_id: str) -> tuple[str | None, datetime | None]:
    """(reason the lead cannot be queued, None) or (None, its next call time)."""
    lead = tenant.state.leads.get(lead_id)
    if lead is None:
        return LEAD_NOT_FOUND, None
    campaign_id = (lead.get("campaign") or {}).get("campaignId")
    if campaign_id not in tenant.state.campaigns:
        return CAMPAIGN_NOT_FOUND, None
    raw = tenant.state.campaign_config.get(campaign_id) or {}
    config = dialer_rules.config_of(raw)
    attempts = voice.attempts_of(tenant, lead_id)
    refusals = [
        None if config.get("active", True) else CONFIG_INACTIVE,
        _reason(dialer_rules.max_attempts(config, attempts)),
        _reason(dialer_rules.excluded_status(config, lead.get("status"))),
        interactions.DNC_PHONE_REASON if "phone" in interactions.dnc_channels(tenant, lead_id) else None,
        None if phones.to_e164(lead.get("phone")) else NO_VALID_PHONE,
    ]
    reason = next((r for r in refusals if r), None)
    if reason:
        return reason, None
    at = dialer_rules.next_allowed(config, attempts, tenant.now(), voice.lead_zone(tenant, lead, None, raw))
    return (NEVER_OPEN, None) if at is None else (None, at)


def _reason(verdict: dialer_rules.Verdict) -> str | None:
    return None if verdict.allowed else verdict.reason


def queue(tenant, lead_id: str, at: datetime) -> None:
    """(Re)place the lead's single pending attempt at ``at``; a re-queue keeps the first ``queuedAt``."""
    entry = voice.dialer_entry(tenant, lead_id)
    _cancel_attempt(tenant, lead_id, entry)
    entry["queuedAt"] = entry.get("queuedAt") or iso(tenant.now())
    entry["nextCallTime"] = iso(at)
    tenant.schedule(at, ATTEMPT_JOB, {"leadId": lead_id})


def _cancel_attempt(tenant, lead_id: str, entry: dict | None) -> None:
    # Only a lead with a ``nextCallTime`` has a pending attempt (``run_attempt`` clears it as the job
    # runs). Cancelling scans the whole timeline, so skipping it for every other lead — a first
    # queueing, a retry or an exit after a call — is what keeps a 10,000-lead day linear.
    if entry is None or entry.get("nextCallTime") is None:
        return
    tenant.timeline.cancel(lambda job: job.kind == ATTEMPT_JOB and job.payload.get("leadId") == lead_id)


def dequeue(tenant, lead_id: str) -> None:
    entry = tenant.state.dialer.get(lead_id)
    _cancel_attempt(tenant, lead_id, entry)
    if entry is not None:
        entry["queuedAt"] = None
        entry["nextCallTime"] = None


def run_attempt(tenant, payload: dict) -> dict:
    """A queued lead's call comes due: pre-flight, then place the call or act on the refusal."""
    lead_id = payload["leadId"]
    entry = voice.dialer_entry(tenant, lead_id)
    entry["nextCallTime"] = None
    try:
        plan = voice.prepare_call(tenant, lead_id)
        if not dialer_rules.config_of(plan.config).get("active", True):
            # Switched off after the lead was queued: the lead leaves the queue, as it would not enter it.
            raise ValidationFailed([f"autoDialer: {CONFIG_INACTIVE}"])
    except SandboxError as exc:
        dequeue(tenant, lead_id)
        return {"leadId": lead_id, "placed": False, "reason": "; ".join(exc.details) or exc.message}
    refusal = voice.rule_refusal(tenant, plan, "auto_dialer")
    if refusal is None:
        record = voice.place_call(tenant, plan, source="auto_dialer")
        return {"leadId": lead_id, "placed": True, "interactionId": record["interactionId"]}
    if refusal.rule in dialer_rules.WAITABLE:
        return _requeue(tenant, plan, refusal.detail)
    dequeue(tenant, lead_id)
    if refusal.rule == dialer_rules.MAX_ATTEMPTS:
        interactions.set_status(tenant, plan.lead, call_outcomes.NO_CONTACT)
    return {"leadId": lead_id, "placed": False, "reason": refusal.detail, "leadStatus": plan.lead.get("status")}


def _requeue(tenant, plan: voice.CallPlan, why: str) -> dict:
    lead_id = plan.lead["leadId"]
    config = dialer_rules.config_of(plan.config)
    at = dialer_rules.next_allowed(config, voice.attempts_of(tenant, lead_id), tenant.now(),
                                   voice.lead_zone(tenant, plan.lead, plan.phone, plan.config))
    if at is None:
        dequeue(tenant, lead_id)
        return {"leadId": lead_id, "placed": False, "reason": NEVER_OPEN}
    queue(tenant, lead_id, at)
    return {"leadId": lead_id, "placed": False, "reason": why, "nextCallTime": iso(at)}


def after_call(tenant, ended: dict) -> dict | None:
    """An auto-dialer call ended: queue the retry for an unreached lead, else leave the queue."""
    if ended.get("source") != "auto_dialer":
        return None
    record = tenant.state.interactions[ended["interactionId"]]
    lead_id = record["leadId"]
    result = call_outcomes.outcome(ended["outcome"])
    lead = tenant.state.leads.get(lead_id)
    if not result.retry or ended.get("exhausted") or lead is None:
        dequeue(tenant, lead_id)
        return None
    raw = tenant.state.campaign_config.get(record["campaignId"]) or {}
    config = dialer_rules.config_of(raw)
    attempts = voice.attempts_of(tenant, lead_id)
    earliest = tenant.now() + timedelta(minutes=dialer_rules.retry_delay_minutes(config, len(attempts)))
    at = dialer_rules.next_allowed(config, attempts, earliest, voice.lead_zone(tenant, lead, record["phone"], raw))
    if at is None:
        dequeue(tenant, lead_id)
        return None
    queue(tenant, lead_id, at)
    return {"leadId": lead_id, "retryAt": iso(at)}


# --- control plane views (read-only) ---------------------------------------------------------

def check_lead(tenant, lead_id: str) -> dict:
    """The dry run: every pre-flight verdict for calling ``lead_id`` now, and when it could be called.

    ``nextAllowedAt`` is now when every check passes, the instant hours and gap both allow when
    only those refuse, and null when a check no waiting can satisfy refuses.
    """
    lead = interactions.require_lead(tenant, lead_id)
    now = tenant.now()
    verdicts = [dialer_rules.Verdict(voice.LEAD, True)]
    plan = voice.preflight(tenant, lead, verdicts=verdicts)
    raw = (plan.config if plan else tenant.state.campaign_config.get(_campaign_of(lead))) or {}
    phone = plan.phone if plan else None
    verdicts += voice.dialer_verdicts(tenant, lead, phone, raw)
    zone = voice.lead_zone(tenant, lead, phone, raw)
    config = dialer_rules.config_of(raw)
    refused = [v for v in verdicts if not v.allowed]
    if not refused:
        next_at = now
    elif all(v.rule in dialer_rules.WAITABLE for v in refused):
        next_at = dialer_rules.next_allowed(config, voice.attempts_of(tenant, lead_id), now, zone)
    else:
        next_at = None
    return {
        "leadId": lead_id, "campaignId": _campaign_of(lead), "allowedNow": not refused,
        "nextAllowedAt": iso(next_at) if next_at else None,
        "leadLocalTime": now.astimezone(ZoneInfo(zone)).isoformat(), "timezone": zone,
        "autoDialerActive": bool(config.get("active", True)),
        "verdicts": [_verdict_view(v, now) for v in verdicts],
    }


def _campaign_of(lead: dict) -> str | None:
    return (lead.get("campaign") or {}).get("campaignId")


def _verdict_view(verdict: dialer_rules.Verdict, now: datetime) -> dict:
    allowed_at = verdict.allowed_at or (now if verdict.allowed else None)
    return {"rule": verdict.rule, "allowed": verdict.allowed, "reason": verdict.reason or None,
            "allowedAt": iso(allowed_at) if allowed_at else None}


def queue_view(tenant, limit: int = 100, campaign_id: str | None = None) -> dict:
    """The pending ``dialer.attempt`` jobs in due order (due time, then scheduling order)."""
    state = tenant.state
    utc = tenant.now().tzinfo
    limits: dict[str | None, int] = {}   # maxAttempts per campaign, resolved once
    rows = []
    for job in tenant.timeline.pending():
        if job.kind != ATTEMPT_JOB:
            continue
        lead_id = job.payload.get("leadId")
        code = _campaign_of(state.leads.get(lead_id) or {})
        if campaign_id is not None and code != campaign_id:
            continue
        if code not in limits:
            limits[code] = dialer_rules.config_of(state.campaign_config.get(code))["maxAttempts"]
        rows.append({"leadId": lead_id, "campaignId": code,
                     "nextCallTime": iso(datetime.fromtimestamp(job.due, utc)),
                     "attemptsUsed": len(voice.attempts_of(tenant, lead_id)), "maxAttempts": limits[code]})
    return {"total": len(rows), "queue": rows[:limit]}
