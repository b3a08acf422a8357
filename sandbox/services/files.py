"""File use cases: upsert a file on a lead, list a lead's files, read one (docs §3.16–3.18).

``save_file`` is the single writer of ``state.files``; the documents service goes through it too,
so a file sent for signing and a file posted by hand follow the same merge rules — including the
lead rule: a file *reaching* ``signed`` (simulated or posted) turns a lead waiting for a signature
(``document_sent``/``pending_signature``) into ``signed``. The one thing a reader might get wrong: an unknown lead is a *400* on ``POST /files`` ("leadId: unknown lead"; the
endpoint documents no 404) and an *empty list* on ``GET /files/{leadId}`` (G35) — only the
single-file read answers 404.
"""

from __future__ import annotations


from ..clock import iso, parse_instant
from ..domain.files import lead_status_after_signing, upserted_file
from ..errors import ValidationFailed, found
from ..store import Tenant

# Body fields of POST /files that are stored; anything else in the body is ignored (G6).
_UPSERT_FIELDS = ("fileName", "fileType", "documentUrl", "signingUrl", "provider", "providerDocumentId",
                  "status", "createdBySubmissionId", "metadata")


def save_file(tenant: Tenant, lead_id: str, file_key: str, changes: dict) -> dict:
    """Create or merge-update the File (leadId, fileKey); returns the stored record."""
    files = tenant.state.files.setdefault(lead_id, {})
    existing = files.get(file_key)
    before = existing["status"] if existing else None
    record = upserted_file(existing, file_id=existing["fileId"] if existing else tenant.ids.new("file"),
                           lead_id=lead_id, file_key=file_key, now=iso(tenant.now()), changes=changes)
    files[file_key] = record
    if record["status"] == "signed" and before != "signed":
        _lead_signed(tenant, lead_id)
    return record


def _lead_signed(tenant: Tenant, lead_id: str) -> None:
    lead = tenant.state.leads.get(lead_id)
    if lead is not None:
        move_lead_status(tenant, lead, lead_status_after_signing(lead["status"]))


def move_lead_status(tenant: Tenant, lead: dict, status: str | None) -> None:
    """Set the lead's status when a document rule asks for a change (None = no change)."""
    if status is not None and lead["status"] != status:
        lead["status"] = status
        lead["updatedAt"] = iso(tenant.now())


def _instant(name: str, value) -> str:
    try:
        return iso(parse_instant(str(value)))
    except ValueError:
        raise ValidationFailed([f"{name}: must be an ISO 8601 date-time"]) from None


def upsert_file(tenant: Tenant, body: dict) -> dict:
    lead_id, file_key = body["leadId"], body["fileKey"]
    if lead_id not in tenant.state.leads:
        raise ValidationFailed(["leadId: unknown lead"])
    changes = {name: body[name] for name in _UPSERT_FIELDS if name in body}
    if "signedAt" in body:
        changes["signedAt"] = _instant("signedAt", body["signedAt"])
    return save_file(tenant, lead_id, file_key, changes)


def list_lead_files(tenant: Tenant, lead_id: str) -> dict:
    files = list(tenant.state.files.get(lead_id, {}).values())
    return {"leadId": lead_id, "files": files, "count": len(files)}


def get_lead_file(tenant: Tenant, lead_id: str, file_key: str) -> dict:
    return found(tenant.state.files.get(lead_id, {}).get(file_key))
