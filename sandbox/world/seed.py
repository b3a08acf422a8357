"""The generated seed world: a believable, deterministic tenant from ``--seed``.

Content (names, addresses, statuses) depends only on the seed, so every tenant of a sandbox sees
the same people; ids come from each tenant's own id factory, so they differ per tenant. The one
thing a reader might get wrong: lead phone numbers avoid the scenario numbers (``+1212555010X``),
so no seeded lead triggers a forced outcome by accident.
"""

from __future__ import annotations

from datetime import datetime

from faker import Faker

from ..domain import phones
from ..ids import seeded_rng
from ..scenarios import TABLE

_FAKER = Faker("en_US")

# Area codes across US time zones, so operating hours differ per lead.
AREA_CODES = ("212", "305", "404", "312", "214", "713", "303", "602", "415", "213", "206", "907", "808")
ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
         "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu")
STATUS_WEIGHTS = {
    "new": 10, "pending": 2, "processing": 1, "qualified": 4, "disqualified": 3, "missing_data": 1,
    "queued": 2, "pending_action": 3, "no_answer": 4, "voicemail": 3, "contacted": 4,
    "scheduled_callback": 2, "no_contact": 2, "document_sent": 1, "signed": 1, "delivered": 4,
    "accepted": 2, "duplicate": 1, "failed": 2, "error": 1, "rejected": 1,
}
CAMPAIGN_WEIGHTS = {"HXZ": 20, "U4D": 15, "SLR": 5, "DRW": 10}
QUESTIONS = {
    "HXZ": [("vehicle_year", "What year is your vehicle?", lambda r: r.randint(2008, 2025)),
            ("homeowner", "Do you own your home?", lambda r: r.choice([True, False]))],
    "U4D": [("injury_type", "What kind of injury did you suffer?",
             lambda r: r.choice(["whiplash", "fracture", "back injury", "concussion"])),
            ("accident_date", "When did the accident happen?",
             lambda r: f"2025-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}")],
    "SLR": [("monthly_electric_bill", "About how much is your monthly electric bill?", lambda r: r.randint(80, 400)),
            ("homeowner", "Do you own your home?", lambda r: True)],
    "DRW": [("age", "How old are you?", lambda r: r.randint(21, 75))],
}
SCENARIO_INPUTS = {row[1] for row in TABLE}


def _base() -> dict:
    return {
        "settings": {"smsProvider": "vonage", "timezone": "America/New_York"},
        "clients": [
            {"clientId": "cli_acme", "name": "Acme Insurance", "abbrev": "ACM", "contactName": "Dana Whitfield",
             "contactEmail": "dana@acme-insurance.example.com", "contactPhone": "+12125550142",
             "address": {"street": "500 Congress Ave", "city": "Austin", "state": "TX", "zip": "78701",
                         "country": "US"},
             "settings": {"defaultPostingUrl": "https://api.acme-insurance.example.com/leads",
                          "maxLeadsPerDay": 200, "acceptDuplicates": False}, "tags": ["insurance"]},
            {"clientId": "cli_brightside", "name": "Brightside Legal", "abbrev": "BSL",
             "contactName": "Marcus Lee", "contactEmail": "intake@brightside-legal.example.com",
             "address": {"street": "77 W Wacker Dr", "city": "Chicago", "state": "IL", "zip": "60601", "country": "US"},
             "settings": {"defaultPostingUrl": "https://brightside-legal.example.com/intake"}, "tags": ["legal"]},
            {"clientId": "cli_cobalt", "name": "Cobalt Solar", "abbrev": "CBS",
             "contactEmail": "leads@cobalt-solar.example.com", "tags": ["solar"]},
            {"clientId": "cli_delta", "name": "Delta Debt Relief", "abbrev": "DDR", "active": False,
             "contactEmail": "ops@delta-debt.example.com", "tags": ["finance"]},
        ],
        "offers": [
            {"offerId": "off_auto", "name": "Auto Quote", "abbrev": "AQ", "clientId": "cli_acme"},
            {"offerId": "off_tort", "name": "Mass Tort Intake", "abbrev": "MTI", "clientId": "cli_brightside"},
            {"offerId": "off_solar", "name": "Home Solar", "abbrev": "HS", "clientId": "cli_cobalt"},
            {"offerId": "off_debt", "name": "Debt Consolidation", "abbrev": "DC", "clientId": "cli_delta"},
        ],
        "phoneNumbers": [
            {"number": "+18335645667", "provider": "vonage", "smsCapable": True, "voiceCapable": True},
            {"number": "+18335645668", "provider": "vonage", "smsCapable": True, "voiceCapable": True},
            {"number": "+18335645669", "provider": "twilio", "smsCapable": True, "voiceCapable": False},
            {"number": "+18335645670", "provider": "vonage", "smsCapable": False, "voiceCapable": True},
        ],
        "voiceAgents": [
            {"agentId": "agent_ava", "name": "Ava (production)", "phoneNumber": "+18335645668"},
            {"agentId": "agent_ava_test", "name": "Ava (test)", "isTest": True},
            {"agentId": "agent_max", "name": "Max (intake)", "phoneNumber": "+18335645670",
             "inbound": {"enabled": True, "campaignIds": ["U4D", "HXZ"]}},
        ],
        "smsAgents": [
            {"smsAgentId": "smsagent_sam", "name": "Sam", "provider": "twilio", "phoneNumber": "+18335645669",
             "webhookUrl": None, "batchWindowMs": 7000,
             "inbound": {"enabled": True, "campaignIds": ["HXZ", "U4D"]}},
        ],
        "campaigns": [
            {"campaignId": "HXZ", "name": "Auto Insurance Quotes", "clientId": "cli_acme", "offerId": "off_auto",
             "managerId": "mgr_jordan", "voiceAgentId": "agent_ava", "testVoiceAgentId": "agent_ava_test",
             "smsAgentId": "smsagent_sam", "phoneNumber": "+18335645667", "timezone": "America/New_York",
             "requiredFields": ["first_name", "last_name", "email", "phone", "vehicle_year"]},
            {"campaignId": "U4D", "name": "Mass Tort Intake", "clientId": "cli_brightside", "offerId": "off_tort",
             "managerId": "mgr_riley", "voiceAgentId": "agent_max", "timezone": "America/Chicago",
             "firstSubmissionAction": {"type": "human_review"},
             "requiredFields": ["first_name", "last_name", "phone", "injury_type"],
             "autoDialer": {"maxAttempts": 4, "minGapMinutes": 120}},
            {"campaignId": "SLR", "name": "Home Solar Appointments", "clientId": "cli_cobalt", "offerId": "off_solar",
             "active": False, "voiceAgentId": "agent_ava", "timezone": "America/Los_Angeles",
             "autoDialer": {"active": False}},
            {"campaignId": "DRW", "name": "Debt Relief Web Leads", "clientId": "cli_delta", "offerId": "off_debt",
             "timezone": "America/Denver", "smsProvider": "twilio",
             "disqualifyRules": [{"name": "Under 21", "field": "age", "operator": "less_than", "value": 21}]},
            {"campaignId": "LGA", "name": "Legacy Auto (archived)", "clientId": "cli_acme", "offerId": "off_auto",
             "active": False, "archivedAt": "2025-12-01T00:00:00Z", "voiceAgentId": "agent_ava"},
        ],
        "documentTemplates": [
            {"templateId": "tpl_retainer", "name": "Retainer Agreement", "fileKey": "retainerSigning",
             "campaignIds": ["U4D"]},
            {"templateId": "tpl_solar", "name": "Solar Proposal", "fileKey": "solar_proposal", "campaignIds": ["SLR"]},
        ],
    }


