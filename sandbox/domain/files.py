"""Files on a lead and the e-signature lifecycle (docs §3.15–3.18, §4.6, §5.19; G32–G35).

A File is stored under ``state.files[leadId][fileKey]`` in its public field order; the four
optional fields appear only once they have a value (G34). Signing is a transition table
(``SIGNING_FLOW``) plus a separate "when" policy (``SIGNING_DELAYS``, drawn from the tenant RNG by
the caller). The one thing a reader might get wrong: an upsert *merges* — a field left out of an
update keeps its value (``fileId`` and ``createdAt`` always do) — and ``signedAt`` is derived:
it is filled in when the status reaches ``signed`` (or ``verified``) and cleared when the status
goes anywhere else, unless the caller sets it explicitly. A signing request has no
``documentUrl`` (null) until it is signed; then it points at the signed PDF.
"""

from __future__ import annotations

DEFAULT_STATUS = "pending"
DEFAULT_PROVIDER = "manual_upload"  # POST /files attaches a file that is already hosted somewhere
SIGNING_PROVIDER = "docuseal"
OPTIONAL_FIELDS = ("signingUrl", "providerDocumentId", "createdBySubmissionId", "metadata")
_SIGNED_STATUSES = ("signed", "verified")  # statuses that imply a signature took place

# DocuSeal's webhooks move a sent document along this path (§5.19); verified, expired, declined
# and failed are never simulated, only set through POST /files or the control plane (G33).
SIGNING_FLOW = {"pending": "viewed", "viewed": "in_progress", "in_progress": "signed"}

# Seconds before the document reaches each status: a signer opens the e-mail within minutes,
# starts filling in shortly after opening, and takes a few minutes to finish.
SIGNING_DELAYS = {"viewed": (120, 900), "in_progress": (15, 120), "signed": (60, 420)}

# Lead statuses from which sending a document moves the lead to ``document_sent``: the lead is
# still being worked (new, agent phase, qualified, waiting for a document). Pipeline statuses
# (pending, processing) and outcomes (delivered, disqualified, dnc, signed ...) are left alone so a
# document never reopens a closed lead or races the engine.
LEAD_STATUSES_BEFORE_SENDING = ("new", "qualified", "pending_action", "pending_signature", "contacted",
                                "scheduled_callback", "no_answer", "voicemail", "document_sent")
# Lead statuses that a completed signature turns into ``signed`` (G58).
LEAD_STATUSES_AWAITING_SIGNATURE = ("document_sent", "pending_signature")

SIGNING_URL_BASE = "https://sign.sandbox.leadsail.app/s/"
DOCUMENT_URL_BASE = "https://files.sandbox.leadsail.app/"


def signing_url(file_id: str) -> str:
    return f"{SIGNING_URL_BASE}{file_id}"


def document_url(lead_id: str, file_key: str) -> str:
    return f"{DOCUMENT_URL_BASE}{lead_id}/{file_key}.pdf"


def upserted_file(existing: dict | None, *, file_id: str, lead_id: str, file_key: str, now: str,
                  changes: dict) -> dict:
    """The File after applying ``changes`` (public field names) to ``existing`` (None = create).

    A key present in ``changes`` is set, even to None (a signing request clears ``documentUrl``);
    a key left out keeps its current value. ``file_id`` is used only when creating.
    """
    current = existing or {}
    merged = {**current, **changes}
    status = merged.get("status") or DEFAULT_STATUS
    if "signedAt" in changes:
        signed_at = changes["signedAt"]
    elif status in _SIGNED_STATUSES:
        signed_at = current.get("signedAt") or now
    else:
        signed_at = None
    record = {
        "fileId": current.get("fileId", file_id),
        "leadId": lead_id,
        "fileKey": file_key,
        "fileName": merged.get("fileName"),
        "fileType": merged.get("fileType"),
        "documentUrl": merged.get("documentUrl"),
        "status": status,
        "provider": merged.get("provider") or DEFAULT_PROVIDER,
        "createdAt": current.get("createdAt", now),
        "updatedAt": now,
        "signedAt": signed_at,
    }
    for key in OPTIONAL_FIELDS:
        if merged.get(key) is not None:
            record[key] = merged[key]
    return record


def next_signing_status(status: str) -> str | None:
    return SIGNING_FLOW.get(status)


def signing_delay(next_status: str, rng) -> int:
    """Seconds until the document reaches ``next_status``; ``rng`` is the tenant's."""
    low, high = SIGNING_DELAYS[next_status]
    return rng.randint(low, high)


def lead_status_after_send(status: str) -> str | None:
    return "document_sent" if status in LEAD_STATUSES_BEFORE_SENDING else None


def lead_status_after_signing(status: str) -> str | None:
    return "signed" if status in LEAD_STATUSES_AWAITING_SIGNATURE else None


def pick_template(templates, campaign_id: str, file_key: str) -> dict | None:
    """The campaign's template for a document: the one tracked under ``file_key`` if any, else the
    campaign's first; None when the campaign has none. (Campaign document conditions are not
    evaluated: the sandbox has no way to tell which condition a caller expects to match.)
    """
    candidates = [t for t in templates if campaign_id in t.get("campaignIds", [])]
    for template in candidates:
        if template.get("fileKey") == file_key:
            return template
    return candidates[0] if candidates else None
