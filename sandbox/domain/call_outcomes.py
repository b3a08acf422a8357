"""Call outcomes: outcome → interaction status → lead status, and how long each phase takes.

The table is the guide's (docs §5.5) completed by README assumptions G41/G42: ``dnc`` marks the
interaction ``dnc``, sets the lead status ``dnc`` *and* adds the phone DNC channel;
``disqualified`` sets the lead ``disqualified``. The one thing a reader might get wrong: ``busy``
keeps its own interaction status but sets the lead to ``no_answer``, and ``failed`` is not an
interaction status at all — a carrier failure is an ``incomplete`` interaction with errorCode
``CALL_FAILED`` that leaves the lead's status alone.
"""

from __future__ import annotations

from dataclasses import dataclass

CALL_FAILED = "CALL_FAILED"
CALL_FAILED_MESSAGE = "The carrier rejected the call"

NO_CONTACT = "no_contact"


@dataclass(frozen=True)
class Outcome:
    name: str
    interaction_status: str
    lead_status: str | None          # None: the lead's status is left as it is
    answered: bool                   # somebody (or a voicemail box) picked up
    spoken_to: bool                  # a person was reached
    retry: bool                      # the auto-dialer tries again later
    termination: str                 # terminationReason written on the interaction
    adds_phone_dnc: bool = False
    error_code: str | None = None
    error_message: str | None = None


OUTCOMES: dict[str, Outcome] = {o.name: o for o in (
    Outcome("completed", "completed", "contacted", True, True, False, "agent ended the call after the conversation"),
    Outcome("incomplete", "incomplete", "contacted", True, True, False, "lead hung up mid-conversation"),
    Outcome("voicemail", "voicemail", "voicemail", True, False, True, "voicemail message left"),
    Outcome("no_answer", "no_answer", "no_answer", False, False, True, "no answer"),
    Outcome("busy", "busy", "no_answer", False, False, True, "line busy"),
    Outcome("scheduled_callback", "scheduled_callback", "scheduled_callback", True, True, False,
            "callback scheduled at the lead's request"),
    Outcome("follow_up", "follow_up", "contacted", True, True, False, "agent ended the call; follow-up needed"),
    Outcome("qualified", "qualified", "qualified", True, True, False, "agent ended the call; lead qualified"),
    Outcome("dnc", "dnc", "dnc", True, True, False, "lead asked not to be called again", adds_phone_dnc=True),
    Outcome("disqualified", "disqualified", "disqualified", True, True, False,
            "agent ended the call; lead disqualified"),
    Outcome("failed", "incomplete", None, False, False, False, "carrier rejected the call",
            error_code=CALL_FAILED, error_message=CALL_FAILED_MESSAGE),
)}

# Used when a campaign configures no ``outcomeMix`` (same weights as the seed world's default).
DEFAULT_MIX = {"completed": 30, "voicemail": 20, "no_answer": 20, "busy": 5, "incomplete": 5,
               "scheduled_callback": 5, "follow_up": 5, "qualified": 8, "dnc": 2}

# How long each phase lasts, in seconds (inclusive ranges drawn with the tenant RNG).
RINGING_SECONDS = (5, 25)
INBOUND_RINGING_SECONDS = (1, 4)      # the AI agent picks up an inbound call almost at once
TALK_SECONDS = (40, 400)
VOICEMAIL_SECONDS = (20, 40)


def outcome(name: str) -> Outcome:
    return OUTCOMES[name]


def talk_range(name: str) -> tuple[int, int]:
    return VOICEMAIL_SECONDS if name == "voicemail" else TALK_SECONDS


def draw_from_mix(mix: dict[str, float], rng) -> str:
    """One outcome drawn from a weight table; unknown names and non-positive weights are ignored."""
    choices = [(name, float(weight)) for name, weight in mix.items() if name in OUTCOMES and float(weight) > 0]
    if not choices:
        return "completed"
    total = sum(weight for _, weight in choices)
    point = rng.random() * total
    for name, weight in choices:
        point -= weight
        if point < 0:
            return name
    return choices[-1][0]


def inbound_mix(mix: dict[str, float]) -> dict[str, float]:
    """The part of a campaign's mix that fits an inbound call: the caller is on the line, so only
    outcomes where a person is reached. Empty when the mix has none (the draw then says completed)."""
    return {name: weight for name, weight in mix.items() if name in OUTCOMES and OUTCOMES[name].spoken_to}


def exhausts_attempts(result: Outcome, attempts_made: int, max_attempts: int, ever_reached: bool) -> bool:
    """True when this call used up the last allowed attempt and nobody was ever reached."""
    return not result.spoken_to and not ever_reached and attempts_made >= max_attempts


def final_statuses(result: Outcome, exhausted: bool) -> tuple[str, str | None]:
    """(interaction status, lead status or None) once the call ended."""
    if exhausted and result.error_code is None:
        return NO_CONTACT, NO_CONTACT
    if exhausted:
        # A carrier failure on the last attempt still ends the agent phase for the lead.
        return result.interaction_status, NO_CONTACT
    return result.interaction_status, result.lead_status
