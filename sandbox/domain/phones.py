"""Phone numbers: E.164 validation, digit counting, and time zone from a number.

Uses the ``phonenumbers`` library (Google's libphonenumber metadata) rather than a regex: a number
can be well-formed E.164 and still not exist (``+15550000000`` has no valid area code), and the
time zone of a number needs the carrier metadata a regex cannot know. The one thing a reader might
get wrong: ``+1555...`` is *invalid* (555 is no area code), so sandbox scenario numbers use real
area codes with the fictional 555-01XX exchange (``+12125550101``), which validate like real ones.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import timezone as phone_timezone

_NON_DIGITS = re.compile(r"[^0-9]")


def digits(text: str) -> str:
    return _NON_DIGITS.sub("", text or "")


def is_valid_e164(number: str | None) -> bool:
    if not number or not number.startswith("+") or number != "+" + digits(number):
        return False
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(parsed)


def to_e164(text: str | None, default_region: str = "US") -> str | None:
    """Best-effort E.164 form of a lead's phone as typed (``+1 (555) 123-4567``); None if invalid."""
    if not text:
        return None
    try:
        parsed = phonenumbers.parse(text, None if text.strip().startswith("+") else default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def timezone_for(number: str | None) -> str | None:
    """The IANA zone of a number when the metadata names exactly one (an area code), else None."""
    e164 = to_e164(number)
    if not e164:
        return None
    zones = phone_timezone.time_zones_for_number(phonenumbers.parse(e164, None))
    zones = [z for z in zones if z != "Etc/Unknown"]
    return zones[0] if len(zones) == 1 else None
