"""What is said in an SMS conversation: opt-out keywords, scripted lead personas, the built-in
SMS agent's wording and answer parsing, and the SMS-agent hand-off payload (docs §4.8.2).

Everything here is pure: the services pass in the lead, the campaign and the field library. The
one thing a reader might get wrong: a keyword is the *whole* message (trimmed, any case) — "please
stop texting me" is an ordinary text that reaches the agent, only "STOP" opts out — which is how
carriers apply the CTIA keywords, and what keeps a lead's sentence from blocking a channel.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import datetime

from .leads import field_value, merge_questionnaire, missing_fields, title_case

OPT_OUT_KEYWORDS = ("STOP", "UNSUBSCRIBE", "CANCEL", "END", "QUIT")
OPT_IN_KEYWORDS = ("START",)
STOP, START = "stop", "start"


def keyword(text: str) -> str | None:
    """``stop`` / ``start`` when the whole message is an opt-out / opt-in keyword, else None."""
    word = text.strip().upper()
    if word in OPT_OUT_KEYWORDS:
        return STOP
    if word in OPT_IN_KEYWORDS:
        return START
    return None


def opt_out_confirmation(campaign_name: str | None) -> str:
    return (f"You have been unsubscribed from {campaign_name or 'our'} messages and will receive no more texts. "
            f"Reply START to resubscribe.")


def opt_in_confirmation(campaign_name: str | None) -> str:
    return (f"You have been resubscribed to {campaign_name or 'our'} messages. Reply STOP to unsubscribe.")


# --- scripted lead personas (scenario table, area "sms") ------------------------------------------

# What a persona number texts back after each text sent to it through the API. ``silence`` has no
# text on purpose: the lead never answers.
PERSONA_REPLIES = {
    "positive": "Yes, I'm interested! Sounds good to me.",
    "question": "How much would this cost me per month?",
    "callback": "I'm busy right now, can you call me tomorrow?",
    "stop": "STOP",
    "silence": None,
}
PERSONA_DELAY_SECONDS = (60, 300)      # "a few minutes later", drawn from the tenant RNG
# Personas answer texts a person sent (API or dashboard), never the agent's or the platform's:
# otherwise a persona and the built-in agent would text each other forever on the clock.
PERSONA_TRIGGER_SOURCES = ("api", "manual")


# --- what the lead has told us and what is still to collect ----------------------------------------

# Field-library categories a text conversation can collect (not files, system data or flags).
ASKABLE_CATEGORIES = ("contact", "question", "custom")
# Contact keys stored on the lead record itself rather than as questionnaire answers.
_LEAD_FIELDS = {"first_name": "firstName", "last_name": "lastName", "email": "email",
                "date_of_birth": "dateOfBirth"}
_ADDRESS_FIELDS = {"address_street": "street", "address_city": "city", "address_state": "state",
                   "address_zip": "zip"}


@dataclass(frozen=True)
class Item:
    key: str
    question: str
    answer: object = None


def _label(key: str, field_library: dict) -> str:
    return (field_library.get(key) or {}).get("label") or key.replace("_", " ").capitalize()


def question_for(key: str, field_library: dict, given: str | None = None) -> str:
    if given:
        return given
    return f"What is your {_label(key, field_library).lower()}?"


def collect_plan(lead: dict, required_fields: list[str], field_library: dict, files: dict,
                 now: datetime) -> tuple[list[Item], list[Item]]:
    """(known, to collect): the lead's questionnaire first, then the campaign's required fields.

    Item shapes are not documented (§4.8.2); we use the questionnaire's own ``{key, question,
    answer}`` for what is known and ``{key, question}`` for what is still missing. "Missing" is the
    engine's own test (``missing_fields``), so the agent collects exactly what submit would miss.
    """
    asked = {item.get("key"): item.get("question") for item in lead.get("questionnaire") or [] if item.get("key")}
    keys = list(dict.fromkeys([*asked, *(required_fields or [])]))
    missing = set(missing_fields(lead, keys, files, now))
    known, to_collect = [], []
    for key in keys:
        question = question_for(key, field_library, asked.get(key))
        if key in missing:
            to_collect.append(Item(key, question))
        else:
            known.append(Item(key, question, copy.deepcopy(field_value(lead, key, files, now))))
    return known, to_collect


def askable(items: list[Item], field_library: dict) -> list[Item]:
    """The missing items a text can collect (a file or a system value cannot be texted in)."""
    return [item for item in items
            if (field_library.get(item.key) or {}).get("category", "question") in ASKABLE_CATEGORIES]


def questionnaire_block(known: list[Item], missing: list[Item]) -> dict:
    return {"knownInformation": [{"key": i.key, "question": i.question, "answer": i.answer} for i in known],
            "informationToCollect": [{"key": i.key, "question": i.question} for i in missing]}


# --- answers the built-in agent reads from a text -------------------------------------------------

_YES_WORDS = {"yes", "y", "yeah", "yep", "yup", "sure", "true", "correct", "absolutely", "definitely"}
_NO_WORDS = {"no", "n", "nope", "nah", "false", "never"}
_YES_PHRASES = ("i do", "i am", "of course")
_NO_PHRASES = ("i don't", "i do not", "i'm not", "i am not", "not really")
_CALL = re.compile(r"\bcall\b", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")


def parse_answer(key: str, text: str, entry: dict | None):
    """(ok, value) for a text answering field ``key``; ``entry`` is its field-library entry.

    Checked against the entry's data type and validation rules, so the built-in agent stores only
    what the engine would accept, and asks again otherwise.
    """
    entry = entry or {}
    rules = entry.get("validationRules") or {}
    raw = " ".join(text.split()).strip(" .!")
    kind = entry.get("dataType", "string")
    if kind == "number":
        found = _NUMBER.search(raw)
        if not found:
            return False, None
        number = float(found.group().replace(",", "."))
        value = int(number) if number.is_integer() else number
        low, high = rules.get("min"), rules.get("max")
        return (low is None or value >= low) and (high is None or value <= high), value
    if kind == "boolean":
        lowered = raw.lower()
        first = re.split(r"[\s,.!;]+", lowered, maxsplit=1)[0]
        if lowered.startswith(_NO_PHRASES) or first in _NO_WORDS:
            return True, False
        if lowered.startswith(_YES_PHRASES) or first in _YES_WORDS:
            return True, True
        return False, None
    if kind == "date":
        return _date(raw)
    if key in ("first_name", "last_name"):
        raw = title_case(raw)
    elif key == "email":
        raw = raw.lower()
    elif key == "address_state":
        raw = raw.upper()
    if not raw or len(raw) < rules.get("minLength", 1) or len(raw) > rules.get("maxLength", 1600):
        return False, None
    if rules.get("pattern") and not re.search(rules["pattern"], raw):
        return False, None
    return True, raw


def _date(raw: str):
    for form in ("%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y", "%B %d, %Y", "%b %d, %Y", "%B %d %Y"):
        try:
            return True, datetime.strptime(raw, form).strftime("%Y-%m-%d")
        except ValueError:
            continue
    return False, None


def store_answer(lead: dict, key: str, value, question: str) -> None:
    """Write an answer where the engine reads it: the lead's own field, or a questionnaire item."""
    if key in _LEAD_FIELDS:
        lead[_LEAD_FIELDS[key]] = value
    elif key in _ADDRESS_FIELDS:
        address = dict.fromkeys(("street", "unit", "city", "state", "zip", "country"))
        address.update(lead.get("address") or {})
        address[_ADDRESS_FIELDS[key]] = value
        lead["address"] = address
    else:
        lead["questionnaire"] = merge_questionnaire(lead.get("questionnaire") or [],
                                                    [{"key": key, "question": question, "answer": value}], {})


