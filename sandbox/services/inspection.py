"""What the inspector page reads (``/_sandbox/inspector/``): a lead's timeline and the pending work.

``lead_timeline`` puts together, on the tenant clock and in order, everything the sandbox holds
about one lead: its creation and notes, each submission's run (received, evaluated, posted to the
client, its status now), its calls (placed, answered, ended), its texts both ways, its DNC record,
its files and pixel events, every webhook delivery about it with each attempt, and the requests of
the tenant's journal that named it; then the work still due for it. ``pending_work`` sums up the
whole timeline of due work by kind. Both are reads: nothing changes.

The one thing a reader might get wrong: the sandbox keeps no history log. Every entry is read off a
timestamp a record already carries (``qualifiedAt``, ``deliveredAt``, an attempt's ``at`` ...), so
an intermediate state nothing stamped (a submission's ``processing`` second, a DNC record changed
twice) does not appear; the ``lead.*`` deliveries, when webhooks are configured, carry the status
at each event and fill most of that in. Each source is read through an index where the store has
one (the lead's submissions and interactions), so a timeline costs the lead's own records, not the
tenant's: only texts (no per-lead index) and the bounded collections (deliveries, journal, pixel
events) are scanned, texts only when the lead has a conversation at all.
"""

from __future__ import annotations

import heapq
from collections import Counter
from datetime import datetime, timedelta, timezone

from ..clock import iso, parse_instant
from ..domain import interactions as model
from ..errors import found

LEAD_FIELDS = ("leadId", "firstName", "lastName", "email", "phone", "status", "timezone", "createdAt", "updatedAt")


def _event(at, kind: str, title: str, *, status=None, detail=None, ref_type=None, ref_id=None) -> dict:
    # Strings whatever an imported record holds (a note's text may be a number there).
    return {"at": at, "kind": kind, "title": title, "status": None if status is None else str(status),
            "detail": None if detail is None else str(detail),
            "ref": {"type": ref_type, "id": None if ref_id is None else str(ref_id)} if ref_type else None}


def _lead_view(lead: dict) -> dict:
    view = {key: lead.get(key) for key in LEAD_FIELDS}
    campaign = lead.get("campaign") or {}
    flags = lead.get("flags") or {}
    view.update(campaignId=campaign.get("campaignId"), campaignName=campaign.get("name"),
                isDnc=bool(flags.get("isDnc")), isTest=bool(flags.get("isTest")))
    return view


def _submission_events(submission: dict) -> list[dict]:
    number, sid = submission.get("submissionNumber"), submission["submissionId"]
    status, events = submission.get("status"), []
    started = "new" if status == "new" else "pending"
    events.append(_event(submission["createdAt"], "submission",
                         f"Submission #{number} ({submission.get('type') or 'standard'}) received",
                         status=started, ref_type="submission", ref_id=sid))
    shown = started
    qualification = submission.get("qualification") or {}
    if qualification.get("qualifiedAt"):
        verdict = "qualified" if qualification.get("passed") else (submission.get("result") or status)
        events.append(_event(qualification["qualifiedAt"], "status", f"Submission #{number} evaluated: {verdict}",
                             status=verdict, detail=qualification.get("reason"), ref_type="submission", ref_id=sid))
        shown = verdict
    delivery = submission.get("delivery") or {}
    posting = submission.get("posting") or {}
    delivered_at = delivery.get("deliveredAt") or posting.get("postedAt")
    if delivered_at:
        ok = delivery.get("success", posting.get("success"))
        code = delivery.get("statusCode", posting.get("statusCode"))
        message = delivery.get("responseMessage")
        verdict = "delivered" if ok else (submission.get("result") or status)
        events.append(_event(delivered_at, "status",
                             f"Submission #{number} posted to the client: HTTP {code}" if code is not None
                             else f"Submission #{number} posted to the client",
                             status=verdict, detail=message, ref_type="submission", ref_id=sid))
        shown = verdict
    if status != shown:
        events.append(_event(submission.get("updatedAt") or submission["createdAt"], "status",
                             f"Submission #{number} is {status}", status=status, ref_type="submission", ref_id=sid))
    return events


