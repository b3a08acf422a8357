"""The single table of magic inputs that force an outcome, for every area.

One table feeds the behaviour, ``GET /_sandbox/scenarios`` and the README's scenarios table, so
the three cannot drift apart. Precedence for a call outcome: scenario phone number, then an outcome
forced through the control plane, then the campaign's outcome mix (seeded RNG). The one thing a
reader might get wrong: the magic numbers use real US area codes with the fictional 555-01XX
exchange — ``+1555…`` would fail phone validation before any scenario could apply.
"""

from __future__ import annotations

CALL = "call"
SUBMIT = "submit"
SMS = "sms"
PIXEL = "pixel"
SMS_FAILED = "failed"

# (area, input, outcome, what happens)
TABLE: list[tuple[str, str, str, str]] = [
    (CALL, "+12125550101", "completed", "the lead answers and the conversation completes"),
    (CALL, "+12125550102", "incomplete", "the lead answers and hangs up mid-conversation"),
    (CALL, "+12125550103", "voicemail", "voicemail picks up; the agent leaves a message"),
    (CALL, "+12125550104", "no_answer", "nobody picks up"),
    (CALL, "+12125550105", "busy", "the line is busy"),
    (CALL, "+12125550106", "scheduled_callback", "the lead asks to be called back"),
    (CALL, "+12125550107", "follow_up", "the agent decides a follow-up is needed"),
    (CALL, "+12125550108", "qualified", "the agent qualifies the lead"),
    (CALL, "+12125550109", "dnc", "the lead asks not to be called again (phone DNC added)"),
    (CALL, "+12125550110", "disqualified", "the agent disqualifies the lead"),
    (CALL, "+12125550111", "failed", "the carrier rejects the call (errorCode CALL_FAILED)"),
    (SUBMIT, "+disqualified", "disqualified", "email tag, e.g. jane+disqualified@example.com: a DQ rule matches"),
    (SUBMIT, "+duplicate", "duplicate", "email tag: the lead is a duplicate within the campaign window"),
    (SUBMIT, "+missingdata", "missing_data", "email tag: a required campaign field is missing"),
    (SUBMIT, "+deliveryfail", "failed", "email tag: the client endpoint answers 500"),
    (SUBMIT, "+rejected", "rejected", "email tag: the client refuses the lead"),
    (SUBMIT, "+error", "error", "email tag: a system error during processing"),
    (SMS, "+12125550190", "failed", "texts to this number fail (errorCode 30003, unreachable handset)"),
    (PIXEL, "000000000", "refused", "pixelId: the platform refuses the event (data.success false)"),
    (SMS, "+12125550125", "positive", "persona: 1-5 min after each text you send, replies "
                                      "\"Yes, I'm interested! Sounds good to me.\""),
    (SMS, "+12125550126", "question", "persona: 1-5 min after each text you send, asks "
                                      "\"How much would this cost me per month?\""),
    (SMS, "+12125550127", "callback", "persona: 1-5 min after each text you send, replies "
                                      "\"I'm busy right now, can you call me tomorrow?\""),
    (SMS, "+12125550128", "stop", "persona: 1-5 min after your first text, replies STOP (sms DNC added, "
                                  "later texts refused)"),
    (SMS, "+12125550129", "silence", "persona: texts are delivered and the lead never replies"),
]

CALL_OUTCOMES = ("completed", "incomplete", "voicemail", "no_answer", "busy", "scheduled_callback",
                 "follow_up", "qualified", "dnc", "disqualified", "failed")


def _lookup(area: str, value: str | None) -> str | None:
    for row_area, magic, outcome, _ in TABLE:
        if row_area == area and value == magic:
            return outcome
    return None


def call_outcome_for(phone: str | None) -> str | None:
    return _lookup(CALL, phone)


def submit_outcome_for(email: str | None) -> str | None:
    """The outcome forced by a ``+tag`` in the email's local part, if any."""
    if not email or "@" not in email:
        return None
    local = email.split("@", 1)[0].lower()
    for row_area, magic, outcome, _ in TABLE:
        if row_area == SUBMIT and local.endswith(magic):
            return outcome
    return None


def sms_failure_for(number: str | None) -> str | None:
    outcome = _lookup(SMS, number)
    return outcome if outcome == SMS_FAILED else None


def sms_persona_for(number: str | None) -> str | None:
    """The scripted lead persona of a number (positive, question, callback, stop, silence), if any."""
    outcome = _lookup(SMS, number)
    return outcome if outcome not in (None, SMS_FAILED) else None


def pixel_refused(pixel_id: str | None) -> bool:
    return _lookup(PIXEL, pixel_id) is not None


def as_json() -> list[dict]:
    return [{"area": a, "input": i, "outcome": o, "description": d} for a, i, o, d in TABLE]


def markdown_table() -> str:
    lines = ["| area | input | outcome | what happens |", "|---|---|---|---|"]
    lines += [f"| {a} | `{i}` | `{o}` | {d} |" for a, i, o, d in TABLE]
    return "\n".join(lines)
