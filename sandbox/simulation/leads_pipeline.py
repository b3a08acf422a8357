"""The submit engine on the clock: processing → evaluation → delivery of one submission.

Three job kinds carry ``{leadId, submissionId, mode[, deliveryInfo]}``; ``mode`` names the steps
the run takes (``domain.submissions.MODES``). Evaluation follows the documented engine order
(§5.15): routing (none simulated), the intake duplicate check (G21), the campaign's first submission
action — which may stop the run at ``pending_action`` *before* qualification, leaving it to a
manual ``/deliver`` — then required fields and disqualification rules, then delivery.

The one thing a reader might get wrong: every step first checks that the submission is still in
the status the previous step left; a submission patched in between (``PATCH /submissions``) or a
state imported over it is left alone, so a stale job never overwrites a newer decision.
"""

from __future__ import annotations

from ..clock import iso
from ..domain.leads import duplicate_of, matching_disqualify_rule, missing_fields
from ..domain.submissions import (
    DEFAULT_DUPLICATE_WINDOW_DAYS, DELIVERY_OUTCOMES, MODES, delivery_outcome, qualification_block,
    routing_block,
)
from ..scenarios import submit_outcome_for
from ..services.leads import earlier_leads
from ..services.submissions import (
    DELIVER_JOB, EVALUATE_JOB, PROCESS_JOB, emit, is_latest, schedule_step, set_status,
)
from . import handles


def _run(tenant, payload: dict, expected: tuple[str, ...]):
    """(lead, submission, effects-if-skipped)."""
    lead = tenant.state.leads.get(payload["leadId"])
    submission = tenant.state.submissions.get(payload["submissionId"])
    if lead is None or submission is None:
        return None, None, [{**_ids(payload), "skipped": "submission no longer exists"}]
    if submission["status"] not in expected:
        return None, None, [{**_ids(payload), "skipped": f"submission is now '{submission['status']}'"}]
    return lead, submission, None


def _ids(payload: dict) -> dict:
    return {"leadId": payload["leadId"], "submissionId": payload["submissionId"]}


def _effect(payload: dict, status: str) -> list[dict]:
    return [{**_ids(payload), "status": status}]


def _finish(tenant, lead, submission, status: str, *events: str) -> None:
    submission["result"] = status
    set_status(tenant, submission, status)
    for event in events:
        emit(tenant, event, lead, submission)


def _forced(lead: dict, mode) -> str | None:
    return submit_outcome_for(lead.get("email")) if mode.forced else None


@handles(PROCESS_JOB)
def process(tenant, payload: dict) -> list[dict]:
    lead, submission, skipped = _run(tenant, payload, ("pending",))
    if skipped:
        return skipped
    set_status(tenant, submission, "processing")
    mode = MODES[payload["mode"]]
    # A plain repost has nothing to evaluate: it goes straight back to the client.
    schedule_step(tenant, EVALUATE_JOB if mode.qualify else DELIVER_JOB, payload)
    return _effect(payload, "processing")


@handles(EVALUATE_JOB)
def evaluate(tenant, payload: dict) -> list[dict]:
    lead, submission, skipped = _run(tenant, payload, ("processing",))
    if skipped:
        return skipped
    state, now = tenant.state, tenant.now()
    stamp = iso(now)
    mode = MODES[payload["mode"]]
    code = submission["campaign"]["campaignId"]
    config = state.campaign_config.get(code) or {}
    forced = _forced(lead, mode)
    submission["routing"] = routing_block(code, stamp)

    if forced == "error":
        _finish(tenant, lead, submission, "error", "lead.failed")
        return _effect(payload, "error")

    detection = config.get("duplicateDetection") or {}
    if mode.duplicates and not lead["flags"].get("isTest") and \
            (detection.get("enabled", True) or forced == "duplicate"):
        window = detection.get("windowDays", DEFAULT_DUPLICATE_WINDOW_DAYS)
        original = "a forced scenario" if forced == "duplicate" else \
            duplicate_of(lead, code, earlier_leads(state, lead["leadId"]), window, now)
        if original:
            submission["qualification"] = qualification_block(
                False, f"duplicate of {original} within the campaign's {window}-day window", stamp)
            lead["flags"]["isDuplicate"] = True
            _finish(tenant, lead, submission, "duplicate", "lead.processed")
            return _effect(payload, "duplicate")

    action = (config.get("firstSubmissionAction") or {}).get("type", "deliver_immediately")
    if mode.first_action and action != "deliver_immediately":
        if action == "human_review":
            lead["approval"] = {"status": "pending", "campaignId": code, "decidedBy": None,
                                "decidedAt": None, "reason": None}
        set_status(tenant, submission, "pending_action")
        emit(tenant, "lead.first_submission_action", lead, submission)
        return _effect(payload, "pending_action")

    files = state.files.get(lead["leadId"]) or {}
    missing = ["(forced scenario)"] if forced == "missing_data" else \
        missing_fields(lead, config.get("requiredFields") or [], files, now)
    if missing:
        submission["qualification"] = qualification_block(
            False, "missing required field(s): " + ", ".join(missing), stamp)
        _finish(tenant, lead, submission, "missing_data", "lead.processed")
        return _effect(payload, "missing_data")

    rule = {"name": "forced scenario"} if forced == "disqualified" else \
        matching_disqualify_rule(lead, config.get("disqualifyRules") or [], files, now)
    if rule:
        submission["qualification"] = qualification_block(
            False, f"disqualified by rule '{rule.get('name', rule.get('field'))}'", stamp)
        _finish(tenant, lead, submission, "disqualified", "lead.processed", "lead.disqualified")
        return _effect(payload, "disqualified")

    submission["qualification"] = qualification_block(True, "all qualification rules passed", stamp)
    set_status(tenant, submission, "qualified")
    emit(tenant, "lead.processed", lead, submission)
    schedule_step(tenant, DELIVER_JOB, payload)
    return _effect(payload, "qualified")


@handles(DELIVER_JOB)
def deliver(tenant, payload: dict) -> list[dict]:
    lead, submission, skipped = _run(tenant, payload, ("qualified", "processing"))
    if skipped:
        return skipped
    stamp = iso(tenant.now())
    mode = MODES[payload["mode"]]
    forced = _forced(lead, mode)
    config = tenant.state.campaign_config.get(submission["campaign"]["campaignId"]) or {}
    info = payload.get("deliveryInfo") or config.get("delivery") or {}
    # The buyer's own id for the lead: drawn from the tenant RNG, so a replay gives the same one.
    client_lead_id = f"CL-{tenant.rng.randrange(10**8):08d}"
    outcome = delivery_outcome(forced if forced in DELIVERY_OUTCOMES else None, url=info.get("url"),
                               method=info.get("method", "POST"), client_lead_id=client_lead_id, now=stamp)
    status = outcome["status"]
    submission.update(posting=outcome["posting"], delivery=outcome["delivery"],
                      responseFields=outcome["responseFields"], clientLeadId=outcome["delivery"]["clientLeadId"])
    if status == "delivered" and is_latest(tenant, submission):
        lead.update(deliveredAt=stamp, clientLeadId=client_lead_id)
    _finish(tenant, lead, submission, status, "lead.delivered" if status == "delivered" else "lead.failed")
    return _effect(payload, status)