def _call_events(record: dict) -> list[dict]:
    call, iid = record.get("call") or {}, record["interactionId"]
    direction = call.get("direction") or "outbound"
    events = [_event(record["createdAt"], "call",
                     "Inbound call answered by the agent" if direction == "inbound"
                     else f"Call placed ({call.get('source') or 'api'})",
                     status="in_progress", detail=record.get("phone"), ref_type="call", ref_id=iid)]
    status = record.get("status")
    if status == "in_progress":
        return events
    duration = call.get("duration") or 0
    ended = record.get("updatedAt") or record["createdAt"]
    try:
        answered = iso(parse_instant(ended) - timedelta(seconds=duration)) if duration else None
    except (ValueError, TypeError, OverflowError):
        answered = None  # an imported record with an unreadable time: the end is still shown
    if answered:
        events.append(_event(answered, "call", "Call answered", status="in_progress", ref_type="call", ref_id=iid))
    title = f"Call ended: {status}" + (f" after {duration} s" if duration else "")
    detail = " — ".join(part for part in (call.get("terminationReason"), record.get("summary"),
                                          record.get("errorMessage")) if part)
    events.append(_event(ended, "call", title, status=status, detail=detail or None, ref_type="call", ref_id=iid))
    return events


def _text_events(tenant, lead_id: str, threads: list[dict]) -> list[dict]:
    events = []
    if not threads:
        return events
    for message in tenant.state.sms_messages.values():
        if message["leadId"] != lead_id:
            continue
        inbound = message.get("direction") == "inbound"
        who = "lead" if inbound else ("SMS agent" if message.get("source") == "sms_agent" else message.get("source"))
        title = f"Text from the lead to {message.get('to')}" if inbound else f"Text to the lead ({who})"
        detail = message.get("text")
        if message.get("errorCode"):
            detail = f"{detail} — error {message['errorCode']}: {message.get('errorMessage')}"
        events.append(_event(message["createdAt"], "sms", title, status=message.get("status"), detail=detail,
                             ref_type="sms", ref_id=message.get("interactionId")))
    for thread in threads:  # what no message record holds: the STOP/START confirmations
        for entry in model.transcript_entries(thread):
            if entry.get("source") == "system":
                events.append(_event(entry["timestamp"], "sms", "Automatic reply", status=thread.get("status"),
                                     detail=entry.get("message"), ref_type="sms", ref_id=thread["interactionId"]))
    return events


def _dnc_events(record: dict | None) -> list[dict]:
    """The record's first and latest state (it keeps no history in between)."""
    if not record:
        return []
    channels = ", ".join(record.get("channels") or []) or "none"
    by = f" by {record['updatedBy']}" if record.get("updatedBy") else ""
    created, updated = record.get("createdAt"), record.get("updatedAt")
    if not updated or updated == created:
        return [_event(created, "dnc", f"DNC set{by}: {channels}", status=channels, detail=record.get("reason"),
                       ref_type="dnc")]
    return [_event(created, "dnc", "DNC record created", ref_type="dnc"),
            _event(updated, "dnc", f"DNC changed{by}: now {channels}", status=channels, detail=record.get("reason"),
                   ref_type="dnc")]


def _delivery_events(delivery: dict) -> list[dict]:
    did = delivery["deliveryId"]
    name = delivery.get("event") or delivery.get("kind")
    payload = delivery.get("payload") if isinstance(delivery.get("payload"), dict) else {}
    status_at_event = payload.get("status") if isinstance(payload.get("status"), str) else None
    title = f"Webhook {name} queued"
    if status_at_event and (delivery.get("event") or "").startswith("lead."):
        title = f"Webhook {name} queued (status {status_at_event})"
    events = [_event(delivery["createdAt"], "webhook", title, status=status_at_event, detail=delivery.get("url"),
                     ref_type="delivery", ref_id=did)]
    for attempt in delivery.get("attempts") or []:
        response = attempt.get("response") or {}
        answer = f"HTTP {response['status']}" if response.get("status") is not None else (attempt.get("error") or "")
        title = f"Webhook {name} attempt {attempt['attempt']} ({attempt.get('trigger')}): {attempt.get('status')}"
        detail = answer + (f"; next retry at {attempt['nextRetryAt']}" if attempt.get("nextRetryAt") else "")
        events.append(_event(attempt["at"], "webhook", title, status=attempt.get("status"), detail=detail or None,
                             ref_type="delivery", ref_id=did))
    return events


def _request_events(tenant, ids: set[str]) -> list[dict]:
    events = []
    for entry in reversed(tenant.journal):  # the journal is newest first
        text = " ".join(str(entry.get(key) or "") for key in ("path", "query", "requestBody", "responseBody"))
        if any(i in text for i in ids):
            error = entry.get("error") or {}
            events.append(_event(entry["at"], "request", f"{entry['method']} {entry['path']} → {entry['status']}",
                                 status=str(entry["status"]),
                                 detail="; ".join(error.get("details") or []) or error.get("message"),
                                 ref_type="request"))
    return events


