"""Leads: the public record, intake normalisation, patching, list filtering and the engine's rules.

A lead is stored as a dict in the documented field order (README assumptions G15), so rendering is
a copy. Everything here is a pure function of its arguments (time comes in as ``now``). The one
thing a reader might get wrong: ``flags.isDnc`` is *derived* from the DNC record (any channel
blocked), and DNC never changes ``status`` (docs §5.11) — ``dnc`` the status is a separate thing,
set only by a call outcome or an explicit PATCH; a PATCH of ``flags.isDnc`` is therefore ignored.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..clock import OutOfRange, parse_instant
from . import phones

LEAD_STATUSES = (
    "new", "pending", "processing", "qualified", "disqualified", "missing_data", "queued",
    "pending_action", "no_answer", "voicemail", "contacted", "scheduled_callback", "no_contact",
    "pending_signature", "document_sent", "signed", "delivered", "accepted", "duplicate", "failed",
    "error", "rejected", "dnc",
)

TIMEZONE_SOURCES = ("ip", "zip", "area_code", "user_input", "inferred")
REPOSTABLE_STATUSES = ("failed", "rejected", "error")
MIN_PHONE_DIGITS = 10

# The lead fields a repost's ``modifiedPayload`` may change (G26: the PATCH contact fields).
CONTACT_FIELDS = ("firstName", "lastName", "email", "phone", "country", "address", "dateOfBirth",
                  "timezone", "timezoneSource")


def campaign_summary(campaign: dict) -> dict:
    keys = ("campaignId", "name", "clientId", "clientName", "clientAbbrev", "offerId", "offerName", "offerAbbrev")
    return {key: campaign.get(key) for key in keys}


def _capitalise(part: str) -> str:
    # One-letter prefixes before an apostrophe are their own word: O'Brien, D'Angelo, L'Oreal.
    if len(part) > 2 and part[1] == "'":
        return part[0].upper() + "'" + part[2].upper() + part[3:].lower()
    return part[:1].upper() + part[1:].lower()


def title_case(name: str) -> str:
    """Trim and title-case a name, keeping ``O'Brien`` and ``Smith-Jones`` readable."""
    parts = " ".join(name.split()).split(" ")
    return " ".join("-".join(_capitalise(p) for p in word.split("-")) for word in parts)


def new_note(note_id: str, text: str, now: str, created_by: str = "api") -> dict:
    return {"id": note_id, "text": text, "createdAt": now, "createdBy": created_by}


def new_lead(lead_id: str, now: str, campaign: dict, *, first_name: str, last_name: str, email: str,
             phone: str, status: str = "new", country=None, address=None, date_of_birth=None,
             timezone=None, timezone_source=None, notes=None, questionnaire=None, attribution=None,
             compliance=None, custom_fields=None, flags=None, tags=None) -> dict:
    """A lead in its public shape. Optional scalars without a value are null (G15)."""
    base_flags = {"isDnc": False, "isTest": False, "isDuplicate": False, "isImported": False}
    base_flags.update(flags or {})
    return {
        "leadId": lead_id,
        "campaign": campaign_summary(campaign),
        "approval": None,
        "firstName": first_name,
        "lastName": last_name,
        "email": email,
        "phone": phone,
        "country": country,
        "address": copy.deepcopy(address) if address is not None else None,
        "dateOfBirth": date_of_birth,
        "timezone": timezone,
        "timezoneSource": timezone_source,
        "notes": list(notes or []),
        "questionnaire": list(questionnaire or []),
        "attribution": copy.deepcopy(attribution) if attribution else {},
        "compliance": copy.deepcopy(compliance) if compliance else {},
        "customFields": copy.deepcopy(custom_fields) if custom_fields else {},
        "status": status,
        "detail": None,
        "flags": base_flags,
        "tags": list(tags or []),
        "clientLeadId": None,
        "repostedTo": [],
        "latestSubmittedAt": None,
        "lastActivityAt": None,
        "deliveredAt": None,
        "submissionCount": 0,
        "createdAt": now,
        "updatedAt": now,
    }


# --- intake: contact fields, time zone, questionnaire, notes ---------------------------------------