def _weighted(rng, weights: dict) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _phone(rng) -> str:
    while True:
        number = f"+1{rng.choice(AREA_CODES)}{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"
        if number not in SCENARIO_INPUTS and phones.is_valid_e164(number):
            return number


def generate_world(seed: int, now: datetime, lead_count: int = 50) -> dict:
    """The seed world document; ``now`` is accepted for symmetry with fixtures (ages are relative)."""
    rng = seeded_rng(seed, "world")
    _FAKER.seed_instance(seed)
    world = _base()
    leads = []
    for index in range(lead_count):
        code = _weighted(rng, CAMPAIGN_WEIGHTS)
        first, last = _FAKER.first_name(), _FAKER.last_name()
        phone = _phone(rng)
        lead = {
            "campaignId": code, "firstName": first, "lastName": last,
            "email": f"{first}.{last}{rng.randint(1, 99)}@{_FAKER.free_email_domain()}".lower(),
            "phone": phone, "status": _weighted(rng, STATUS_WEIGHTS) if code != "SLR" else "new",
            "ageMinutes": rng.randint(30, 30 * 24 * 60), "country": "US",
            "address": {"street": _FAKER.street_address(), "unit": None, "city": _FAKER.city(),
                        "state": _FAKER.state_abbr(), "zip": _FAKER.zipcode(), "country": "US"},
            # Not faker.date_of_birth: it reads today's date, which would make the world change daily.
            "dateOfBirth": f"{rng.randint(1946, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "questionnaire": [{"key": key, "question": question, "answer": answer(rng)}
                              for key, question, answer in QUESTIONS[code]],
            "attribution": {"params": {"utm_source": rng.choice(["google", "facebook", "tiktok"])},
                            "captureUrl": f"https://quotes.example.com/{code.lower()}",
                            "ipAddress": _FAKER.ipv4_public(), "userAgent": _FAKER.user_agent()},
            "compliance": {"tcpaConsent": True},
        }
        if rng.random() < 0.25:
            lead["timezone"] = rng.choice(ZONES)
        if index in (3, 17, 29):
            lead["dnc"] = [["phone"], ["sms"], ["phone", "sms"]][(3, 17, 29).index(index)]
            lead["dncReason"] = "requested by the lead"
        if index in (8, 41):
            lead["isTest"] = True
        leads.append(lead)
    world["leads"] = leads
    return world
