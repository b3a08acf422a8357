"""Submission use cases: open a run of the engine, move a run's status, list and patch submissions.

Every status change of a submission goes through ``set_status``, which keeps the lead in step with
its *latest* submission (G31); ``emit`` is the one door to the lead.* webhook hooks. The one thing a
reader might get wrong: ``start_run`` only records and schedules — the engine itself (processing, qualification,
delivery) runs later on the tenant clock, in ``simulation/leads_pipeline.py``; nothing here waits.
"""

from __future__ import annotations

import copy
import importlib
from datetime import timedelta

from ..clock import iso
from ..domain.leads import campaign_summary
from ..domain.submissions import DELAYS, apply_patch, new_submission
from ..errors import NotFound, found
from ..store import Tenant

try:  # The webhooks area lands later; until then the hooks are silently skipped.
    _events_module = importlib.import_module(f"{__package__}.events")
except ModuleNotFoundError as missing:  # pragma: no cover - depends on which areas exist
    if missing.name != f"{__package__}.events":
        raise  # a broken events module must fail loudly, not switch webhooks off
    _events_module = None

PROCESS_JOB = "submission.process"
EVALUATE_JOB = "submission.evaluate"
DELIVER_JOB = "submission.deliver"


def emit(tenant: Tenant, event: str, lead: dict, submission: dict) -> None:
    # Looked up per call: should the events module import this one, it is still half-built here.
    hook = getattr(_events_module, "emit", None)
    if hook is not None:
        hook(tenant, event, lead, submission)


def latest_submission(tenant: Tenant, lead_id: str) -> dict | None:
    ids = tenant.state.lead_submissions.get(lead_id) or []
    return tenant.state.submissions.get(ids[-1]) if ids else None


def is_latest(tenant: Tenant, submission: dict) -> bool:
    ids = tenant.state.lead_submissions.get(submission["leadId"]) or []
    return bool(ids) and ids[-1] == submission["submissionId"]


def set_status(tenant: Tenant, submission: dict, status: str) -> None:
    """Move a submission; its lead follows when this is the lead's latest submission (G31)."""
    stamp = iso(tenant.now())
    submission["status"] = status
    submission["updatedAt"] = stamp
    lead = tenant.state.leads.get(submission["leadId"])
    if lead is not None and is_latest(tenant, submission):
        lead.update(status=status, updatedAt=stamp, lastActivityAt=stamp)


def record_submission(tenant: Tenant, lead: dict, campaign: dict, submission_type: str, status: str) -> dict:
    """A new submission of ``lead`` for ``campaign``; the lead mirrors it from now on."""
    stamp = iso(tenant.now())
    number = len(tenant.state.lead_submissions.get(lead["leadId"]) or []) + 1
    submission = new_submission(tenant.ids.new("sub"), lead, number, stamp, status=status,
                                submission_type=submission_type, campaign_summary=campaign_summary(campaign))
    tenant.state.add_submission(submission)
    lead.update(status=status, submissionCount=number, updatedAt=stamp, lastActivityAt=stamp)
    return submission


def start_run(tenant: Tenant, lead: dict, campaign: dict, submission_type: str, mode: str,
              delivery_info: dict | None = None) -> dict:
    """Record a ``pending`` submission and queue the engine's first step for it (status ``pending``)."""
    submission = record_submission(tenant, lead, campaign, submission_type, "pending")
    lead["latestSubmittedAt"] = submission["createdAt"]
    payload = {"leadId": lead["leadId"], "submissionId": submission["submissionId"], "mode": mode}
    if delivery_info:
        payload["deliveryInfo"] = copy.deepcopy(delivery_info)
    schedule_step(tenant, PROCESS_JOB, payload)
    emit(tenant, "lead.queued", lead, submission)
    return submission


def schedule_step(tenant: Tenant, job: str, payload: dict) -> None:
    delay = {PROCESS_JOB: DELAYS["process"], EVALUATE_JOB: DELAYS["evaluate"], DELIVER_JOB: DELAYS["deliver"]}[job]
    tenant.schedule(tenant.now() + timedelta(seconds=delay), job, payload)


def list_lead_submissions(tenant: Tenant, lead_id: str) -> dict:
    """G10: every submission of a lead, oldest first."""
    if lead_id not in tenant.state.leads:
        raise NotFound()
    ids = tenant.state.lead_submissions.get(lead_id) or []
    submissions = [tenant.state.submissions[sid] for sid in ids if sid in tenant.state.submissions]
    return {"leadId": lead_id, "submissions": submissions, "count": len(submissions)}


def update_submission(tenant: Tenant, submission_id: str, body: dict) -> dict:
    """G30: partial update; a status change of the lead's latest submission shows on the lead."""
    submission = found(tenant.state.submissions.get(submission_id))
    before = submission["status"]
    apply_patch(submission, body, iso(tenant.now()))
    if submission["status"] != before:
        set_status(tenant, submission, submission["status"])
    return submission