def phone_problems(phone, field: str = "phone") -> list[str]:
    """The guide's rule on top of the schema's pattern: at least 10 digits (``((((((((((`` passes the
    pattern and the length but is no phone number)."""
    if isinstance(phone, str) and len(phones.digits(phone)) < MIN_PHONE_DIGITS:
        return [f"{field}: must contain at least {MIN_PHONE_DIGITS} digits"]
    return []


def timezone_problems(zone, field: str = "timezone") -> list[str]:
    """An IANA name, checked because the dialer computes local times with it."""
    if not isinstance(zone, str):
        return []
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return [f"{field}: '{zone}' is not an IANA time zone"]
    return []


def stored_phone(phone: str) -> str:
    """The E.164 form when the number parses (dialer and SMS need it), else the text as given."""
    return phones.to_e164(phone) or phone


def resolve_timezone(given, phone, campaign_timezone) -> tuple[str | None, str | None]:
    """G23: given → user_input; else the phone's area code → area_code; else the campaign's → inferred."""
    if given:
        return given, "user_input"
    from_phone = phones.timezone_for(phone)
    if from_phone:
        return from_phone, "area_code"
    if campaign_timezone:
        return campaign_timezone, "inferred"
    return None, None


def normalise_contact(body: dict) -> dict:
    """Submit's normalisation (§5.15): names trimmed and title-cased, email trimmed and lowercased."""
    result = {}
    for key in ("firstName", "lastName"):
        if isinstance(body.get(key), str):
            result[key] = title_case(body[key])
    if isinstance(body.get("email"), str):
        result["email"] = body["email"].strip().lower()
    if isinstance(body.get("phone"), str):
        result["phone"] = body["phone"].strip()
    return result


def questionnaire_items(value) -> list[dict]:
    """Both accepted forms as items ``{key, question, answer}``; ``question`` is None when not given.
    Object form is ``{key: answer}``; array items may carry their own question label."""
    if isinstance(value, dict):
        return [{"key": key, "question": None, "answer": copy.deepcopy(answer)} for key, answer in value.items()]
    return [{"key": item["key"], "question": item.get("question"), "answer": copy.deepcopy(item.get("answer"))}
            for item in value or []]


def merge_questionnaire(existing: list[dict], incoming: list[dict], labels: dict) -> list[dict]:
    """Items merge by key (G19): a known key is answered again in place, a new key is appended.

    An item without a question keeps the label it already has, else takes the field library's label
    for its key (``labels``: key → label), else the key itself (§3.6: object-form keys are looked up).
    """
    merged = [dict(item) for item in existing]
    position = {item["key"]: index for index, item in enumerate(merged)}
    for item in incoming:
        key = item["key"]
        known = merged[position[key]] if key in position else None
        question = item.get("question") or (known or {}).get("question") or labels.get(key, key)
        entry = {"key": key, "question": question, "answer": copy.deepcopy(item.get("answer"))}
        if known is not None:
            merged[position[key]] = entry
        else:
            position[key] = len(merged)
            merged.append(entry)
    return merged


def note_item(given, note_id: str, now: str, created_by: str = "api") -> dict:
    """A note from ``{text}`` (or a bare string); id/createdAt/createdBy are filled in when absent (G16)."""
    if isinstance(given, str):
        return new_note(note_id, given, now, created_by)
    return {"id": given.get("id") or note_id, "text": given.get("text"),
            "createdAt": given.get("createdAt") or now, "createdBy": given.get("createdBy") or created_by}


# --- PATCH semantics (G19), shared by PATCH, bulk and a repost's modifiedPayload -------------------

PATCH_FIELDS = (
    "firstName", "lastName", "email", "phone", "country", "address", "dateOfBirth", "timezone",
    "timezoneSource", "questionnaire", "deleteQuestionnaireKeys", "notes", "customFields", "attribution",
    "compliance", "status", "detail", "flags", "approval", "campaign", "tags", "clientLeadId",
    "repostedTo", "latestSubmittedAt", "lastActivityAt", "deliveredAt", "submissionCount",
)
# Objects a PATCH merges into (one level deep) rather than replaces: a partial update of an address
# or of the attribution must not wipe the sub-fields it does not mention.
_MERGED_OBJECTS = ("address", "attribution", "compliance", "customFields", "flags", "approval")
_DERIVED_FLAGS = ("isDnc",)
_EMPTY_APPROVAL = {"status": "pending", "campaignId": None, "decidedBy": None, "decidedAt": None, "reason": None}


