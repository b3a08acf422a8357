"""Voice calls: pre-flight, placing a call, and playing it out (answer → hang-up) on the clock.

Pre-flight runs the documented order (docs §5.1, README G37): lead exists → dialled number is
valid E.164 → campaign exists and is active (unless ``isTest``) → it has a voice agent → a caller
number resolves (else ``MISSING_PHONE_NUMBER``) → phone is not DNC → dialer rules. The API, the
auto-dialer and the control plane's dry run share ``preflight`` / ``dialer_verdicts`` /
``place_call``; they differ only in what they do with a refusing check (raise, re-queue, report).
Inbound calls (``services/inbound_calls``) skip the pre-flight — the lead called us — but are
placed and played out here too. The one thing a reader might get wrong: the outcome is decided
when the call is *placed* (scenario number → forced outcome → campaign mix) and travels in the
job payload, so an export taken mid-call replays to the same ending.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from .. import metrics, scenarios
from ..clock import iso, parse_instant
from ..domain import call_outcomes, dialer_rules, interactions as model, phones, sms_rules, transcripts
from ..domain.dialer_rules import Verdict
from ..errors import MissingPhoneNumber, NotFound, SandboxError, ValidationFailed
from . import interactions, setup

ANSWER_JOB = "call.answer"
END_JOB = "call.end"
RECORDING_PATH = "/_sandbox/recordings/{interaction_id}.wav"  # served by the control plane
INBOUND = "inbound"       # call.source of a call the lead placed (G45)

# The pre-flight checks before the dialer rules, in order. A refusal's detail starts with its name.
LEAD, PHONE, CAMPAIGN, VOICE_AGENT, CALLER_NUMBER, DNC = \
    "lead", "phone", "campaignId", "voiceAgent", "callerNumber", "dnc"
PREFLIGHT = (LEAD, PHONE, CAMPAIGN, VOICE_AGENT, CALLER_NUMBER, DNC, *dialer_rules.RULES)


@dataclass
class CallPlan:
    """Everything pre-flight established; enough to place the call."""

    lead: dict
    phone: str              # the number dialled (the override, else the lead's, in E.164)
    campaign_id: str
    campaign: dict
    config: dict            # the campaign's sandbox-only configuration
    agent: dict
    caller: str
    is_test: bool
    direction: str


def initiate_call(tenant, body: dict) -> dict:
    plan = prepare_call(tenant, body.get("leadId"), phone=body.get("phone"), campaign_id=body.get("campaignId"),
                        is_test=bool(body.get("isTest")), direction=body.get("direction") or "outbound")
    refusal = rule_refusal(tenant, plan, "api")
    if refusal is not None:
        raise ValidationFailed([refusal.detail])
    record = place_call(tenant, plan, source="api", instructions=body.get("additionalInstructions"))
    return {"interactionId": record["interactionId"], "leadId": plan.lead["leadId"],
            "campaignId": plan.campaign_id, "agentId": plan.agent["agentId"]}


# --- pre-flight, one function per documented check -------------------------------------------

def prepare_call(tenant, lead_id: str | None, *, phone: str | None = None, campaign_id: str | None = None,
                 is_test: bool = False, direction: str = "outbound") -> CallPlan:
    """Checks 1–5 of the pre-flight, in order; raises the first failure."""
    lead = interactions.require_lead(tenant, lead_id)
    return preflight(tenant, lead, phone=phone, campaign_id=campaign_id, is_test=is_test, direction=direction)


def preflight(tenant, lead: dict, *, phone: str | None = None, campaign_id: str | None = None,
              is_test: bool = False, direction: str = "outbound",
              verdicts: list[Verdict] | None = None) -> CallPlan | None:
    """Checks 2–5 in the documented order.

    Without ``verdicts`` the first failing check raises its error (initiate, auto-dialer). With a
    list, every check is recorded there as a ``Verdict`` instead — a check whose input an earlier
    failure left unknown gets ``allowed=None`` — and the plan is returned only if all passed
    (the control plane's dry run). One sequence for both, so the dry run cannot drift.
    """
    def check(rule: str, run, *needs):
        if any(need is None for need in needs):
            verdicts.append(Verdict(rule, None, "not checked: an earlier check it depends on failed"))
            return None
        try:
            value = run()
        except SandboxError as exc:
            if verdicts is None:
                raise
            verdicts.append(Verdict(rule, False, _facts(exc)))
            return None
        if verdicts is not None:
            verdicts.append(Verdict(rule, True))
        return value

    test_lead = is_test or bool((lead.get("flags") or {}).get("isTest"))
    dialled = check(PHONE, lambda: interactions.lead_number(lead, phone, "phone"))  # the override is dialled (G40)
    found = check(CAMPAIGN, lambda: active_campaign(tenant, lead, campaign_id, skip_active=is_test))
    agent = check(VOICE_AGENT, lambda: voice_agent(tenant, found[0], found[2], test_lead), found)
    caller = check(CALLER_NUMBER, lambda: caller_number(found[0], found[2], agent), found, agent)
    check(DNC, lambda: not_phone_dnc(tenant, lead))
    if verdicts is not None and any(not v.allowed for v in verdicts):
        return None
    return CallPlan(lead, dialled, found[0], found[1], found[2], agent, caller, is_test, direction)


def _facts(exc: SandboxError) -> str:
    """A check's error as a verdict reason: its detail without the rule prefix."""
    if isinstance(exc, NotFound):
        return "campaign not found"
    detail = exc.details[0] if exc.details else exc.message
    return detail.split(": ", 1)[-1]


def active_campaign(tenant, lead: dict, override: str | None, *, skip_active: bool) -> tuple[str, dict, dict]:
    campaign_id, campaign, config = interactions.campaign_for(tenant, lead, override)
    if not skip_active and not campaign.get("active", True):
        raise ValidationFailed([f"campaignId: campaign {campaign_id} is not active"])
    return campaign_id, campaign, config


def voice_agent(tenant, campaign_id: str, config: dict, is_test: bool) -> dict:
    agent = tenant.state.voice_agents.get(sms_rules.agent_id_for(config, "voice", is_test) or "")
    if agent is None:
        raise ValidationFailed([f"voiceAgent: campaign {campaign_id} has no voice agent configured"])
    return agent


def caller_number(campaign_id: str, config: dict, agent: dict) -> str:
    resolved = sms_rules.caller_number(campaign_id, config, agent)
    if resolved.value is None:
        raise MissingPhoneNumber([resolved.missing("callerNumber")])
    return resolved.value


def not_phone_dnc(tenant, lead: dict) -> None:
    if "phone" in interactions.dnc_channels(tenant, lead["leadId"]):
        raise ValidationFailed([f"dnc: {interactions.DNC_PHONE_REASON}"])


def lead_zone(tenant, lead: dict, phone: str | None, config: dict) -> str:
    """Lead's own zone → the dialled number's area code → the campaign's → the tenant's (G23)."""
    if lead.get("timezone") and dialer_rules.valid_zone(lead["timezone"]):
        return lead["timezone"]  # the common case, without a phone-metadata lookup (the dialer's hot path)
    return dialer_rules.zone_for(lead.get("timezone"), phones.timezone_for(phone or lead.get("phone")),
                                 config.get("timezone") or tenant.state.settings.get("timezone"))


def dialer_entry(tenant, lead_id: str) -> dict:
    """The lead's ``state.dialer`` record, created on first use (shapes: attempts, queuedAt, nextCallTime)."""
    entry = tenant.state.dialer.setdefault(lead_id, {"attempts": [], "queuedAt": None, "nextCallTime": None})
    entry.setdefault("attempts", [])
    return entry


def attempts_of(tenant, lead_id: str) -> Sequence[str]:
    """The lead's attempt timestamps, oldest first: the live record, not a copy. Readers only
    take its length and its last entry, and a copy per call grew with the history (a lead
    called 80,000 times in the benchmark made every initiate copy 80,000 strings)."""
    return (tenant.state.dialer.get(lead_id) or {}).get("attempts") or ()


def rule_verdicts(tenant, plan: CallPlan) -> list[Verdict]:
    """Check 6: the auto-dialer rules, every verdict in order."""
    return dialer_verdicts(tenant, plan.lead, plan.phone, plan.config)


def rule_refusal(tenant, plan: CallPlan, source: str) -> Verdict | None:
    """The first dialer rule refusing this call now (counted, by rule), or None: the one check at
    dialling time, for ``POST /voice/calls/initiate`` (source api) and a due dialer attempt."""
    refusal = dialer_rules.first_refusal(rule_verdicts(tenant, plan))
    if refusal is not None:
        metrics.dialer_refused(refusal.rule, source)
    return refusal


def dialer_verdicts(tenant, lead: dict, phone: str | None, config: dict) -> list[Verdict]:
    """The auto-dialer rules for ``lead`` now, under a campaign's sandbox config."""
    zone = lead_zone(tenant, lead, phone, config)
    return dialer_rules.evaluate(lead, dialer_rules.config_of(config), attempts_of(tenant, lead["leadId"]),
                                 tenant.now(), zone)


# --- placing and playing out a call ----------------------------------------------------------

def choose_outcome(tenant, lead_id: str, phone: str, config: dict, *, inbound: bool = False) -> str:
    """Scenario number → outcome forced through the control plane → the campaign's mix.

    An inbound call draws only from the mix's outcomes where a person is reached (the caller is on
    the line); a scenario number or a forced outcome is honoured as asked, whatever the direction.
    """
    forced = scenarios.call_outcome_for(phone)
    queued = tenant.state.forced_outcomes.pop(lead_id, None)  # consumed by this call either way
    if forced or queued:
        return forced or queued
    mix = config.get("outcomeMix") or call_outcomes.DEFAULT_MIX
    return call_outcomes.draw_from_mix(call_outcomes.inbound_mix(mix) if inbound else mix, tenant.rng)


def place_call(tenant, plan: CallPlan, *, source: str, instructions: str | None = None,
               known_caller: bool = True) -> dict:
    """Create the in-progress interaction, record the attempt and start the ringing.

    An inbound call (``source`` inbound) is no dialling attempt: it is not recorded in the lead's
    attempt history, so it neither uses up ``maxAttempts`` nor starts a minimum gap.
    """
    now = tenant.now()
    lead_id = plan.lead["leadId"]
    inbound = source == INBOUND
    outcome = choose_outcome(tenant, lead_id, plan.phone, plan.config, inbound=inbound)
    interaction_id = tenant.ids.new("int")
    provider = sms_rules.call_provider(tenant.state.phone_numbers.get(plan.caller), tenant.state.settings)
    record = model.new_call(
        interaction_id, lead_id, plan.campaign, iso(now), phone=plan.phone,
        channel_telephony=model.telephony(provider, tenant.ids.new("call"), plan.caller),
        call=model.call_block(source, plan.direction, plan.agent.get("providerAgentId") or plan.agent["agentId"],
                              tenant.ids.new("conv")),
        transcript=_opening_entries(iso(now), plan, instructions))
    interactions.add(tenant, record)
    if not inbound:
        dialer_entry(tenant, lead_id)["attempts"].append(iso(now))
    ring = tenant.rng.randint(*(call_outcomes.INBOUND_RINGING_SECONDS if inbound else call_outcomes.RINGING_SECONDS))
    payload = {"interactionId": interaction_id, "outcome": outcome, "ringSeconds": ring,
               "agentId": plan.agent["agentId"]}
    if not known_caller:
        payload["unknownCaller"] = True
    result = call_outcomes.outcome(outcome)
    tenant.schedule(now + timedelta(seconds=ring), ANSWER_JOB if result.answered else END_JOB, payload)
    return record


def _opening_entries(now: str, plan: CallPlan, instructions: str | None) -> list[dict]:
    """What the platform wrote into the prompt for this call, visible as ``system`` entries."""
    entries = []
    if plan.is_test:
        entries.append(model.transcript_entry(now, "agent", "Test call: the active-campaign check was skipped and "
                                                            "the campaign's test voice agent (if any) was used.",
                                              "system"))
    if instructions:
        entries.append(model.transcript_entry(now, "agent", f"Additional instructions: {instructions}", "system"))
    return entries


def answer_call(tenant, payload: dict) -> dict | None:
    """Somebody (or a voicemail box) picked up: the talk time starts now."""
    record = tenant.state.interactions.get(payload["interactionId"])
    if record is None or record["status"] != model.IN_PROGRESS:
        return None
    now = tenant.now()
    talk = tenant.rng.randint(*call_outcomes.talk_range(payload["outcome"]))
    tenant.schedule(now + timedelta(seconds=talk), END_JOB, {**payload, "answeredAt": iso(now)})
    return {"interactionId": record["interactionId"], "answered": True}


def finish_call(tenant, payload: dict) -> dict | None:
    """Hang-up: transcript, outcome status, duration, lead status (docs §5.4 steps 6–7)."""
    record = tenant.state.interactions.get(payload["interactionId"])
    if record is None or record["status"] != model.IN_PROGRESS:
        return None
    now = tenant.now()
    result = call_outcomes.outcome(payload["outcome"])
    answered_at = parse_instant(payload["answeredAt"]) if payload.get("answeredAt") else None
    lead = tenant.state.leads.get(record["leadId"]) or {}
    config = tenant.state.campaign_config.get(record["campaignId"]) or {}
    inbound = record["call"]["source"] == INBOUND
    made = len(attempts_of(tenant, record["leadId"]))
    ever_reached = any(r is not record and (r.get("call") or {}).get("spokenTo")
                       for r in interactions.lead_records(tenant, record["leadId"]))
    # Only a dialling attempt can use up the attempts; a lead who calls in spends none.
    exhausted = not inbound and call_outcomes.exhausts_attempts(
        result, made, dialer_rules.config_of(config)["maxAttempts"], ever_reached)
    status, lead_status = call_outcomes.final_statuses(result, exhausted)

    seed = tenant.rng.getrandbits(32)
    script = _script(tenant, lead, record, config, payload, seed)
    talk = transcripts.conversation(result.name, script, seed)
    summary = transcripts.summary(result.name, script, talk, payload.get("ringSeconds", 0))
    termination = result.termination
    if exhausted:
        note = f"all {made} allowed attempts used without reaching the lead"
        summary, termination = f"{summary} No contact: {note}.", f"{termination}; {note}"
    _close(record, result, status, summary, termination, transcripts.timed(talk.lines, answered_at or now, now),
           answered_at, now, tenant.base_url)
    if lead:
        interactions.mark_activity(tenant, lead, lead_status)
        if result.adds_phone_dnc:
            setup.add_dnc_channel(tenant, lead["leadId"], "phone", "asked not to be called again during a call",
                                  "voice_agent")
    _emit_call_completed(tenant, record)
    metrics.call_ended(result.name, record["call"]["source"])
    return {"interactionId": record["interactionId"], "status": status, "leadStatus": lead.get("status"),
            "outcome": result.name, "source": record["call"]["source"], "exhausted": exhausted}


def _emit_call_completed(tenant, record: dict) -> None:
    """``call.completed`` (G13) through the webhooks area, when that area is present.

    Looked up on every call, not at import: the events module may arrive after this one (and may
    import it), and a build without webhooks must still play calls out.
    """
    try:
        events = importlib.import_module(f"{__package__}.events")
    except ModuleNotFoundError as missing:
        if missing.name != f"{__package__}.events":
            raise  # a broken events module must fail loudly, not switch webhooks off
        return
    hook = getattr(events, "emit_call_completed", None)
    if hook is not None:
        hook(tenant, record)


def _close(record: dict, result: call_outcomes.Outcome, status: str, summary: str, termination: str,
           spoken: list[dict], answered_at, now, base_url: str) -> None:
    """Write what the provider's post-call webhook would tell us onto the interaction."""
    record["status"] = status
    record["transcript"] = model.frozen_transcript(model.transcript_entries(record) + spoken)
    record["summary"] = summary
    record["errorCode"], record["errorMessage"] = result.error_code, result.error_message
    call = record["call"]
    call["duration"] = int((now - answered_at).total_seconds()) if answered_at else 0
    call["recordingUrl"] = (base_url + RECORDING_PATH.format(interaction_id=record["interactionId"])
                            if answered_at else None)
    call["terminationReason"] = termination
    call["spokenTo"] = result.spoken_to
    record["updatedAt"] = iso(now)


def _script(tenant, lead: dict, record: dict, config: dict, payload: dict, seed: int) -> transcripts.CallScript:
    campaign = tenant.state.campaigns.get(record["campaignId"]) or {}
    agent = tenant.state.voice_agents.get(payload.get("agentId") or "") or {}
    known = not payload.get("unknownCaller")
    # An unknown caller's placeholder lead holds no real name: the caller introduces themselves.
    speaker = lead if known else {**lead, **transcripts.caller_persona(seed)}
    questions = transcripts.questions_for(speaker, config.get("requiredFields") or [], tenant.state.field_library,
                                          confirm=known)
    return transcripts.CallScript(
        first_name=speaker.get("firstName") or "", last_name=speaker.get("lastName") or "",
        agent_name=transcripts.spoken_name(agent.get("name")), campaign_name=campaign.get("name") or "our team",
        caller_number=record["telephony"]["phoneNumber"], questions=questions,
        inbound=record["call"]["source"] == INBOUND, known_caller=known)
