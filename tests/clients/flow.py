"""A short integration flow through the Python client that openapi-python-client generates from
openapi.yaml, against a running sandbox. Run by ``.ci/clients``; not a pytest module.

    python tests/clients/flow.py BASE_URL API_KEY

Every call goes through the generated functions and models, so a spec that no longer matches the
wire (a renamed field, a response the models cannot parse, an undeclared status) fails here: the
client is built with ``raise_on_unexpected_status``, and each step checks the parsed values. The
one thing a reader might get wrong: the sandbox must run with ``--clock manual --start-time
2026-01-15T15:00:00Z`` — the call is placed at 10:00 in New York (inside the dialer's hours) and
finishes only when the flow advances the clock, through the control plane, which is not part of
the public spec and so is called with plain httpx.
"""

from __future__ import annotations

import sys

import httpx
from leadsail_client import AuthenticatedClient
from leadsail_client.api.interactions import get_interaction, list_lead_interactions
from leadsail_client.api.leads import get_lead, submit_lead, update_lead
from leadsail_client.api.sms import send_sms
from leadsail_client.api.voice import initiate_call
from leadsail_client.models import (
    Address, CallDetailsSource, CallInitiateRequest, CallStartedEnvelope, ErrorEnvelope, InteractionEnvelope,
    InteractionStatus, InteractionType, LeadEnvelope, LeadInteractionsEnvelope, LeadStatus, LeadSubmitRequest,
    LeadSubmittedEnvelope, LeadUpdatedEnvelope, LeadUpdateRequest, NoteInput, SmsSendRequest, SmsSentEnvelope,
    SmsSentStatus, TimezoneSource,
)
from leadsail_client.types import UNSET

PHONE = "+12125550101"  # scenario number: the call is answered and completes (GET /_sandbox/scenarios)
MESSAGE = "Hi Jane, thanks for talking with us. Reply here with any question."
STEPS: list[str] = []


class Mismatch(Exception):
    pass


def expect(what: str, actual, wanted) -> None:
    if actual != wanted:
        raise Mismatch(f"{what}: got {actual!r}, expected {wanted!r}")


def parsed(what: str, result, kind):
    """The parsed 200 body of a step, or a Mismatch naming what came instead."""
    if not isinstance(result, kind):
        raise Mismatch(f"{what}: expected {kind.__name__}, got {type(result).__name__}: {result!r}")
    expect(f"{what}: success", result.success, True)
    STEPS.append(what)
    return result.data