def settable_flags(flags: dict | None) -> dict:
    """The flags a caller may set: ``isDnc`` is derived from the DNC record, so a given one is dropped."""
    return {key: value for key, value in (flags or {}).items() if key not in _DERIVED_FLAGS}


def patch_rule_problems(patch: dict, prefix: str = "") -> list[str]:
    """The rules a JSON schema cannot say, for any PATCH-shaped dict (``prefix``: where it sits)."""
    at = f"{prefix}." if prefix else ""
    problems = phone_problems(patch.get("phone"), f"{at}phone")
    problems += timezone_problems(patch.get("timezone"), f"{at}timezone")
    return problems


def apply_patch(lead: dict, patch: dict, *, now: str, new_note_id, labels: dict,
                campaign: dict | None = None) -> dict:
    """Apply a validated PATCH to ``lead`` in place and return it.

    ``new_note_id()`` hands out note ids, ``labels`` maps field-library keys to question labels,
    ``campaign`` is the resolved campaign when the patch names one. Keys outside ``PATCH_FIELDS`` are
    ignored (G6). The only side effect is ``updatedAt`` (G19).
    """
    for key, value in patch.items():
        if key not in PATCH_FIELDS or key in ("questionnaire", "deleteQuestionnaireKeys", "notes", "campaign"):
            continue
        if key == "phone" and isinstance(value, str):
            value = stored_phone(value)
        if key in _MERGED_OBJECTS and isinstance(value, dict):
            value = settable_flags(value) if key == "flags" else value
            base = lead.get(key) or (dict(_EMPTY_APPROVAL) if key == "approval" else {})
            value = {**base, **copy.deepcopy(value)}
        lead[key] = copy.deepcopy(value)
    if isinstance(patch.get("timezone"), str) and "timezoneSource" not in patch:
        lead["timezoneSource"] = "user_input"  # a time zone someone typed in is user input (G23)
    if campaign is not None:
        lead["campaign"] = campaign_summary(campaign)
    if patch.get("deleteQuestionnaireKeys"):
        # Deleting first lets one PATCH replace a key's item cleanly by deleting and re-adding it.
        doomed = set(patch["deleteQuestionnaireKeys"])
        lead["questionnaire"] = [item for item in lead["questionnaire"] if item["key"] not in doomed]
    if patch.get("questionnaire"):
        incoming = questionnaire_items(patch["questionnaire"])
        lead["questionnaire"] = merge_questionnaire(lead["questionnaire"], incoming, labels)
    for note in patch.get("notes") or []:
        lead["notes"].append(note_item(note, new_note_id(), now))
    lead["updatedAt"] = now
    return lead


# --- GET /leads: filters and the cursor walk (G14) -------------------------------------------------

def _iso(moment: datetime) -> str:
    # The stored timestamp format (clock.iso); equal formats let createdAt compare as text.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_PHONE_TEXT = re.compile(r"^[\d\s\-().+]+$")


@dataclass(frozen=True)
class LeadFilter:
    campaign_ids: frozenset | None = None
    client_ids: frozenset | None = None
    offer_ids: frozenset | None = None
    statuses: frozenset | None = None
    search: str | None = None
    start: str | None = None   # ISO instants; createdAt strings share the format, so they compare as text
    end: str | None = None

    def matches(self, lead: dict) -> bool:
        campaign = lead.get("campaign") or {}
        if self.campaign_ids is not None and campaign.get("campaignId") not in self.campaign_ids:
            return False
        if self.client_ids is not None and campaign.get("clientId") not in self.client_ids:
            return False
        if self.offer_ids is not None and campaign.get("offerId") not in self.offer_ids:
            return False
        if self.statuses is not None and lead.get("status") not in self.statuses:
            return False
        if self.start is not None and lead["createdAt"] < self.start:
            return False
        if self.end is not None and lead["createdAt"] > self.end:
            return False
        return self.search is None or search_matches(self.search, lead)


