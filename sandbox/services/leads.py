"""Lead use cases: list, create, read, patch, bulk patch, submit, deliver, approve, repost.

Each function is one request's worth of work on one tenant's state and runs without awaiting, so
it is atomic on the event loop. The one thing a reader might get wrong: only ``submit``,
``deliver`` and ``repost`` start the engine (a ``pending`` submission plus due work on the clock);
``create`` records a ``new`` submission for the import and nothing runs (G18), and PATCH never
has side effects beyond ``updatedAt`` (G19).
"""

from __future__ import annotations

import weakref

from ..clock import iso
from ..domain.leads import (
    CONTACT_FIELDS, REPOSTABLE_STATUSES, apply_patch, new_lead, normalise_contact,
    merge_questionnaire, new_note, note_item, parse_list_filter, patch_rule_problems, phone_problems, questionnaire_items,
    resolve_timezone, settable_flags, stored_phone, timezone_problems, walk_page,
)
from ..domain.pagination import read_paging
from ..errors import NotFound, ValidationFailed, found, refuse_if
from ..store import Tenant, TenantState
from . import submissions as runs
from .files import save_file

# --- position index for the cursor walk ---------------------------------------------------------
# ``lead_order`` only grows (leads are never deleted), so the index catches up incrementally and a
# page costs O(page), not O(tenant). It lives beside the state, keyed by identity, because it is
# derived data: an import or reset brings a new TenantState and therefore a fresh index.
_POSITIONS: dict[int, tuple[weakref.ref, dict]] = {}


def position_of(state: TenantState, lead_id: str) -> int | None:
    """The lead's index in ``state.lead_order`` (creation order), or None for an unknown id."""
    key = id(state)
    entry = _POSITIONS.get(key)
    if entry is None or entry[0]() is not state:
        entry = _POSITIONS[key] = (weakref.ref(state, lambda _ref: _POSITIONS.pop(key, None)), {})
    index, order = entry[1], state.lead_order
    for position in range(len(index), len(order)):
        index[order[position]] = position
    position = index.get(lead_id)
    if position is not None and (position >= len(order) or order[position] != lead_id):
        index.clear()  # the order was rewritten under us (never by the API): rebuild once
        return position_of(state, lead_id)
    return position


def earlier_leads(state: TenantState, lead_id: str):
    """The leads created before ``lead_id``, newest first (what a duplicate check compares with)."""
    position = position_of(state, lead_id)
    for index in range((position if position is not None else len(state.lead_order)) - 1, -1, -1):
        lead = state.leads.get(state.lead_order[index])
        if lead is not None:
            yield lead


def _lead(tenant: Tenant, lead_id: str) -> dict:
    return found(tenant.state.leads.get(lead_id))


def _labels(tenant: Tenant) -> dict:
    return {key: entry.get("label", key) for key, entry in tenant.state.field_library.items()}


def _campaign_problem(tenant: Tenant, code, field: str = "campaignId") -> list[str]:
    return [] if code in tenant.state.campaigns else [f"{field}: unknown campaign '{code}'"]


def _campaign_timezone(tenant: Tenant, code: str):
    return (tenant.state.campaign_config.get(code) or {}).get("timezone") or tenant.state.settings.get("timezone")


def _note_id_factory(tenant: Tenant):
    return lambda: tenant.ids.new("note")


# --- reads -----------------------------------------------------------------------------------------

def create_placeholder_lead(tenant: Tenant, campaign_code: str, phone: str, note: str, created_by: str) -> dict:
    """A lead for an unknown caller or texter (docs §5.6, §5.10): only the number is known, so the
    names are empty and the email null — what an agent then asks for — and a note says why it exists."""
    state = tenant.state
    stamp = iso(tenant.now())
    zone, source = resolve_timezone(None, phone, _campaign_timezone(tenant, campaign_code))
    lead = new_lead(tenant.ids.new("lead"), stamp, state.campaigns[campaign_code], first_name="", last_name="",
                    email=None, phone=phone, status="new", timezone=zone, timezone_source=source,
                    notes=[new_note(tenant.ids.new("note"), note, stamp, created_by)])
    return state.add_lead(lead)


def list_leads(tenant: Tenant, *, cursor=None, limit=None, campaign_ids=None, client_ids=None, offer_ids=None,
               status=None, search=None, start_date=None, end_date=None) -> dict:
    """G14: newest first (reverse creation order), filtered, one cursor page."""
    state = tenant.state
    problems: list[str] = []
    _, size = read_paging(None, limit, problems)
    keep = parse_list_filter(campaign_ids=campaign_ids, client_ids=client_ids, offer_ids=offer_ids,
                             status=status, search=search, start_date=start_date, end_date=end_date,
                             problems=problems)
    start = len(state.lead_order) - 1
    if cursor:
        position = position_of(state, cursor)
        if position is None:
            problems.append(f"cursor: unknown cursor '{cursor}' (use the nextCursor of the previous page)")
        else:
            start = position - 1
    refuse_if(problems)
    page, more = walk_page(state.lead_order, start, state.leads, keep.matches, size)
    return {"leads": page, "nextCursor": page[-1]["leadId"] if more else None, "hasMore": more}


