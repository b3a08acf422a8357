"""Sending a document for e-signature (``POST /document-templates/send``, docs §3.15, G32).

Sending records the request as a DocuSeal File on the lead (status ``pending``), moves a lead that
is still being worked to ``document_sent``, and schedules the first ``document.advance`` job; the
simulation then walks the file through viewed → in_progress → signed on the tenant clock.
The one thing a reader might get wrong: every send is a *new* DocuSeal submission — a new
``providerDocumentId`` and signing link — even when the File (same ``fileId``) already exists;
jobs of an earlier send are cancelled, and ``document.advance`` ignores any job whose
``providerDocumentId`` is no longer the file's, so a re-send restarts the signing from ``pending``.
"""

from __future__ import annotations

from datetime import timedelta

from ..domain.files import (SIGNING_PROVIDER, document_url, lead_status_after_send, next_signing_status,
                            pick_template, signing_delay, signing_url)
from ..errors import NotFound, ValidationFailed, found
from ..store import Tenant
from .files import move_lead_status, save_file

ADVANCE_JOB = "document.advance"


def _template_for(tenant: Tenant, template_id: str | None, campaign_id: str, file_key: str) -> dict:
    templates = tenant.state.document_templates
    if template_id is not None:
        return found(templates.get(template_id))
    template = pick_template(templates.values(), campaign_id, file_key)
    if template is None:
        raise ValidationFailed([f"documentTemplateId: no document template matches campaign {campaign_id}"])
    return template


def schedule_next_step(tenant: Tenant, record: dict) -> None:
    """Queue the job that moves a signing file to its next status (none after ``signed``)."""
    upcoming = next_signing_status(record["status"])
    if upcoming is not None:
        due = tenant.now() + timedelta(seconds=signing_delay(upcoming, tenant.rng))
        tenant.schedule(due, ADVANCE_JOB, {"leadId": record["leadId"], "fileKey": record["fileKey"],
                                           "providerDocumentId": record["providerDocumentId"]})


def _cancel_signing(tenant: Tenant, lead_id: str, file_key: str) -> None:
    tenant.timeline.cancel(lambda job: job.kind == ADVANCE_JOB and job.payload.get("leadId") == lead_id
                           and job.payload.get("fileKey") == file_key)


def send_document(tenant: Tenant, body: dict) -> dict:
    lead = found(tenant.state.leads.get(body["leadId"]))
    campaign_id = body.get("campaignId") or lead["campaign"]["campaignId"]
    if body.get("campaignId") is not None and campaign_id not in tenant.state.campaigns:
        raise NotFound()
    file_key = body["fileKey"]
    template = _template_for(tenant, body.get("documentTemplateId"), campaign_id, file_key)
    send_sms = bool(body.get("sendSms", False))
    if send_sms and not lead.get("phone"):
        raise ValidationFailed(["sendSms: lead has no phone number to text the signing link to"])
    sent_email = bool(body.get("sendEmail", True)) and bool(lead.get("email"))

    metadata = {"documentTemplateId": template["templateId"], "testMode": bool(body.get("testMode", False)),
                "sentEmail": sent_email, "sentSms": send_sms}
    if body.get("completedRedirectUrl") is not None:
        metadata["completedRedirectUrl"] = body["completedRedirectUrl"]
    provider_document_id = tenant.ids.new("doc")
    _cancel_signing(tenant, lead["leadId"], file_key)
    record = save_file(tenant, lead["leadId"], file_key, {
        "fileName": f"{file_key}.pdf", "fileType": "pdf",
        "documentUrl": None, "status": "pending",
        "provider": SIGNING_PROVIDER, "signingUrl": signing_url(provider_document_id),
        "providerDocumentId": provider_document_id, "metadata": metadata,
    })
    move_lead_status(tenant, lead, lead_status_after_send(lead["status"]))
    schedule_next_step(tenant, record)
    return {"fileId": record["fileId"], "leadId": lead["leadId"], "fileKey": file_key, "status": record["status"],
            "signingUrl": record["signingUrl"], "documentTemplateId": template["templateId"],
            "sentEmail": sent_email, "sentSms": send_sms}


def advance_signing(tenant: Tenant, payload: dict) -> list[dict]:
    """One DocuSeal webhook's worth of progress for the file named by a ``document.advance`` job."""
    lead_id, file_key = payload["leadId"], payload["fileKey"]
    record = tenant.state.files.get(lead_id, {}).get(file_key)
    # A re-send or a POST /files may have replaced this signing request since the job was queued.
    if record is None or record.get("providerDocumentId") != payload.get("providerDocumentId"):
        return []
    upcoming = next_signing_status(record["status"])
    if upcoming is None:
        return []
    lead = tenant.state.leads.get(lead_id)
    lead_before = lead["status"] if lead else None
    changes = {"status": upcoming}
    if upcoming == "signed":
        changes["documentUrl"] = document_url(lead_id, file_key)   # the completed PDF now exists
    record = save_file(tenant, lead_id, file_key, changes)
    effects = [{"fileId": record["fileId"], "leadId": lead_id, "fileKey": file_key, "status": upcoming}]
    if lead is not None and lead["status"] != lead_before:
        effects.append({"leadId": lead_id, "status": lead["status"]})
    schedule_next_step(tenant, record)
    return effects