def search_matches(text: str, lead: dict) -> bool:
    """Case-insensitive substring of the full name, email or leadId; digits of the phone when the
    text looks like a phone number (so ``lead_2x`` does not match every phone with a 2)."""
    needle = text.strip().casefold()
    if not needle:
        return True
    name = f"{lead.get('firstName') or ''} {lead.get('lastName') or ''}".casefold()
    if needle in name or needle in (lead.get("email") or "").casefold() or needle in lead["leadId"].casefold():
        return True
    wanted = phones.digits(needle)
    return bool(wanted) and bool(_PHONE_TEXT.match(needle)) and wanted in phones.digits(lead.get("phone") or "")


def _comma_list(raw) -> frozenset | None:
    if raw is None:
        return None
    values = raw if isinstance(raw, list) else str(raw).split(",")
    return frozenset(v.strip() for v in values if v.strip()) or None


def _instant(name: str, raw, end_of_day: bool, problems: list[str]) -> str | None:
    if raw is None or str(raw).strip() == "":
        return None
    text = str(raw).strip()
    try:
        moment = parse_instant(text)
    except OutOfRange as exc:  # e.g. 0001-01-01T00:00:00+01:00: before year 1 in UTC
        problems.append(f"{name}: {exc}")
        return None
    except ValueError:
        # The spec's pattern has checked the form; what is left is a day that does not exist.
        problems.append(f"{name}: {text} is not a calendar date")
        return None
    if end_of_day and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        moment += timedelta(days=1, seconds=-1)  # a bare end date includes that whole day
    return _iso(moment)


def parse_list_filter(*, campaign_ids=None, client_ids=None, offer_ids=None, status=None, search=None,
                      start_date=None, end_date=None, problems: list[str]) -> LeadFilter:
    """The filter of a ``GET /leads`` query; appends one problem per bad parameter (G5)."""
    statuses = _comma_list(status)
    if statuses is not None:
        bad = sorted(s for s in statuses if s not in LEAD_STATUSES)
        if bad:
            problems.append(f"status: unknown status {', '.join(repr(s) for s in bad)}; must be one of "
                            + ", ".join(LEAD_STATUSES))
    start = _instant("startDate", start_date, False, problems)
    end = _instant("endDate", end_date, True, problems)
    if start and end and start > end:
        problems.append("endDate: must not be before startDate")
    return LeadFilter(_comma_list(campaign_ids), _comma_list(client_ids), _comma_list(offer_ids), statuses,
                      search if search and search.strip() else None, start, end)


def walk_page(order: list[str], start: int, leads: dict, keep, limit: int) -> tuple[list[dict], bool]:
    """Walk ``order`` backwards from index ``start`` (newest first); return up to ``limit`` leads that
    ``keep`` accepts and whether another one follows. Cost is proportional to what is walked."""
    page: list[dict] = []
    index = start
    while index >= 0:
        lead = leads.get(order[index])
        index -= 1
        if lead is None or not keep(lead):
            continue
        if len(page) == limit:
            return page, True
        page.append(lead)
    return page, False


# --- the engine's rules (G21, §5.15) -----------------------------------------------------------------

# Field-library keys that name a lead field rather than a questionnaire answer.
_LEAD_FIELD_KEYS = {
    "first_name": lambda lead: lead.get("firstName"),
    "last_name": lambda lead: lead.get("lastName"),
    "email": lambda lead: lead.get("email"),
    "phone": lambda lead: lead.get("phone"),
    "date_of_birth": lambda lead: lead.get("dateOfBirth"),
    "country": lambda lead: lead.get("country"),
    "address": lambda lead: lead.get("address"),
    "address_street": lambda lead: (lead.get("address") or {}).get("street"),
    "address_city": lambda lead: (lead.get("address") or {}).get("city"),
    "address_state": lambda lead: (lead.get("address") or {}).get("state"),
    "address_zip": lambda lead: (lead.get("address") or {}).get("zip"),
    "lead_id": lambda lead: lead.get("leadId"),
    "campaign_id": lambda lead: (lead.get("campaign") or {}).get("campaignId"),
    "created_at": lambda lead: lead.get("createdAt"),
    "tcpa_consent": lambda lead: (lead.get("compliance") or {}).get("tcpaConsent"),
    "trusted_form_cert_url": lambda lead: (lead.get("compliance") or {}).get("trustedFormCertUrl"),
    "jornaya_lead_id": lambda lead: (lead.get("compliance") or {}).get("jornayaLeadId"),
    "ip_address": lambda lead: (lead.get("attribution") or {}).get("ipAddress"),
    "is_test": lambda lead: (lead.get("flags") or {}).get("isTest"),
    "is_dnc": lambda lead: (lead.get("flags") or {}).get("isDnc"),
    "is_duplicate": lambda lead: (lead.get("flags") or {}).get("isDuplicate"),
}