def _pending_for(tenant, lead_id: str, interaction_ids: set[str], delivery_ids: set[str]) -> list[dict]:
    mine = []
    for job in _jobs(tenant):
        payload = job.payload
        if (payload.get("leadId") == lead_id or payload.get("interactionId") in interaction_ids
                or payload.get("deliveryId") in delivery_ids):
            mine.append(job)
        elif job.kind == "sms.deliver":
            message = tenant.state.sms_messages.get(payload.get("messageId") or "")
            if message is not None and message["leadId"] == lead_id:
                mine.append(job)
    return [_job_view(job) for job in sorted(mine)]


def _instant(event: dict) -> float:
    """Sort key: the instant (an imported record may write its time another way than ``iso``)."""
    try:
        return parse_instant(event["at"]).timestamp()
    except (ValueError, TypeError, OverflowError):
        return float("inf")


def _jobs(tenant):
    """The timeline's jobs in no particular order (a read: sorting them all costs a busy tenant
    seconds; only the few that are kept are sorted)."""
    return list(tenant.timeline._heap)  # noqa: SLF001 - read-only; Timeline.pending() sorts every job


def _job_view(job) -> dict:
    return {"due": iso(datetime.fromtimestamp(job.due, timezone.utc)), "job": job.kind, "payload": job.payload}


def lead_timeline(tenant, lead_id: str) -> dict:
    """``GET /_sandbox/leads/{leadId}/timeline``: everything about one lead, oldest first."""
    state = tenant.state
    lead = found(state.leads.get(lead_id))
    submission_ids = list(state.lead_submissions.get(lead_id) or [])
    records = [state.interactions[i] for i in state.lead_interactions.get(lead_id) or [] if i in state.interactions]
    interaction_ids = {r["interactionId"] for r in records}
    # Requests first: within one second a request comes before the records it made (the sort is stable).
    events = _request_events(tenant, {lead_id, *submission_ids, *interaction_ids})
    events.append(_event(lead["createdAt"], "lead", f"Lead created in {(lead.get('campaign') or {}).get('name')}",
                         detail=(lead.get("campaign") or {}).get("campaignId"), ref_type="lead", ref_id=lead_id))
    for note in lead.get("notes") or []:
        events.append(_event(note.get("createdAt") or lead["createdAt"], "note", "Note added",
                             detail=note.get("text") or note.get("content"), ref_type="lead", ref_id=lead_id))
    for sid in submission_ids:
        if sid in state.submissions:
            events += _submission_events(state.submissions[sid])
    threads = [r for r in records if r.get("type") == model.SMS]
    for record in records:
        if record.get("type") == "call":
            events += _call_events(record)
    events += _text_events(tenant, lead_id, threads)
    events += _dnc_events(state.dnc.get(lead_id))
    for file in (state.files.get(lead_id) or {}).values():
        key = file.get("fileKey")
        events.append(_event(file.get("createdAt"), "file", f"File {key} added", status=file.get("status"),
                             ref_type="file", ref_id=key))
        if file.get("updatedAt") and file.get("updatedAt") != file.get("createdAt"):
            events.append(_event(file["updatedAt"], "file", f"File {key} updated", status=file.get("status"),
                                 ref_type="file", ref_id=key))
    for pixel in state.pixel_events:
        if pixel.get("leadId") == lead_id:
            events.append(_event(pixel["firedAt"], "pixel", f"Pixel {pixel.get('platform')} {pixel.get('eventName')}",
                                 status="succeeded" if pixel.get("success") else "failed", detail=pixel.get("error"),
                                 ref_type="pixel", ref_id=pixel.get("eventId")))
    deliveries = [d for d in state.deliveries.values() if d.get("leadId") == lead_id]
    for delivery in deliveries:
        events += _delivery_events(delivery)
    events = [e for e in events if isinstance(e["at"], str) and e["at"]]
    # Stable: records of one instant keep the order above (a submission before what it caused).
    events.sort(key=_instant)
    return {"leadId": lead_id, "now": iso(tenant.now()), "lead": _lead_view(lead),
            "calls": [r["interactionId"] for r in records if r.get("type") == "call"],
            "conversations": [r["interactionId"] for r in threads],
            "events": events,
            "pending": _pending_for(tenant, lead_id, interaction_ids, {d["deliveryId"] for d in deliveries})}


def pending_work(tenant, limit: int = 20) -> dict:
    """``GET /_sandbox/clock/pending``: the due work by kind and the next ``limit`` jobs."""
    jobs = _jobs(tenant)
    return {"now": iso(tenant.now()), "pendingJobs": len(jobs), "byKind": dict(Counter(job.kind for job in jobs)),
            "next": [_job_view(job) for job in heapq.nsmallest(limit, jobs)]}
