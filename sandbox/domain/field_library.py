"""The field library: the tenant-wide registry of internal field keys (docs §4.7, §5.22, G36).

``STANDARD_FIELDS`` is what every seeded tenant starts with; the seed world copies it into
``state.field_library`` and adds ``createdAt``/``updatedAt``. The library is read-only through the
public API. The one thing a reader might get wrong: ``validationRules`` carries only the rules that
apply to an entry (every sub-field is optional, G36) — a boolean flag has no ``maxLength`` and an
empty ``{}`` is a valid rule set. A few ``custom`` entries are tenant-defined (``isStandard``
false), and one of them is inactive, so the ``active`` filter has something to filter.
"""

from __future__ import annotations

CATEGORIES = ("question", "file", "system", "contact", "attribution", "compliance", "flags", "custom")
DATA_TYPES = ("string", "number", "boolean", "date", "file")

_DATE = r"^\d{4}-\d{2}-\d{2}$"


def _entry(key: str, label: str, category: str, data_type: str, rules: dict | None = None, *,
           standard: bool = True, active: bool = True) -> dict:
    return {"key": key, "label": label, "category": category, "dataType": data_type,
            "validationRules": dict(rules or {}), "isStandard": standard, "active": active}


STANDARD_FIELDS: list[dict] = [
    # contact ↔ the lead's contact fields
    _entry("first_name", "First Name", "contact", "string", {"required": True, "minLength": 1, "maxLength": 100}),
    _entry("last_name", "Last Name", "contact", "string", {"required": True, "minLength": 1, "maxLength": 100}),
    _entry("email", "Email", "contact", "string",
           {"required": True, "pattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "maxLength": 254}),
    _entry("phone", "Phone", "contact", "string",
           {"required": True, "pattern": r"^[\d\s\-\(\)\.+]+$", "minLength": 10}),
    _entry("date_of_birth", "Date of Birth", "contact", "date", {"pattern": _DATE}),
    _entry("address_street", "Street Address", "contact", "string", {"maxLength": 200}),
    _entry("address_city", "City", "contact", "string", {"maxLength": 100}),
    _entry("address_state", "State", "contact", "string", {"pattern": r"^[A-Z]{2}$"}),
    _entry("address_zip", "ZIP Code", "contact", "string", {"pattern": r"^\d{5}(-\d{4})?$"}),
    # question ↔ questionnaire answers
    _entry("age", "Age", "question", "number", {"min": 0, "max": 120}),
    _entry("accident_date", "Accident Date", "question", "date", {"pattern": _DATE}),
    _entry("injury_type", "Injury Type", "question", "string", {"maxLength": 100}),
    _entry("at_fault", "Were You at Fault?", "question", "boolean"),
    _entry("has_attorney", "Do You Already Have an Attorney?", "question", "boolean"),
    _entry("vehicle_year", "Vehicle Year", "question", "number", {"min": 1950, "max": 2030}),
    _entry("homeowner", "Homeowner", "question", "boolean"),
    _entry("monthly_electric_bill", "Monthly Electric Bill", "question", "number", {"min": 0, "max": 10000}),
    # file ↔ files attached to the lead (the key doubles as a fileKey)
    _entry("retainer_document", "Retainer Document", "file", "file"),
    _entry("proof_of_income", "Proof of Income", "file", "file"),
    # system ↔ metadata the platform writes
    _entry("lead_id", "Lead ID", "system", "string", {"required": True}),
    _entry("campaign_id", "Campaign ID", "system", "string", {"pattern": r"^[A-Z0-9]{2,5}$"}),
    _entry("created_at", "Created At", "system", "date"),
    # attribution ↔ lead.attribution
    _entry("utm_source", "UTM Source", "attribution", "string", {"maxLength": 255}),
    _entry("utm_medium", "UTM Medium", "attribution", "string", {"maxLength": 255}),
    _entry("utm_campaign", "UTM Campaign", "attribution", "string", {"maxLength": 255}),
    _entry("ip_address", "IP Address", "attribution", "string"),
    # compliance ↔ lead.compliance
    _entry("tcpa_consent", "TCPA Consent", "compliance", "boolean", {"required": True}),
    _entry("trusted_form_cert_url", "TrustedForm Certificate URL", "compliance", "string",
           {"pattern": r"^https://cert\.trustedform\.com/"}),
    _entry("jornaya_lead_id", "Jornaya LeadiD", "compliance", "string", {"maxLength": 64}),
    # flags ↔ lead.flags
    _entry("is_test", "Is Test Lead", "flags", "boolean"),
    _entry("is_dnc", "Is Do Not Contact", "flags", "boolean"),
    _entry("is_duplicate", "Is Duplicate", "flags", "boolean"),
    # custom ↔ lead.customFields (tenant-defined)
    _entry("preferred_contact_time", "Preferred Contact Time", "custom", "string", {"maxLength": 50},
           standard=False),
    _entry("legacy_lead_score", "Legacy Lead Score", "custom", "number", {"min": 0, "max": 100},
           standard=False, active=False),
]
