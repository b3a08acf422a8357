"""What each profile may send, and which profile a target gets by default.

``full`` sends anything the spec allows, to every operation. ``safe`` is what a partner can point at
production: no operation with a real-world effect runs, and every write carries the documented test
flags and a marker so the records it creates can be found and removed afterwards. The one thing a
reader might get wrong: the ``PINS`` below are *both* the generator's steering and the guard's rule
(``safety.py``) — a request body that does not satisfy its operation's pin is never sent, whatever
produced it (fuzzer, probe, link or journey), so a pin must describe exactly what is allowed.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# Patterns end in `(?!\n)$`: Python's `$` also matches before a final newline, so the generator would
# draw "…\n" values the guard (and the target) read differently (stack-notes §6.4).
# NANP reserves 555-0100..555-0199 for fiction: a number no real phone answers.
FICTIONAL_PHONE = r"^\+1[2-9][0-9]{2}55501[0-9]{2}(?!\n)$"
# `.example` is reserved (RFC 2606); the domain is the marker that finds the suite's leads again
# (`GET /api/v1/leads?search=leadsail-contracts.example`).
MARKER_DOMAIN = "leadsail-contracts.example"
MARKER_EMAIL = r"^[a-z][a-z0-9]{0,15}@leadsail-contracts\.example(?!\n)$"
TEST_EVENT_CODE = r"^TEST[0-9]{3,8}(?!\n)$"
SAFE_URL = r"^https://example\.com/[a-z0-9_./-]{0,40}(?!\n)$"

# A value of each pattern above, for the spec's own examples (`spec.for_profile` rewrites them).
SAMPLES = {FICTIONAL_PHONE: "+12125550142", MARKER_EMAIL: "jane@leadsail-contracts.example",
           TEST_EVENT_CODE: "TEST12345", SAFE_URL: "https://example.com/files/contract.pdf"}

_CONTACT = {"phone": {"type": "string", "pattern": FICTIONAL_PHONE},
            "email": {"type": "string", "pattern": MARKER_EMAIL}}

# Body constraints per operationId, as JSON Schema; added to the request schema with `allOf`.
PINS: dict[str, dict] = {
    "createLead": {"required": ["flags", "email", "phone"], "properties": {
        **_CONTACT,
        "flags": {"type": "object", "required": ["isTest"], "properties": {"isTest": {"enum": [True]}}}}},
    "submitLead": {"required": ["isTest"], "properties": {**_CONTACT, "isTest": {"enum": [True]}}},
    "updateLead": {"properties": {
        **_CONTACT,
        "flags": {"type": "object", "properties": {"isTest": {"enum": [True]}}}}},
    "initiateCall": {"required": ["isTest"], "properties": {
        "isTest": {"enum": [True]}, "phone": {"type": "string", "pattern": FICTIONAL_PHONE}}},
    "firePixel": {"required": ["testEventCode"], "properties": {
        "testEventCode": {"type": "string", "pattern": TEST_EVENT_CODE}}},
    "upsertFile": {"properties": {"documentUrl": {"type": "string", "pattern": SAFE_URL},
                                  "signingUrl": {"type": "string", "pattern": SAFE_URL}}},
}

# Operations with a real-world effect that no test flag neutralises: texts, signing requests,
# deliveries to clients, approvals, bulk edits of leads the suite does not own, and the auto-dialer
# (which places calls later, outside the suite's control).
REAL_WORLD_EFFECTS = frozenset({
    "sendSms", "sendDocument", "deliverLead", "repostLead", "approveLead", "bulkUpdateLeads",
    "sendLeadsToAutoDialer",
})

# Request fields that name a record the request would change.
RECORD_ID_FIELDS = ("leadId", "submissionId", "interactionId", "leadIds")
# Responses that hand out records the suite itself created (under the pins above).
OWNERSHIP = {"createLead": ("leadId", "submissionId"), "submitLead": ("leadId", "submissionId"),
             "initiateCall": ("interactionId",)}


@dataclass(frozen=True)
class Profile:
    name: str
    excluded: frozenset[str] = frozenset()
    pins: dict[str, dict] = field(default_factory=dict)
    # Writes may only name records the suite created, or ids it has never seen (random fuzz ids).
    guard_records: bool = False
    rate_limit: str | None = None     # per operation, schemathesis syntax ("10/s", "100/m")


FULL = Profile("full")
SAFE = Profile("safe", excluded=REAL_WORLD_EFFECTS, pins=PINS, guard_records=True, rate_limit="5/s")
PROFILES = {"full": FULL, "safe": SAFE}


def conform(value, pin: dict):
    """``value`` (a spec example) changed just enough to satisfy ``pin``."""
    if "enum" in pin:
        return pin["enum"][0]
    if "pattern" in pin:
        return SAMPLES[pin["pattern"]]
    if "properties" not in pin:
        return value
    value = dict(value) if isinstance(value, dict) else {}
    for name, sub in pin["properties"].items():
        if name in value or name in pin.get("required", ()):
            value[name] = conform(value.get(name), sub)
    return value


class ProfileRefused(Exception):
    """The requested profile is not allowed against this target without an explicit flag."""


def is_local(base_url: str) -> bool:
    """Loopback only: a staging host on a private network is someone else's data all the same."""
    host = (urlsplit(base_url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def choose(requested: str | None, base_url: str, allow_full_on_remote: bool) -> Profile:
    """``full`` locally and ``safe`` elsewhere unless told; ``full`` elsewhere needs the extra flag."""
    local = is_local(base_url)
    name = requested or ("full" if local else "safe")
    if name == "full" and not local and not allow_full_on_remote:
        raise ProfileRefused(
            f"--profile full against {urlsplit(base_url).hostname} would place real calls, texts and "
            "deliveries; add --allow-full-on-remote if that target is disposable")
    return PROFILES[name]