def _age(date_of_birth, now: datetime) -> int | None:
    try:
        born = datetime.strptime(str(date_of_birth), "%Y-%m-%d")
    except ValueError:
        return None
    return now.year - born.year - ((now.month, now.day) < (born.month, born.day))


def field_value(lead: dict, key: str, files: dict, now: datetime):
    """A field-library key's value on a lead: lead field, questionnaire answer, custom field, UTM
    parameter or attached file; ``age`` falls back to the date of birth. None when absent."""
    if key in _LEAD_FIELD_KEYS:
        return _LEAD_FIELD_KEYS[key](lead)
    for item in lead.get("questionnaire") or []:
        if item["key"] == key:
            return item.get("answer")
    if key in (lead.get("customFields") or {}):
        return lead["customFields"][key]
    params = (lead.get("attribution") or {}).get("params") or {}
    if key in params:
        return params[key]
    if key in files:
        return files[key]
    if key == "age":
        return _age(lead.get("dateOfBirth"), now)
    return None


def _is_empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def missing_fields(lead: dict, required: list[str], files: dict, now: datetime) -> list[str]:
    return [key for key in required if _is_empty(field_value(lead, key, files, now))]


def _number(value):
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _compare(operator: str, actual, expected) -> bool:
    if operator == "is_empty":
        return _is_empty(actual)
    if operator == "is_not_empty":
        return not _is_empty(actual)
    if actual is None:
        return False
    if operator in ("less_than", "greater_than", "less_than_or_equal", "greater_than_or_equal"):
        left, right = _number(actual), _number(expected)
        if left is None or right is None:
            return False
        return {"less_than": left < right, "greater_than": left > right,
                "less_than_or_equal": left <= right, "greater_than_or_equal": left >= right}[operator]
    text, wanted = str(actual).casefold(), str(expected).casefold()
    if operator == "equals":
        return actual == expected or text == wanted
    if operator == "not_equals":
        return not (actual == expected or text == wanted)
    if operator == "contains":
        return wanted in text
    if operator == "not_contains":
        return wanted not in text
    if operator in ("in", "not_in"):
        options = {str(v).casefold() for v in (expected if isinstance(expected, list) else [expected])}
        return (text in options) == (operator == "in")
    return False


def matching_disqualify_rule(lead: dict, rules: list[dict], files: dict, now: datetime) -> dict | None:
    """The first disqualification rule the lead matches, if any."""
    for rule in rules or []:
        actual = field_value(lead, rule.get("field", ""), files, now)
        if _compare(rule.get("operator", "equals"), actual, rule.get("value")):
            return rule
    return None


def duplicate_of(lead: dict, campaign_id: str, candidates, window_days: int, now: datetime) -> str | None:
    """G21: the leadId of another non-test lead of the same campaign with the same email
    (case-insensitive) or the same phone digits, created within the window; else None.

    ``candidates`` must be the leads created *before* this one: of two leads submitted in the same
    second, the first is the original and only the second is its duplicate."""
    cutoff = _iso(now - timedelta(days=window_days))
    email = (lead.get("email") or "").strip().casefold()
    digits = phones.digits(lead.get("phone") or "")
    for other in candidates:
        if other["leadId"] == lead["leadId"] or other["flags"].get("isTest"):
            continue
        if (other.get("campaign") or {}).get("campaignId") != campaign_id or other["createdAt"] < cutoff:
            continue
        same_email = bool(email) and (other.get("email") or "").strip().casefold() == email
        same_phone = len(digits) >= MIN_PHONE_DIGITS and phones.digits(other.get("phone") or "") == digits
        if same_email or same_phone:
            return other["leadId"]
    return None