# --- the built-in agent's wording -----------------------------------------------------------------

@dataclass(frozen=True)
class Reply:
    text: str
    asks: str | None          # the field this reply asks for (None: nothing left to ask)


def builtin_reply(*, first_name: str | None, agent_name: str, campaign_name: str, inbound_text: str,
                  first_contact: bool, asked: Item | None, answered: bool, next_item: Item | None) -> Reply:
    """The built-in agent's answer to one batch of texts.

    ``asked``: the field the agent's previous text asked for (None when it asked nothing);
    ``answered``: whether this batch answered it; ``next_item``: what to ask now, if anything.
    """
    parts = []
    if first_contact:
        parts.append(f"Hi {first_name or 'there'}, this is {agent_name} from {campaign_name}. "
                     f"Thanks for your message!")
    if asked is not None and not answered:
        parts.append("Sorry, I didn't quite get that.")
    elif asked is not None:
        parts.append("Got it, thank you!")
    elif not first_contact:
        parts.append("Thanks for your message!")
    if asked is None and _CALL.search(inbound_text):
        parts.append("Sure, I've noted that you'd like a call; a specialist will ring you.")
    elif asked is None and "?" in inbound_text and len(inbound_text.split()) >= 3:   # not a bare "hello?"
        parts.append("Good question. A specialist will follow up with the details.")
    if next_item is not None:
        parts.append(next_item.question)
    elif asked is not None and answered:
        parts.append("That's everything we need for now. A specialist will be in touch soon.")
    return Reply(" ".join(parts), next_item.key if next_item is not None else None)


# --- the hand-off payload (§4.8.2, exactly its shape) ---------------------------------------------

def handoff_payload(*, texts: list[str], thread: dict, lead: dict, campaign: dict, questionnaire: dict,
                    tenant_id: str, agent_id: str, now: str) -> dict:
    return {
        "message": {"combinedText": "\n".join(texts), "messageCount": len(texts),
                    "senderPhone": thread["phone"], "inboundPhone": thread["telephony"]["phoneNumber"]},
        "lead": {"leadId": lead["leadId"], "firstName": lead.get("firstName"), "lastName": lead.get("lastName"),
                 "email": lead.get("email"), "phone": lead.get("phone"), "status": lead.get("status")},
        "campaign": {"campaignId": campaign.get("campaignId"), "name": campaign.get("name"),
                     "clientName": campaign.get("clientName"), "offerName": campaign.get("offerName")},
        "interaction": {"interactionId": thread["interactionId"], "status": thread["status"],
                        "transcript": copy.deepcopy(thread["transcript"])},
        "questionnaire": copy.deepcopy(questionnaire),
        "tenantId": tenant_id,
        "agentId": agent_id,
        "timestamp": now,
    }
