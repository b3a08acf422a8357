"""Handlers for the leads area (§3.1–3.10, G10): parse the request, call one use case, wrap it.

Request shape and types are already checked against ``openapi.yaml`` when a handler runs; the rules
a schema cannot state (known campaign, phone digits, approval and repost preconditions) live in
``services.leads``. The one thing a reader might get wrong: ``PATCH /leads/{leadId}`` answers
``data: null`` by contract (§3.4) — read the lead again to see the result.
"""

from __future__ import annotations

from ..services import dialer, leads, submissions
from .render import ok, tenant


async def list_leads(cursor=None, limit=None, campaign_ids=None, client_ids=None, offer_ids=None, status=None,
                     search=None, start_date=None, end_date=None):
    return ok(leads.list_leads(tenant(), cursor=cursor, limit=limit, campaign_ids=campaign_ids,
                               client_ids=client_ids, offer_ids=offer_ids, status=status, search=search,
                               start_date=start_date, end_date=end_date))


async def create_lead(body):
    return ok(leads.create_lead(tenant(), body))


async def get_lead(lead_id):
    return ok(leads.get_lead(tenant(), lead_id))


async def update_lead(lead_id, body):
    leads.update_lead(tenant(), lead_id, body)
    return ok(None)


async def bulk_update_leads(body):
    return ok(leads.bulk_update_leads(tenant(), body["leadIds"], body["updates"]))


async def submit_lead(body):
    return ok(leads.submit_lead(tenant(), body))


async def send_leads_to_auto_dialer(body):
    return ok(dialer.send_to_auto_dialer(tenant(), body["leadIds"]))


async def deliver_lead(lead_id, body):
    return ok(leads.deliver_lead(tenant(), lead_id, body))


async def approve_lead(lead_id, body):
    return ok(leads.approve_lead(tenant(), lead_id, body))


async def repost_lead(lead_id, body=None):
    return ok(leads.repost_lead(tenant(), lead_id, body or {}))


async def list_lead_submissions(lead_id):
    return ok(submissions.list_lead_submissions(tenant(), lead_id))
