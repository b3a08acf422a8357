"""Submissions: one run of a lead through the engine (submit, manual delivery or repost).

The engine is data here: ``MODES`` says which steps a run takes, ``DELAYS`` when each step comes
due, and the ``*_block`` functions build the documented result blocks (§4.3). The one thing a reader
might get wrong: a submission's ``status`` uses the same 23-value set as leads, and while the engine
runs the lead mirrors its *latest* submission (G31) — an older run that finishes late updates its
own record only; agent outcomes (calls) later change the lead only.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

SUBMISSION_TYPES = ("standard", "manual_delivery", "repost")

# PATCH /submissions/{id} body fields that are stored (G30); anything else is ignored (G6).
PATCH_FIELDS = ("status", "type", "qualification", "routing", "posting", "delivery", "result",
                "clientLeadId", "responseFields")
_MERGED_BLOCKS = ("qualification", "routing", "posting", "delivery", "responseFields")


@dataclass(frozen=True)
class Mode:
    """Which engine steps a run takes. Scenario email tags force the outcome of submit and manual
    delivery runs, never of a repost: a repost of a forced failure goes through, which is the retry
    a sandbox user wants to see working."""

    duplicates: bool        # intake duplicate check (G21); never for test leads
    first_action: bool      # campaign's first submission action (may stop at pending_action)
    qualify: bool           # required fields and disqualification rules
    forced: bool            # scenario email tags apply


MODES = {
    "submit": Mode(duplicates=True, first_action=True, qualify=True, forced=True),
    "manual_delivery": Mode(duplicates=False, first_action=False, qualify=True, forced=True),
    "repost": Mode(duplicates=False, first_action=False, qualify=False, forced=False),
    "repost_requalify": Mode(duplicates=False, first_action=False, qualify=True, forced=False),
}

DEFAULT_DUPLICATE_WINDOW_DAYS = 30  # G21, when a campaign does not say

# Seconds from one step to the next: accepted → processing → evaluated → delivered.
DELAYS = {"process": 1, "evaluate": 1, "deliver": 3}

# Scenario outcomes the client decides at delivery (the others are decided while evaluating).
DELIVERY_OUTCOMES = ("failed", "rejected")


def new_submission(submission_id: str, lead: dict, number: int, now: str, *, status: str = "pending",
                   submission_type: str = "standard", campaign_summary: dict | None = None) -> dict:
    """A submission in its public shape; engine blocks stay null until the engine fills them."""
    return {
        "submissionId": submission_id,
        "leadId": lead["leadId"],
        "submissionNumber": number,
        "campaign": dict(campaign_summary or lead["campaign"]),
        "status": status,
        "qualification": None,
        "routing": None,
        "posting": None,
        "delivery": None,
        "result": None,
        "clientLeadId": None,
        "responseFields": {},
        "type": submission_type,
        "createdAt": now,
        "updatedAt": now,
    }


def routing_block(campaign_id: str, now: str) -> dict:
    """No routing rules are simulated: every run stays on its own campaign."""
    return {"wasRouted": False, "originalCampaignId": campaign_id, "routedToCampaignId": campaign_id,
            "routingReason": "no routing rule applies; the lead stays on its campaign",
            "routingMethod": "original", "routingRuleName": None, "alternativeCampaigns": [],
            "routingEvaluatedAt": now}


def qualification_block(passed: bool, reason: str, now: str) -> dict:
    return {"passed": passed, "originalCampaignQualified": passed, "score": 100 if passed else 0,
            "method": "rules", "reason": reason, "qualifiedAt": now}


def delivery_outcome(forced: str | None, *, url: str, method: str, client_lead_id: str, now: str) -> dict:
    """What the client endpoint answers: the final status and the posting/delivery blocks."""
    if forced == "failed":
        success, posted, code, message, client_id = False, False, 500, "Internal Server Error", None
        status = "failed"
    elif forced == "rejected":
        # The post itself went through; the client refused the lead in its answer.
        success, posted, code, message, client_id = False, True, 200, "Lead rejected by client", None
        status = "rejected"
    else:
        success, posted, code, message, client_id = True, True, 200, "Lead accepted", client_lead_id
        status = "delivered"
    return {
        "status": status,
        "posting": {"success": posted, "clientLeadId": client_id, "statusCode": code, "postedAt": now},
        "delivery": {"success": success, "clientLeadId": client_id, "statusCode": code,
                     "responseMessage": message, "url": url, "method": method, "bodyFormat": "json",
                     "deliveredAt": now},
        "responseFields": {"status": "accepted" if success else "error", "message": message},
    }


def apply_patch(submission: dict, patch: dict, now: str) -> dict:
    """G30 PATCH in place: result blocks merge one level deep (a partial ``delivery`` keeps the rest),
    scalars are replaced, unknown keys ignored."""
    for key in PATCH_FIELDS:
        if key not in patch:
            continue
        value = patch[key]
        if key in _MERGED_BLOCKS and isinstance(value, dict) and isinstance(submission.get(key), dict):
            value = {**submission[key], **value}
        submission[key] = copy.deepcopy(value)
    submission["updatedAt"] = now
    return submission