def run(base_url: str, api_key: str) -> None:
    client = AuthenticatedClient(base_url=base_url, token=api_key, prefix="", auth_header_name="X-API-Key",
                                 raise_on_unexpected_status=True, timeout=httpx.Timeout(30.0))

    # 1. submit a new lead; the engine starts on the (manual) clock
    body = LeadSubmitRequest(campaign_id="HXZ", first_name="  jane ", last_name="client",
                             email="Jane.Client@Example.COM", phone=PHONE, country="US",
                             address=Address(street="1 Main St", city="New York", state="NY", zip_="10001"),
                             notes="Prefers a call in the morning.")
    submitted = parsed("submitLead", submit_lead.sync(client=client, body=body), LeadSubmittedEnvelope)
    expect("submitLead: status", submitted.status, LeadStatus.PENDING)
    lead_id = submitted.lead_id
    expect("submitLead: leadId prefix", lead_id.startswith("lead_"), True)

    # 2. read it back: normalised contact data, nullable blocks typed
    lead = parsed("getLead", get_lead.sync(lead_id, client=client), LeadEnvelope)
    expect("getLead: leadId", lead.lead_id, lead_id)
    expect("getLead: name", (lead.first_name, lead.last_name), ("Jane", "Client"))
    expect("getLead: email", lead.email, "jane.client@example.com")
    expect("getLead: campaign", lead.campaign.campaign_id, "HXZ")
    expect("getLead: address", isinstance(lead.address, Address) and lead.address.city, "New York")
    expect("getLead: timezone", (lead.timezone, lead.timezone_source), ("America/New_York", TimezoneSource.AREA_CODE))
    expect("getLead: notes", [note.text for note in lead.notes], ["Prefers a call in the morning."])

    # 3. patch it: the reply's data is always null (NoData); the change shows on the next read
    patch = LeadUpdateRequest(detail="Reached by the client flow.", tags=["client-flow"],
                              notes=[NoteInput(text="Patched through the generated client.")])
    updated = parsed("updateLead", update_lead.sync(lead_id, client=client, body=patch), LeadUpdatedEnvelope)
    expect("updateLead: data", updated, None)
    lead = parsed("getLead after updateLead", get_lead.sync(lead_id, client=client), LeadEnvelope)
    expect("getLead: detail", lead.detail, "Reached by the client flow.")
    expect("getLead: tags", lead.tags, ["client-flow"])
    expect("getLead: notes", len(lead.notes), 2)

    # 4. a test call
    started = parsed("initiateCall", initiate_call.sync(client=client, body=CallInitiateRequest(
        lead_id=lead_id, is_test=True, additional_instructions="Confirm the best time to call.")),
        CallStartedEnvelope)
    expect("initiateCall: leadId", started.lead_id, lead_id)
    expect("initiateCall: campaignId", started.campaign_id, "HXZ")
    call_id = started.interaction_id

    # 5. advance the sandbox clock (control plane, not in the public spec) until the call is over
    advanced = httpx.post(f"{base_url}/_sandbox/clock/advance", json={"seconds": 900},
                          headers={"X-API-Key": api_key}, timeout=30)
    expect("POST /_sandbox/clock/advance: status", advanced.status_code, 200)
    STEPS.append("advanceClock")

    # 6. the finished call
    call = parsed("getInteraction", get_interaction.sync(call_id, client=client), InteractionEnvelope)
    expect("getInteraction: interactionId", call.interaction_id, call_id)
    expect("getInteraction: type", call.type_, InteractionType.CALL)
    expect("getInteraction: status", call.status, InteractionStatus.COMPLETED)
    expect("getInteraction: phone", call.phone, PHONE)
    expect("getInteraction: call.source", call.call is not UNSET and call.call.source, CallDetailsSource.API)
    expect("getInteraction: call.duration > 0", isinstance(call.call.duration, int) and call.call.duration > 0, True)
    expect("getInteraction: transcript", len(call.transcript) > 0, True)

    # 7. an SMS to the lead
    sent = parsed("sendSms", send_sms.sync(client=client, body=SmsSendRequest(lead_id=lead_id, message=MESSAGE)),
                  SmsSentEnvelope)
    expect("sendSms: status", sent.status, SmsSentStatus.SENT)
    sms_id = sent.interaction_id

    # 8. the lead's interactions, newest first: the SMS thread, then the call
    listed = parsed("listLeadInteractions", list_lead_interactions.sync(lead_id, client=client),
                    LeadInteractionsEnvelope)
    ids = [item.interaction_id for item in listed.interactions]
    expect("listLeadInteractions: ids", ids[:2], [sms_id, call_id])
    thread = listed.interactions[0]
    expect("listLeadInteractions: sms type", thread.type_, InteractionType.SMS)
    expect("listLeadInteractions: sms text", thread.transcript[-1].message, MESSAGE)

    # 9. errors parse into the error envelope: an unknown lead, and a submit with neither
    #    leadId nor the contact fields (the either/or rule the spec states)
    missing = get_lead.sync("lead_not_there", client=client)
    expect("getLead unknown: type", type(missing).__name__, ErrorEnvelope.__name__)
    expect("getLead unknown: code", missing.error.code, "NOT_FOUND")
    refused = submit_lead.sync(client=client, body=LeadSubmitRequest(campaign_id="HXZ"))
    expect("submitLead without contact: type", type(refused).__name__, ErrorEnvelope.__name__)
    expect("submitLead without contact: details", refused.error.details,
           ["firstName: is required", "lastName: is required", "email: is required", "phone: is required"])
    STEPS.append("error envelopes")


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        run(sys.argv[1].rstrip("/"), sys.argv[2])
    except Mismatch as exc:
        print(f"python client flow FAILED after {len(STEPS)} steps: {exc}", file=sys.stderr)
        return 1
    print(f"python client flow: {len(STEPS)} steps passed ({', '.join(STEPS)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