def get_lead(tenant: Tenant, lead_id: str) -> dict:
    return _lead(tenant, lead_id)


# --- create (import: the engine does not run, G18) -------------------------------------------------

def create_lead(tenant: Tenant, body: dict) -> dict:
    state = tenant.state
    code = body["campaignId"]
    refuse_if(_campaign_problem(tenant, code) + phone_problems(body.get("phone"))
           + timezone_problems(body.get("timezone")))
    stamp = iso(tenant.now())
    phone = stored_phone(body["phone"])
    zone, source = resolve_timezone(body.get("timezone"), phone, _campaign_timezone(tenant, code))
    if body.get("timezone") and body.get("timezoneSource"):
        source = body["timezoneSource"]  # an importer may know better where its time zone came from
    lead = new_lead(
        tenant.ids.new("lead"), stamp, state.campaigns[code], first_name=body["firstName"],
        last_name=body["lastName"], email=body["email"], phone=phone, status="new",
        country=body.get("country"), address=body.get("address"), timezone=zone, timezone_source=source,
        notes=[note_item(note, tenant.ids.new("note"), stamp) for note in body.get("notes") or []],
        questionnaire=merge_questionnaire([], questionnaire_items(body.get("questionnaire")), _labels(tenant)),
        attribution=body.get("attribution"), compliance=body.get("compliance"),
        flags={**settable_flags(body.get("flags")), "isImported": True},
    )
    state.add_lead(lead)
    submission = runs.record_submission(tenant, lead, state.campaigns[code], "standard", "new")
    return {"leadId": lead["leadId"], "submissionId": submission["submissionId"]}


# --- PATCH, bulk PATCH (G19, G20) ------------------------------------------------------------------

def _checked_patch(tenant: Tenant, patch: dict, prefix: str = "") -> dict | None:
    """Raise on a PATCH-shaped dict that breaks a rule; return the campaign it moves the lead to."""
    at = f"{prefix}." if prefix else ""
    problems = patch_rule_problems(patch, prefix)
    code = (patch.get("campaign") or {}).get("campaignId") if isinstance(patch.get("campaign"), dict) else None
    if code is not None:
        problems += _campaign_problem(tenant, code, f"{at}campaign.campaignId")
    refuse_if(problems)
    return tenant.state.campaigns[code] if code is not None else None


def _patch(tenant: Tenant, lead: dict, patch: dict, campaign: dict | None) -> None:
    apply_patch(lead, patch, now=iso(tenant.now()), new_note_id=_note_id_factory(tenant),
                labels=_labels(tenant), campaign=campaign)


def update_lead(tenant: Tenant, lead_id: str, body: dict) -> None:
    lead = _lead(tenant, lead_id)
    campaign = _checked_patch(tenant, body)
    _patch(tenant, lead, body, campaign)


def bulk_update_leads(tenant: Tenant, lead_ids: list[str], updates: dict) -> dict:
    """G20: the same PATCH on each known lead; unknown ids are skipped and not counted."""
    campaign = _checked_patch(tenant, updates, "updates")
    modified = 0
    for lead_id in dict.fromkeys(lead_ids):  # a repeated id is one lead, modified once
        lead = tenant.state.leads.get(lead_id)
        if lead is not None:
            _patch(tenant, lead, updates, campaign)
            modified += 1
    return {"modifiedCount": modified}


# --- submit (§3.6, §5.15, G21–G23) -----------------------------------------------------------------

_SUBMIT_EXTRAS = ("address", "dateOfBirth", "country", "questionnaire", "attribution", "compliance",
                  "customFields", "timezone")


def submit_lead(tenant: Tenant, body: dict) -> dict:
    state = tenant.state
    code = body["campaignId"]
    problems = _campaign_problem(tenant, code)
    lead = None
    if body.get("leadId") is not None:
        lead = state.leads.get(body["leadId"])
        if lead is None:
            problems.append(f"leadId: unknown lead '{body['leadId']}'")
    else:
        problems += [f"{key}: is required (or give the leadId of an existing lead)"
                     for key in ("firstName", "lastName", "email", "phone") if body.get(key) is None]
    contact = normalise_contact(body)
    problems += [f"{key}: must not be blank" for key in ("firstName", "lastName", "email")
                 if key in contact and not contact[key]]
    problems += phone_problems(contact.get("phone")) + timezone_problems(body.get("timezone"))
    refuse_if(problems)

    campaign = state.campaigns[code]
    # Everything the body says about the lead, as a PATCH: one path updates an existing lead and
    # fills a new one, so a resubmitted lead gains exactly what a new one would have.
    patch = {**{k: body[k] for k in _SUBMIT_EXTRAS if body.get(k) is not None}, **contact}
    if isinstance(body.get("notes"), str) and body["notes"].strip():
        patch["notes"] = [body["notes"]]  # G22: the submitted string becomes one note item
    if "isTest" in body:
        patch["flags"] = {"isTest": bool(body["isTest"])}
    if lead is None:
        stamp = iso(tenant.now())
        phone = stored_phone(contact["phone"])
        zone, source = resolve_timezone(body.get("timezone"), phone, _campaign_timezone(tenant, code))
        lead = state.add_lead(new_lead(
            tenant.ids.new("lead"), stamp, campaign, first_name=contact["firstName"],
            last_name=contact["lastName"], email=contact["email"], phone=phone, status="pending",
            timezone=zone, timezone_source=source))
        patch.pop("timezone", None)  # already resolved with its source
    _patch(tenant, lead, patch, None)
    submission = runs.start_run(tenant, lead, campaign, "standard", "submit")
    for item in body.get("files") or []:
        save_file(tenant, lead["leadId"], item["fileKey"], {
            "fileName": item.get("fileName"), "fileType": item.get("fileType"),
            "documentUrl": item.get("documentUrl"), "provider": "manual_upload", "status": "uploaded",
            "createdBySubmissionId": submission["submissionId"]})
    return {"leadId": lead["leadId"], "submissionId": submission["submissionId"], "status": "pending"}


