"""Leads through the public API: list/create/get/patch/bulk, submit and the engine on the clock,
manual delivery, approval, repost, and tenant isolation.

Seed facts used: 50 leads; campaign HXZ delivers immediately and requires ``vehicle_year``; U4D's
first submission action is human review and it requires ``injury_type``; DRW delivers immediately,
requires only the contact fields and disqualifies anyone under 21. The clock starts at
2026-01-15T15:00:00Z and only moves when a test advances it.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sandbox import scenarios
from sandbox.services import submissions as submission_service
from tests.conftest import advance, data, error

START = "2026-01-15T15:00:00Z"
NO_KEY = {"X-API-Key": ""}
LEAD_FIELDS = ["leadId", "campaign", "approval", "firstName", "lastName", "email", "phone", "country",
               "address", "dateOfBirth", "timezone", "timezoneSource", "notes", "questionnaire", "attribution",
               "compliance", "customFields", "status", "detail", "flags", "tags", "clientLeadId", "repostedTo",
               "latestSubmittedAt", "lastActivityAt", "deliveredAt", "submissionCount", "createdAt", "updatedAt"]
DETAILS_400 = {"code": "VALIDATION_ERROR", "message": "Invalid input data"}
NOT_FOUND = {"success": False, "error": {"code": "NOT_FOUND", "message": "Resource not found"}}
UNAUTHORIZED = {"success": False, "error": {"code": "UNAUTHORIZED", "message": "Authentication required"}}
SUBMIT_TAGS = [(magic, outcome) for area, magic, outcome, _ in scenarios.TABLE if area == scenarios.SUBMIT]


def new_body(**changes) -> dict:
    body = {"campaignId": "DRW", "firstName": "jane", "lastName": "SMITH", "email": "Jane.Smith@Example.com",
            "phone": "(303) 555-0199"}
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


def submit(client, **changes) -> dict:
    return data(client.post("/api/v1/leads/submit", json=new_body(**changes)))


def create(client, **changes) -> dict:
    return data(client.post("/api/v1/leads", json=new_body(**changes)))


def get_lead(client, lead_id: str) -> dict:
    return data(client.get(f"/api/v1/leads/{lead_id}"))


def submissions_of(client, lead_id: str) -> list[dict]:
    return data(client.get(f"/api/v1/leads/{lead_id}/submissions"))["submissions"]


def details(response) -> list[str]:
    body = error(response, 400, "VALIDATION_ERROR")
    assert {k: body[k] for k in ("code", "message")} == DETAILS_400
    return body["details"]


def effects_for(ran: dict, lead_id: str) -> list[tuple[str, str]]:
    """(job, status) of every engine step that ran for the lead, in order."""
    return [(entry["job"], effect.get("status", effect.get("skipped")))
            for entry in ran["ran"] for effect in entry["effects"] if effect.get("leadId") == lead_id]


def delivered_lead(client, **changes) -> str:
    lead_id = submit(client, **changes)["leadId"]
    advance(client, 60)
    assert get_lead(client, lead_id)["status"] == "delivered"
    return lead_id


def failed_lead(client) -> str:
    lead_id = submit(client, email="jane+deliveryfail@example.com")["leadId"]
    advance(client, 60)
    assert get_lead(client, lead_id)["status"] == "failed"
    return lead_id


def reviewed_lead(client) -> str:
    """A U4D lead waiting for human review (status pending_action, approval pending)."""
    lead_id = submit(client, campaignId="U4D", questionnaire={"injury_type": "whiplash"})["leadId"]
    advance(client, 60)
    return lead_id


# --- GET /leads ---------------------------------------------------------------------------------------

def test_list_defaults_to_twenty_newest_first(client):
    page = data(client.get("/api/v1/leads"))
    assert len(page["leads"]) == 20 and page["hasMore"] is True
    assert page["nextCursor"] == page["leads"][-1]["leadId"]
    created = [lead["createdAt"] for lead in page["leads"]]
    assert created == sorted(created, reverse=True)
    assert list(page["leads"][0]) == LEAD_FIELDS


def test_pagination_walks_every_lead_exactly_once(client):
    made = [create(client, email=f"walker{i}@example.com")["leadId"] for i in range(12)]
    order = data(client.get("/_sandbox/state"))["state"]["lead_order"]
    assert len(order) == 62 and order[-12:] == made
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        page = data(client.get("/api/v1/leads", params=params))
        pages += 1
        seen += [lead["leadId"] for lead in page["leads"]]
        if not page["hasMore"]:
            assert page["nextCursor"] is None
            break
        assert len(page["leads"]) == 7 and page["nextCursor"] == seen[-1]
        cursor = page["nextCursor"]
    assert pages == 9 and len(seen) == 62
    assert seen == list(reversed(order))  # newest first, nothing repeated or skipped


def test_last_page_ends_exactly_on_the_limit(client):
    ids = [create(client, campaignId="HXZ", email=f"x{i}@example.com", lastName="Zyxwvut")["leadId"] for i in range(4)]
    first = data(client.get("/api/v1/leads", params={"search": "zyxwvut", "limit": 2}))
    assert [lead["leadId"] for lead in first["leads"]] == [ids[3], ids[2]] and first["hasMore"] is True
    second = data(client.get("/api/v1/leads", params={"search": "zyxwvut", "limit": 2, "cursor": first["nextCursor"]}))
    assert [lead["leadId"] for lead in second["leads"]] == [ids[1], ids[0]]
    assert second["hasMore"] is False and second["nextCursor"] is None


def test_list_filters_by_campaign_client_offer_and_status(client):
    def ids(**params):
        return [lead["leadId"] for lead in data(client.get("/api/v1/leads", params={"limit": 100, **params}))["leads"]]

    everything = data(client.get("/_sandbox/state"))["state"]["leads"]
    by_campaign = ids(campaignIds="DRW,U4D")
    assert by_campaign and all(everything[i]["campaign"]["campaignId"] in ("DRW", "U4D") for i in by_campaign)
    assert len(by_campaign) == sum(1 for lead in everything.values()
                                   if lead["campaign"]["campaignId"] in ("DRW", "U4D"))
    assert ids(clientIds="cli_acme") == ids(offerIds="off_auto") == ids(campaignIds="HXZ,LGA")
    delivered = ids(status="delivered,accepted")
    assert delivered and all(everything[i]["status"] in ("delivered", "accepted") for i in delivered)
    assert ids(campaignIds="NOPE") == []


def test_list_search_and_date_range(client):
    first = create(client, lastName="Quagmire", email="glenn@example.com", phone="+1 (312) 555-0142")["leadId"]
    advance(client, 86400)
    second = create(client, lastName="Quagmire", email="glenn2@example.com")["leadId"]

    def ids(**params):
        return [lead["leadId"] for lead in data(client.get("/api/v1/leads", params=params))["leads"]]

    assert ids(search="QUAGMIRE") == [second, first]
    assert ids(search="jane quagmire") == [second, first]
    assert ids(search="glenn2@") == [second]
    assert ids(search="312-555-0142") == [first]
    assert ids(search=first.upper()) == [first]
    assert ids(search="quagmire", startDate="2026-01-16") == [second]
    assert ids(search="quagmire", endDate="2026-01-15") == [first]
    assert ids(search="quagmire", startDate="2026-01-15T15:00:00Z", endDate="2026-01-15T15:00:00Z") == [first]


@pytest.mark.parametrize("params, expected", [
    ({"startDate": "yesterday"}, ["startDate: must be an ISO 8601 date (2026-01-15) or date-time (2026-01-15T15:00:00Z)"]),
    ({"startDate": "2026-02-01", "endDate": "2026-01-01"}, ["endDate: must not be before startDate"]),
    ({"cursor": "lead_nope"}, ["cursor: unknown cursor 'lead_nope' (use the nextCursor of the previous page)"]),
])
def test_list_rejects_bad_query_values(client, params, expected):
    assert details(client.get("/api/v1/leads", params=params)) == expected


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_list_rejects_a_limit_out_of_range(client, limit):
    # The wording comes from the spec's pattern or from the service's range check, whichever sees it first.
    found = details(client.get("/api/v1/leads", params={"limit": limit}))
    assert len(found) == 1 and found[0].startswith("limit: must ")


def test_list_rejects_an_unknown_status(client):
    found = details(client.get("/api/v1/leads", params={"status": "new,bogus"}))
    assert len(found) == 1 and found[0].startswith("status: ")


def test_cursor_survives_a_state_export_and_import(client):
    first = data(client.get("/api/v1/leads", params={"limit": 5}))
    document = data(client.get("/_sandbox/state"))
    data(client.put("/_sandbox/state", json=document))
    second = data(client.get("/api/v1/leads", params={"limit": 5, "cursor": first["nextCursor"]}))
    order = document["state"]["lead_order"]
    assert [lead["leadId"] for lead in first["leads"] + second["leads"]] == list(reversed(order))[:10]


def test_list_needs_a_key(client):
    response = client.get("/api/v1/leads", headers=NO_KEY)
    assert response.status_code == 401 and response.json() == UNAUTHORIZED


def test_list_only_shows_the_callers_leads_and_cursors(client, other):
    mine = create(client)["leadId"]
    theirs = [lead["leadId"] for lead in data(other.get("/api/v1/leads", params={"limit": 100}))["leads"]]
    assert mine not in theirs and len(theirs) == 50
    assert details(other.get("/api/v1/leads", params={"cursor": mine}))[0].startswith("cursor: unknown cursor")


# --- POST /leads --------------------------------------------------------------------------------------

def test_create_stores_the_lead_as_given_with_an_import_submission(client):
    created = create(client, campaignId="HXZ", country="US",
                     address={"street": "1 Main St", "city": "Austin", "state": "TX", "zip": "78701"},
                     questionnaire={"vehicle_year": "2019"}, notes=[{"text": "From the list."}],
                     flags={"isTest": True, "isDnc": True}, attribution={"params": {"utm_source": "google"}},
                     compliance={"tcpaConsent": True})
    assert set(created) == {"leadId", "submissionId"}
    lead = get_lead(client, created["leadId"])
    assert list(lead) == LEAD_FIELDS
    assert lead["status"] == "new" and lead["createdAt"] == lead["updatedAt"] == START
    assert (lead["firstName"], lead["lastName"], lead["email"]) == ("jane", "SMITH", "Jane.Smith@Example.com")
    assert lead["phone"] == "+13035550199"
    assert (lead["timezone"], lead["timezoneSource"]) == ("America/Denver", "area_code")
    assert lead["campaign"]["campaignId"] == "HXZ" and lead["campaign"]["clientName"] == "Acme Insurance"
    assert lead["flags"] == {"isDnc": False, "isTest": True, "isDuplicate": False, "isImported": True}
    assert lead["questionnaire"] == [{"key": "vehicle_year", "question": "Vehicle Year", "answer": "2019"}]
    assert [(n["text"], n["createdBy"], n["createdAt"]) for n in lead["notes"]] == [("From the list.", "api", START)]
    assert lead["notes"][0]["id"].startswith("note_")
    assert lead["address"]["city"] == "Austin" and lead["attribution"] == {"params": {"utm_source": "google"}}
    assert lead["submissionCount"] == 1 and lead["latestSubmittedAt"] is None and lead["approval"] is None
    [submission] = submissions_of(client, created["leadId"])
    assert (submission["submissionId"], submission["type"], submission["status"]) == \
        (created["submissionId"], "standard", "new")
    assert effects_for(advance(client, 60), created["leadId"]) == []  # the engine does not run (G18)
    assert get_lead(client, created["leadId"])["status"] == "new"


def test_create_ignores_unknown_fields(client):
    lead_id = create(client, tags=["vip"], dateOfBirth="1990-01-01", bogus=1)["leadId"]
    lead = get_lead(client, lead_id)
    assert lead["tags"] == [] and lead["dateOfBirth"] is None and "bogus" not in lead


def test_create_time_zone_given_or_from_campaign(client):
    given = create(client, timezone="America/Chicago")["leadId"]
    assert (get_lead(client, given)["timezone"], get_lead(client, given)["timezoneSource"]) == \
        ("America/Chicago", "user_input")
    fallback = create(client, campaignId="HXZ", phone="+1 555 000 0000")["leadId"]  # no such area code
    lead = get_lead(client, fallback)
    assert (lead["phone"], lead["timezone"], lead["timezoneSource"]) == \
        ("+1 555 000 0000", "America/New_York", "inferred")


def test_create_rejects_unknown_campaign_and_bad_zone(client):
    response = client.post("/api/v1/leads", json=new_body(campaignId="cmp_abc123", timezone="Mars/Base"))
    assert details(response) == ["campaignId: unknown campaign 'cmp_abc123'",
                                 "timezone: 'Mars/Base' is not an IANA time zone"]


@pytest.mark.parametrize("phone", ["(303) 555-01..", "((((((((((("])
def test_create_needs_ten_digits_in_the_phone(client, phone):
    found = details(client.post("/api/v1/leads", json=new_body(phone=phone)))
    assert len(found) == 1 and found[0].startswith("phone: must contain at least 10 digits")


def test_create_schema_errors_name_each_field(client):
    body = new_body(country="usa", email=None)
    found = details(client.post("/api/v1/leads", json=body))
    assert "email: is required" in found
    assert any(line.startswith("country: ") for line in found)


def test_create_needs_a_key(client):
    response = client.post("/api/v1/leads", json=new_body(), headers=NO_KEY)
    assert response.status_code == 401 and response.json() == UNAUTHORIZED


# --- GET /leads/{leadId} ------------------------------------------------------------------------------

def test_get_unknown_lead_is_404(client):
    response = client.get("/api/v1/leads/lead_nope")
    assert response.status_code == 404 and response.json() == NOT_FOUND


# --- PATCH /leads/{leadId} ----------------------------------------------------------------------------

def test_patch_changes_fields_with_merge_semantics_and_answers_null(client):
    lead_id = create(client, questionnaire=[{"key": "age", "question": "How old?", "answer": 30},
                                            {"key": "homeowner", "answer": True}],
                     address={"street": "1 Main St", "city": "Austin", "state": "TX", "zip": "78701"},
                     notes=[{"text": "one"}])["leadId"]
    advance(client, 30)
    response = client.patch(f"/api/v1/leads/{lead_id}", json={
        "firstName": "Janet", "phone": "312.555.0100", "status": "contacted", "detail": "call back",
        "address": {"city": "Dallas"}, "questionnaire": [{"key": "age", "answer": 31}],
        "deleteQuestionnaireKeys": ["homeowner"], "notes": [{"text": "two"}], "tags": ["vip"],
        "customFields": {"source": "fair"}, "flags": {"isTest": True}, "deliveredAt": None, "unknown": 1})
    assert response.status_code == 200 and response.json() == {"success": True, "data": None}
    lead = get_lead(client, lead_id)
    assert (lead["firstName"], lead["phone"], lead["status"], lead["detail"]) == \
        ("Janet", "+13125550100", "contacted", "call back")
    assert lead["address"] == {"street": "1 Main St", "city": "Dallas", "state": "TX", "zip": "78701"}
    assert lead["questionnaire"] == [{"key": "age", "question": "How old?", "answer": 31}]
    assert [note["text"] for note in lead["notes"]] == ["one", "two"]
    assert lead["tags"] == ["vip"] and lead["customFields"] == {"source": "fair"} and lead["flags"]["isTest"]
    assert lead["updatedAt"] == "2026-01-15T15:00:30Z" and lead["lastActivityAt"] == START
    assert "unknown" not in lead
    assert effects_for(advance(client, 60), lead_id) == []  # no side effects (G19)


def test_patch_can_move_the_lead_and_set_an_approval(client):
    lead_id = create(client)["leadId"]
    data(client.patch(f"/api/v1/leads/{lead_id}", json={
        "campaign": {"campaignId": "HXZ"}, "approval": {"status": "pending", "campaignId": "HXZ"}}))
    lead = get_lead(client, lead_id)
    assert lead["campaign"]["campaignId"] == "HXZ" and lead["campaign"]["name"] == "Auto Insurance Quotes"
    assert lead["approval"] == {"status": "pending", "campaignId": "HXZ", "decidedBy": None, "decidedAt": None,
                                "reason": None}


def test_patch_rejects_rule_breaks_naming_the_field(client):
    lead_id = create(client)["leadId"]
    found = details(client.patch(f"/api/v1/leads/{lead_id}", json={"phone": "(303) 555-01"}))
    assert len(found) == 1 and found[0].startswith("phone: must contain at least 10 digits")
    assert details(client.patch(f"/api/v1/leads/{lead_id}", json={"campaign": {"campaignId": "ZZZ"}})) == \
        ["campaign.campaignId: unknown campaign 'ZZZ'"]
    assert details(client.patch(f"/api/v1/leads/{lead_id}", json={"country": "USA"})) == \
        ["country: must be at most 2 characters long"]
    assert details(client.patch(f"/api/v1/leads/{lead_id}", json={"status": "done"}))[0].startswith(
        "status: must be one of new, pending")


def test_patch_unknown_lead_is_404(client):
    response = client.patch("/api/v1/leads/lead_nope", json={"status": "contacted"})
    assert response.status_code == 404 and response.json() == NOT_FOUND


# --- PATCH /leads/bulk --------------------------------------------------------------------------------

def test_bulk_updates_known_leads_and_skips_unknown_ones(client):
    first, second = create(client)["leadId"], create(client, email="b@example.com")["leadId"]
    result = data(client.patch("/api/v1/leads/bulk", json={
        "leadIds": [first, "lead_nope", second, first],
        "updates": {"status": "contacted", "notes": [{"text": "bulk"}], "tags": ["batch"]}}))
    assert result == {"modifiedCount": 2}
    for lead_id in (first, second):
        lead = get_lead(client, lead_id)
        assert lead["status"] == "contacted" and lead["tags"] == ["batch"]
        assert [note["text"] for note in lead["notes"]] == ["bulk"]  # once, though listed twice
    assert get_lead(client, first)["notes"][0]["id"] != get_lead(client, second)["notes"][0]["id"]


def test_bulk_validates_updates_like_a_patch(client):
    lead_id = create(client)["leadId"]
    assert details(client.patch("/api/v1/leads/bulk", json={"leadIds": [lead_id], "updates": {"bogus": 1}})) == \
        ["updates.bogus: is not an allowed field"]
    found = details(client.patch("/api/v1/leads/bulk", json={"leadIds": [lead_id],
                                                             "updates": {"phone": "(303) 555-01"}}))
    assert len(found) == 1 and found[0].startswith("updates.phone: must contain at least 10 digits")
    assert details(client.patch("/api/v1/leads/bulk", json={"leadIds": [], "updates": {}})) == \
        ["leadIds: must have at least 1 items"]
    assert get_lead(client, lead_id)["status"] == "new"


def test_bulk_cannot_touch_another_tenants_leads(client, other):
    lead_id = create(client)["leadId"]
    result = data(other.patch("/api/v1/leads/bulk", json={"leadIds": [lead_id], "updates": {"status": "dnc"}}))
    assert result == {"modifiedCount": 0} and get_lead(client, lead_id)["status"] == "new"


# --- POST /leads/submit -------------------------------------------------------------------------------

def test_submit_normalises_and_queues_the_lead(client):
    reply = submit(client, firstName="  mary   ann ", lastName="o'neil-SMITH", notes="Call after 5pm.",
                   questionnaire=[{"key": "age", "question": "How old are you?", "answer": 40}],
                   files=[{"fileKey": "retainer_document", "fileName": "retainer.pdf", "fileType": "pdf",
                           "documentUrl": "https://storage.example.com/retainer.pdf"}])
    assert reply["status"] == "pending" and set(reply) == {"leadId", "submissionId", "status"}
    lead = get_lead(client, reply["leadId"])
    assert (lead["firstName"], lead["lastName"], lead["email"], lead["phone"]) == \
        ("Mary Ann", "O'Neil-Smith", "jane.smith@example.com", "+13035550199")
    assert lead["status"] == "pending" and lead["flags"]["isImported"] is False
    assert lead["latestSubmittedAt"] == START and lead["submissionCount"] == 1
    assert [(n["text"], n["createdBy"]) for n in lead["notes"]] == [("Call after 5pm.", "api")]
    assert lead["questionnaire"] == [{"key": "age", "question": "How old are you?", "answer": 40}]
    [submission] = submissions_of(client, reply["leadId"])
    assert (submission["submissionId"], submission["status"], submission["type"], submission["submissionNumber"]) \
        == (reply["submissionId"], "pending", "standard", 1)
    file = data(client.get(f"/api/v1/files/{reply['leadId']}/retainer_document"))
    assert (file["provider"], file["status"], file["createdBySubmissionId"], file["fileName"]) == \
        ("manual_upload", "uploaded", reply["submissionId"], "retainer.pdf")


def test_submit_runs_the_engine_on_the_clock(client):
    reply = submit(client)
    ran = advance(client, 60)
    assert effects_for(ran, reply["leadId"]) == [("submission.process", "processing"),
                                                 ("submission.evaluate", "qualified"),
                                                 ("submission.deliver", "delivered")]
    assert [entry["at"] for entry in ran["ran"] if entry["payload"].get("leadId") == reply["leadId"]] == \
        ["2026-01-15T15:00:01Z", "2026-01-15T15:00:02Z", "2026-01-15T15:00:05Z"]
    lead = get_lead(client, reply["leadId"])
    [submission] = submissions_of(client, reply["leadId"])
    assert lead["status"] == submission["status"] == "delivered"
    assert lead["deliveredAt"] == "2026-01-15T15:00:05Z" and lead["clientLeadId"] == submission["clientLeadId"]
    assert lead["clientLeadId"].startswith("CL-") and lead["lastActivityAt"] == "2026-01-15T15:00:05Z"
    assert submission["qualification"] == {"passed": True, "originalCampaignQualified": True, "score": 100,
                                           "method": "rules", "reason": "all qualification rules passed",
                                           "qualifiedAt": "2026-01-15T15:00:02Z"}
    assert submission["routing"]["wasRouted"] is False and submission["routing"]["routingMethod"] == "original"
    assert submission["routing"]["originalCampaignId"] == submission["routing"]["routedToCampaignId"] == "DRW"
    assert submission["delivery"] == {"success": True, "clientLeadId": lead["clientLeadId"], "statusCode": 200,
                                      "responseMessage": "Lead accepted", "url": "https://client.example.com/leads",
                                      "method": "POST", "bodyFormat": "json", "deliveredAt": "2026-01-15T15:00:05Z"}
    assert submission["posting"]["success"] is True and submission["result"] == "delivered"


def test_lead_mirrors_each_engine_step(client):
    lead_id = submit(client)["leadId"]
    seen = []
    for _ in range(5):
        advance(client, 1)
        seen.append(get_lead(client, lead_id)["status"])
    assert seen == ["processing", "qualified", "qualified", "qualified", "delivered"]


@pytest.mark.parametrize("tag, outcome", SUBMIT_TAGS)
def test_scenario_email_tags_force_the_outcome(client, tag, outcome):
    lead_id = submit(client, email=f"jane{tag}@example.com")["leadId"]
    advance(client, 60)
    lead = get_lead(client, lead_id)
    [submission] = submissions_of(client, lead_id)
    assert lead["status"] == submission["status"] == outcome
    assert lead["deliveredAt"] is None and lead["clientLeadId"] is None
    assert lead["flags"]["isDuplicate"] is (outcome == "duplicate")
    if outcome in ("failed", "rejected"):
        assert submission["delivery"]["success"] is False
        assert submission["delivery"]["statusCode"] == (500 if outcome == "failed" else 200)
        assert submission["qualification"]["passed"] is True
    elif outcome != "error":
        assert submission["qualification"]["passed"] is False and submission["delivery"] is None


def test_scenario_table_covers_every_submit_tag():
    assert {outcome for _, outcome in SUBMIT_TAGS} == \
        {"disqualified", "duplicate", "missing_data", "failed", "rejected", "error"}


def test_duplicate_detection_same_campaign_email_or_phone_within_window(client):
    original = submit(client)["leadId"]
    same_email = submit(client, email="JANE.SMITH@example.com", phone="(720) 555-0101")["leadId"]
    same_phone = submit(client, email="someone.else@example.com", phone="+1 303 555 0199")["leadId"]
    other_campaign = submit(client, campaignId="HXZ", questionnaire={"vehicle_year": 2020})["leadId"]
    test_lead = submit(client, isTest=True)["leadId"]
    advance(client, 60)
    assert get_lead(client, original)["status"] == "delivered"
    for lead_id in (same_email, same_phone):
        lead = get_lead(client, lead_id)
        assert lead["status"] == "duplicate" and lead["flags"]["isDuplicate"] is True
        [submission] = submissions_of(client, lead_id)
        assert submission["qualification"]["reason"] == \
            f"duplicate of {original} within the campaign's 30-day window"
    assert get_lead(client, other_campaign)["status"] == "delivered"
    assert get_lead(client, test_lead)["status"] == "delivered"
    assert get_lead(client, test_lead)["flags"]["isTest"] is True
    advance(client, 31 * 86400)
    late = submit(client)["leadId"]
    advance(client, 60)
    assert get_lead(client, late)["status"] == "delivered"


def test_missing_required_campaign_field_is_missing_data(client):
    lead_id = submit(client, campaignId="HXZ")["leadId"]
    advance(client, 60)
    [submission] = submissions_of(client, lead_id)
    assert submission["status"] == "missing_data" == get_lead(client, lead_id)["status"]
    assert submission["qualification"]["reason"] == "missing required field(s): vehicle_year"


def test_disqualification_rule_matches_age_from_date_of_birth(client):
    lead_id = submit(client, dateOfBirth="2008-03-01")["leadId"]
    advance(client, 60)
    [submission] = submissions_of(client, lead_id)
    assert submission["status"] == "disqualified"
    assert submission["qualification"]["reason"] == "disqualified by rule 'Under 21'"


def test_submit_with_lead_id_reuses_the_stored_lead(client):
    lead_id = create(client, campaignId="HXZ", questionnaire={"vehicle_year": "2018"})["leadId"]
    reply = data(client.post("/api/v1/leads/submit", json={"campaignId": "HXZ", "leadId": lead_id,
                                                           "lastName": "  brown ", "notes": "resubmitted"}))
    assert reply["leadId"] == lead_id and reply["status"] == "pending"
    lead = get_lead(client, lead_id)
    assert (lead["firstName"], lead["lastName"], lead["status"], lead["submissionCount"]) == \
        ("jane", "Brown", "pending", 2)
    advance(client, 60)
    assert [(s["type"], s["status"]) for s in submissions_of(client, lead_id)] == \
        [("standard", "new"), ("standard", "delivered")]
    assert get_lead(client, lead_id)["status"] == "delivered"


def test_submit_rejects_unknown_campaign_or_lead_and_blank_names(client):
    assert details(client.post("/api/v1/leads/submit", json=new_body(campaignId="cmp_abc123", firstName=" ",
                                                                     timezone="Nowhere/Land"))) == \
        ["campaignId: unknown campaign 'cmp_abc123'", "firstName: must not be blank",
         "timezone: 'Nowhere/Land' is not an IANA time zone"]
    assert details(client.post("/api/v1/leads/submit", json={"campaignId": "DRW", "leadId": "lead_nope"})) == \
        ["leadId: unknown lead 'lead_nope'"]


def test_submit_needs_ten_digits_in_the_phone(client):
    found = details(client.post("/api/v1/leads/submit", json=new_body(phone="(303) 555-01xx")))
    assert len(found) == 1 and found[0].startswith("phone: must ")
    found = details(client.post("/api/v1/leads/submit", json=new_body(phone="303-555-019--")))
    assert found and found[0].startswith("phone: must contain at least 10 digits")


def test_submit_is_strict_about_unknown_fields(client):
    assert details(client.post("/api/v1/leads/submit", json=new_body(tags=["x"]))) == \
        ["tags: is not an allowed field"]


def test_submit_of_a_new_lead_needs_its_contact_fields(client):
    found = details(client.post("/api/v1/leads/submit", json=new_body(email=None)))
    # The schema states the rule as "leadId, or all four contact fields" (anyOf); the caller
    # evidently meant a new lead, so the missing contact field is named, not leadId.
    assert found == ["email: is required"]


def test_submit_needs_a_key(client):
    response = client.post("/api/v1/leads/submit", json=new_body(), headers=NO_KEY)
    assert response.status_code == 401 and response.json() == UNAUTHORIZED


def test_engine_raises_the_webhook_hooks(client, monkeypatch):
    events = []
    hook = SimpleNamespace(emit=lambda tenant, name, lead, submission: events.append((name, submission["status"])))
    monkeypatch.setattr(submission_service, "_events_module", hook)
    submit(client)
    submit(client, email="jane+disqualified@example.com", phone="(720) 555-0123")
    advance(client, 60)
    assert events == [("lead.queued", "pending"), ("lead.queued", "pending"),
                      ("lead.processed", "qualified"), ("lead.processed", "disqualified"),
                      ("lead.disqualified", "disqualified"), ("lead.delivered", "delivered")]


# --- approval and manual delivery (G24, G25) ----------------------------------------------------------

def test_human_review_stops_at_pending_action_until_approved_and_delivered(client):
    lead_id = reviewed_lead(client)
    lead = get_lead(client, lead_id)
    assert lead["status"] == "pending_action"
    assert lead["approval"] == {"status": "pending", "campaignId": "U4D", "decidedBy": None, "decidedAt": None,
                                "reason": None}
    assert details(client.post(f"/api/v1/leads/{lead_id}/deliver", json={"campaignId": "U4D"})) == \
        ["approval.status: lead approval is pending"]
    advance(client, 60)
    decided = data(client.post(f"/api/v1/leads/{lead_id}/approve", json={"status": "approved", "reason": "ok"}))
    assert decided == {"leadId": lead_id, "approval": {"status": "approved", "campaignId": "U4D", "decidedBy": "api",
                                                       "decidedAt": "2026-01-15T15:02:00Z", "reason": "ok"}}
    assert get_lead(client, lead_id)["status"] == "pending_action"  # approval alone does not deliver
    delivery = data(client.post(f"/api/v1/leads/{lead_id}/deliver", json={"campaignId": "U4D"}))
    assert delivery["leadId"] == lead_id and delivery["newSubmissionId"].startswith("sub_")
    ran = advance(client, 60)
    assert effects_for(ran, lead_id) == [("submission.process", "processing"), ("submission.evaluate", "qualified"),
                                         ("submission.deliver", "delivered")]
    runs = submissions_of(client, lead_id)
    assert [(s["type"], s["status"]) for s in runs] == [("standard", "pending_action"),
                                                       ("manual_delivery", "delivered")]
    assert runs[1]["submissionId"] == delivery["newSubmissionId"] and runs[1]["submissionNumber"] == 2
    assert get_lead(client, lead_id)["status"] == "delivered"


def test_other_first_actions_stop_at_pending_action_without_an_approval(client, monkeypatch):
    events = []
    hook = SimpleNamespace(emit=lambda tenant, name, lead, submission: events.append(name))
    monkeypatch.setattr(submission_service, "_events_module", hook)
    data(client.put("/_sandbox/campaigns/DRW", json={"firstSubmissionAction": {"type": "voice_ai"}}))
    lead_id = submit(client)["leadId"]
    advance(client, 60)
    lead = get_lead(client, lead_id)
    assert (lead["status"], lead["approval"]) == ("pending_action", None)
    assert submissions_of(client, lead_id)[0]["qualification"] is None  # qualification comes after (§5.15)
    assert events == ["lead.queued", "lead.first_submission_action"]


def test_rejecting_ends_the_waiting_run_and_blocks_delivery(client):
    lead_id = reviewed_lead(client)
    data(client.post(f"/api/v1/leads/{lead_id}/approve", json={"status": "rejected", "reason": "fake"}))
    lead = get_lead(client, lead_id)
    assert lead["status"] == "rejected" and lead["approval"]["status"] == "rejected"
    assert submissions_of(client, lead_id)[0]["status"] == "rejected"
    assert details(client.post(f"/api/v1/leads/{lead_id}/deliver", json={"campaignId": "U4D"})) == \
        ["approval.status: lead approval is rejected"]
    assert details(client.post(f"/api/v1/leads/{lead_id}/approve", json={"status": "approved"})) == \
        ["approval.status: only a pending approval can be decided (this one is rejected)"]


def test_pending_clears_a_decision_at_any_time(client):
    lead_id = reviewed_lead(client)
    data(client.post(f"/api/v1/leads/{lead_id}/approve", json={"status": "approved"}))
    cleared = data(client.post(f"/api/v1/leads/{lead_id}/approve", json={"status": "pending"}))
    assert cleared["approval"] == {"status": "pending", "campaignId": "U4D", "decidedBy": None, "decidedAt": None,
                                   "reason": None}
    fresh = create(client)["leadId"]
    assert data(client.post(f"/api/v1/leads/{fresh}/approve", json={"status": "pending"}))["approval"][
        "campaignId"] == "DRW"


def test_approve_refuses_a_lead_without_pending_approval(client):
    lead_id = create(client)["leadId"]
    assert details(client.post(f"/api/v1/leads/{lead_id}/approve", json={"status": "approved"})) == \
        ["approval.status: only a pending approval can be decided (this one was never requested)"]
    assert details(client.post(f"/api/v1/leads/{lead_id}/approve", json={"status": "maybe"})) == \
        ["status: must be one of approved, rejected, pending"]
    response = client.post("/api/v1/leads/lead_nope/approve", json={"status": "approved"})
    assert response.status_code == 404 and response.json() == NOT_FOUND


def test_deliver_needs_a_known_campaign(client):
    lead_id = create(client)["leadId"]
    assert details(client.post(f"/api/v1/leads/{lead_id}/deliver", json={})) == ["campaignId: is required"]
    response = client.post(f"/api/v1/leads/{lead_id}/deliver", json={"campaignId": "ZZZ"})
    assert response.status_code == 404 and response.json() == NOT_FOUND
    response = client.post("/api/v1/leads/lead_nope/deliver", json={"campaignId": "DRW"})
    assert response.status_code == 404 and response.json() == NOT_FOUND


def test_deliver_of_an_imported_lead_qualifies_and_delivers_for_the_chosen_campaign(client):
    lead_id = create(client)["leadId"]
    reply = data(client.post(f"/api/v1/leads/{lead_id}/deliver", json={"campaignId": "HXZ"}))
    advance(client, 60)
    runs = submissions_of(client, lead_id)
    assert runs[-1]["submissionId"] == reply["newSubmissionId"]
    assert (runs[-1]["type"], runs[-1]["campaign"]["campaignId"], runs[-1]["status"]) == \
        ("manual_delivery", "HXZ", "missing_data")  # HXZ requires vehicle_year
    assert get_lead(client, lead_id)["campaign"]["campaignId"] == "DRW"  # delivering does not move the lead


# --- repost (G26) -------------------------------------------------------------------------------------

def test_plain_repost_reuses_the_delivery_info_and_skips_qualification(client):
    lead_id = failed_lead(client)
    reply = data(client.post(f"/api/v1/leads/{lead_id}/repost", json={}))
    assert reply["leadId"] == lead_id and reply["requiresQualification"] is False
    assert get_lead(client, lead_id)["status"] == "pending"
    ran = advance(client, 60)
    assert effects_for(ran, lead_id) == [("submission.process", "processing"), ("submission.deliver", "delivered")]
    lead = get_lead(client, lead_id)
    runs = submissions_of(client, lead_id)
    assert [(s["type"], s["status"]) for s in runs] == [("standard", "failed"), ("repost", "delivered")]
    assert runs[1]["delivery"]["url"] == runs[0]["delivery"]["url"] == "https://client.example.com/leads"
    assert runs[1]["qualification"] is None
    assert lead["status"] == "delivered" and lead["submissionCount"] == 2
    assert lead["repostedTo"] == [{"campaignId": "DRW", "submissionId": reply["newSubmissionId"],
                                   "repostedAt": "2026-01-15T15:01:00Z"}]


def test_repost_with_new_delivery_info_posts_there(client):
    lead_id = failed_lead(client)
    data(client.post(f"/api/v1/leads/{lead_id}/repost", json={
        "deliveryInfo": {"url": "https://backup.example.com/in", "method": "PUT", "headers": {"X-Token": "t"}}}))
    advance(client, 60)
    delivery = submissions_of(client, lead_id)[-1]["delivery"]
    assert (delivery["url"], delivery["method"], delivery["success"]) == ("https://backup.example.com/in", "PUT", True)


def test_modified_repost_changes_the_lead_and_qualifies_again(client):
    lead_id = failed_lead(client)
    reply = data(client.post(f"/api/v1/leads/{lead_id}/repost", json={
        "campaignId": "HXZ", "modifiedPayload": {"email": "fixed@example.com", "phone": "(212) 555-0177"}}))
    assert reply["requiresQualification"] is True
    lead = get_lead(client, lead_id)
    assert (lead["email"], lead["phone"]) == ("fixed@example.com", "+12125550177")
    ran = advance(client, 60)
    assert effects_for(ran, lead_id) == [("submission.process", "processing"),
                                         ("submission.evaluate", "missing_data")]  # HXZ needs vehicle_year
    assert submissions_of(client, lead_id)[-1]["campaign"]["campaignId"] == "HXZ"
    assert get_lead(client, lead_id)["repostedTo"][0]["campaignId"] == "HXZ"


@pytest.mark.parametrize("status", ["delivered", "new", "pending_action"])
def test_repost_refuses_leads_that_did_not_fail(client, status):
    lead_id = create(client)["leadId"]
    data(client.patch(f"/api/v1/leads/{lead_id}", json={"status": status}))
    assert details(client.post(f"/api/v1/leads/{lead_id}/repost", json={})) == \
        [f"status: only a failed, rejected or error lead can be reposted (this lead is '{status}')"]


def test_repost_body_rules(client):
    lead_id = failed_lead(client)
    found = details(client.post(f"/api/v1/leads/{lead_id}/repost", json={"modifiedPayload": {"firstName": "X"}}))
    assert found == ["campaignId: is required"]
    found = details(client.post(f"/api/v1/leads/{lead_id}/repost", json={
        "campaignId": "DRW", "modifiedPayload": {"phone": "(303) 555-01"}}))
    assert len(found) == 1 and found[0].startswith("modifiedPayload.phone: must contain at least 10 digits")
    response = client.post(f"/api/v1/leads/{lead_id}/repost", json={"campaignId": "ZZZ", "modifiedPayload": {}})
    assert response.status_code == 404 and response.json() == NOT_FOUND
    response = client.post("/api/v1/leads/lead_nope/repost", json={})
    assert response.status_code == 404 and response.json() == NOT_FOUND
    assert get_lead(client, lead_id)["status"] == "failed" and len(submissions_of(client, lead_id)) == 1


def test_rejected_lead_can_be_reposted(client):
    lead_id = reviewed_lead(client)
    data(client.post(f"/api/v1/leads/{lead_id}/approve", json={"status": "rejected"}))
    data(client.post(f"/api/v1/leads/{lead_id}/repost", json={}))
    advance(client, 60)
    assert get_lead(client, lead_id)["status"] == "delivered"


# --- send-to-auto-dialer (service owned by the voice area) --------------------------------------------

def test_send_to_auto_dialer_reports_unknown_leads(client):
    result = data(client.post("/api/v1/leads/send-to-auto-dialer", json={"leadIds": ["lead_nope"]}))
    assert result == {"succeeded": 0, "failed": [{"leadId": "lead_nope", "error": "lead not found"}], "details": []}
    assert details(client.post("/api/v1/leads/send-to-auto-dialer", json={"leadIds": []})) == \
        ["leadIds: must have at least 1 items"]


# --- tenant isolation and auth --------------------------------------------------------------------------

def test_another_tenant_cannot_see_or_change_my_lead(client, other):
    lead_id = failed_lead(client)
    calls = [
        other.get(f"/api/v1/leads/{lead_id}"),
        other.patch(f"/api/v1/leads/{lead_id}", json={"status": "dnc"}),
        other.get(f"/api/v1/leads/{lead_id}/submissions"),
        other.post(f"/api/v1/leads/{lead_id}/deliver", json={"campaignId": "DRW"}),
        other.post(f"/api/v1/leads/{lead_id}/approve", json={"status": "pending"}),
        other.post(f"/api/v1/leads/{lead_id}/repost", json={}),
    ]
    assert [(r.status_code, r.json()) for r in calls] == [(404, NOT_FOUND)] * len(calls)
    assert details(other.post("/api/v1/leads/submit", json={"campaignId": "DRW", "leadId": lead_id})) == \
        [f"leadId: unknown lead '{lead_id}'"]
    lead = get_lead(client, lead_id)
    assert lead["status"] == "failed" and lead["approval"] is None and lead["submissionCount"] == 1


@pytest.mark.parametrize("method, path, body", [
    ("get", "/api/v1/leads/lead_x", None),
    ("patch", "/api/v1/leads/lead_x", {}),
    ("patch", "/api/v1/leads/bulk", {"leadIds": ["lead_x"], "updates": {}}),
    ("post", "/api/v1/leads/lead_x/deliver", {"campaignId": "DRW"}),
    ("post", "/api/v1/leads/lead_x/approve", {"status": "approved"}),
    ("post", "/api/v1/leads/lead_x/repost", {}),
    ("get", "/api/v1/leads/lead_x/submissions", None),
    ("post", "/api/v1/leads/send-to-auto-dialer", {"leadIds": ["lead_x"]}),
])
def test_every_lead_endpoint_needs_a_key(client, method, path, body):
    kwargs = {"json": body} if body is not None else {}
    response = getattr(client, method)(path, headers=NO_KEY, **kwargs)
    assert response.status_code == 401 and response.json() == UNAUTHORIZED