# --- deliver, approve, repost (§5.16, §5.17, G24–G26) ------------------------------------------------

def deliver_lead(tenant: Tenant, lead_id: str, body: dict) -> dict:
    lead = _lead(tenant, lead_id)
    code = body.get("campaignId")
    refuse_if([] if code else ["campaignId: is required"])
    campaign = tenant.state.campaigns.get(code)
    if campaign is None:
        raise NotFound()  # G24: the chosen campaign is a resource the caller names
    approval = lead.get("approval") or {}
    if approval.get("status") in ("pending", "rejected"):
        raise ValidationFailed([f"approval.status: lead approval is {approval['status']}"])
    submission = runs.start_run(tenant, lead, campaign, "manual_delivery", "manual_delivery")
    return {"newSubmissionId": submission["submissionId"], "leadId": lead_id}


def approve_lead(tenant: Tenant, lead_id: str, body: dict) -> dict:
    """G25: approve/reject only a pending approval; ``pending`` clears any decision."""
    lead = _lead(tenant, lead_id)
    decision = body["status"]
    current = lead.get("approval")
    if decision != "pending" and (current or {}).get("status") != "pending":
        state = f"is {current['status']}" if current else "was never requested"
        raise ValidationFailed([f"approval.status: only a pending approval can be decided (this one {state})"])
    stamp = iso(tenant.now())
    decided = decision != "pending"
    lead["approval"] = {
        "status": decision,
        "campaignId": (current or {}).get("campaignId") or lead["campaign"]["campaignId"],
        "decidedBy": "api" if decided else None,
        "decidedAt": stamp if decided else None,
        "reason": body.get("reason"),
    }
    lead.update(updatedAt=stamp, lastActivityAt=stamp)
    if decision == "rejected":
        # The run that waited for this decision ends here; the lead follows it (§5.16: rejected).
        latest = runs.latest_submission(tenant, lead_id)
        if latest is not None and latest["status"] == "pending_action":
            runs.set_status(tenant, latest, "rejected")
        lead["status"] = "rejected"
    return {"leadId": lead_id, "approval": lead["approval"]}


def _previous_delivery_info(tenant: Tenant, lead_id: str) -> dict | None:
    for submission_id in reversed(tenant.state.lead_submissions.get(lead_id) or []):
        delivery = (tenant.state.submissions.get(submission_id) or {}).get("delivery")
        if delivery and delivery.get("url"):
            return {"url": delivery["url"], "method": delivery.get("method") or "POST"}
    return None


def repost_lead(tenant: Tenant, lead_id: str, body: dict) -> dict:
    """G26: a new ``repost`` submission; with ``modifiedPayload`` the lead is changed and qualified
    again against ``campaignId``, else it goes straight to delivery with the previous delivery info."""
    lead = _lead(tenant, lead_id)
    if lead["status"] not in REPOSTABLE_STATUSES:
        raise ValidationFailed([f"status: only a failed, rejected or error lead can be reposted "
                                f"(this lead is '{lead['status']}')"])
    modified = body.get("modifiedPayload")
    code = body.get("campaignId")
    refuse_if(["campaignId: is required when modifiedPayload is given"] if modified is not None and not code else [])
    if code is None:
        previous = runs.latest_submission(tenant, lead_id)
        code = (previous or {}).get("campaign", {}).get("campaignId") or lead["campaign"]["campaignId"]
    campaign = found(tenant.state.campaigns.get(code))
    if modified is not None:
        patch = {key: modified[key] for key in CONTACT_FIELDS if key in modified}
        _checked_patch(tenant, patch, "modifiedPayload")
        _patch(tenant, lead, patch, None)
    info = body.get("deliveryInfo") or _previous_delivery_info(tenant, lead_id)
    mode = "repost_requalify" if modified is not None else "repost"
    submission = runs.start_run(tenant, lead, campaign, "repost", mode, delivery_info=info)
    lead["repostedTo"].append({"campaignId": code, "submissionId": submission["submissionId"],
                               "repostedAt": submission["createdAt"]})
    return {"newSubmissionId": submission["submissionId"], "leadId": lead_id,
            "requiresQualification": modified is not None}
