"""Pure lead and submission rules: intake normalisation, time zone, questionnaire and PATCH
semantics, list filters and the cursor walk, duplicates, required fields and DQ rules."""

from __future__ import annotations

import weakref
from datetime import datetime, timezone

import pytest

from sandbox.domain import leads as rules
from sandbox.domain import submissions as subs
from sandbox.services import leads as lead_service
from sandbox.store import TenantState

NOW = datetime(2026, 1, 15, 15, 0, 0, tzinfo=timezone.utc)
STAMP = "2026-01-15T15:00:00Z"
CAMPAIGN = {"campaignId": "HXZ", "name": "Auto", "clientId": "cli_a", "clientName": "Acme", "clientAbbrev": "ACM",
            "offerId": "off_a", "offerName": "Auto Quote", "offerAbbrev": "AQ"}


def lead(lead_id="lead_a", created=STAMP, **changes) -> dict:
    record = rules.new_lead(lead_id, created, CAMPAIGN, first_name="Jane", last_name="Smith",
                            email="jane.smith@example.com", phone="+12125550188")
    record.update(changes)
    return record


# --- normalisation ----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("  jane  ", "Jane"), ("JANE   mary", "Jane Mary"), ("o'brien", "O'Brien"),
    ("smith-JONES", "Smith-Jones"), ("d'angelo", "D'Angelo"), ("x", "X"),
])
def test_names_are_trimmed_and_title_cased(raw, expected):
    assert rules.title_case(raw) == expected


def test_submit_normalisation_lowercases_email_and_keeps_phone_text():
    result = rules.normalise_contact({"firstName": " jane ", "lastName": "SMITH", "email": " Jane@Example.COM ",
                                      "phone": " +1 (212) 555-0188 ", "campaignId": "HXZ"})
    assert result == {"firstName": "Jane", "lastName": "Smith", "email": "jane@example.com",
                      "phone": "+1 (212) 555-0188"}


def test_normalisation_leaves_absent_fields_absent():
    assert rules.normalise_contact({"campaignId": "HXZ"}) == {}


@pytest.mark.parametrize("phone, problems", [
    ("+1 (212) 555-0188", []), ("2125550188", []),
    ("212-555-018", ["phone: must contain at least 10 digits"]),
    ("((((((((((", ["phone: must contain at least 10 digits"]),
    (None, []),
])
def test_phone_needs_ten_digits(phone, problems):
    assert rules.phone_problems(phone) == problems


def test_phone_problem_names_the_nested_field():
    assert rules.phone_problems("12345", "updates.phone") == ["updates.phone: must contain at least 10 digits"]


def test_stored_phone_is_e164_when_it_parses_else_as_given():
    assert rules.stored_phone("(212) 555-0188") == "+12125550188"
    assert rules.stored_phone("+1 555 000 0000") == "+1 555 000 0000"  # 555 is no area code


def test_timezone_must_be_iana():
    assert rules.timezone_problems("America/Chicago") == []
    assert rules.timezone_problems("Mars/Olympus") == ["timezone: 'Mars/Olympus' is not an IANA time zone"]


# --- time zone (G23) -----------------------------------------------------------------------------------

def test_given_timezone_is_user_input():
    assert rules.resolve_timezone("America/Denver", "+12125550188", "America/Chicago") == \
        ("America/Denver", "user_input")


def test_timezone_from_area_code():
    assert rules.resolve_timezone(None, "+13125550188", "America/Denver") == ("America/Chicago", "area_code")


def test_timezone_falls_back_to_campaign_then_nothing():
    assert rules.resolve_timezone(None, "not a phone", "America/Denver") == ("America/Denver", "inferred")
    assert rules.resolve_timezone(None, "not a phone", None) == (None, None)


# --- questionnaire, notes, PATCH (G16, G19, G22) -----------------------------------------------------------

def test_object_questionnaire_takes_labels_from_field_library():
    items = rules.questionnaire_items({"age": 30, "unknown_key": "x"})
    assert rules.merge_questionnaire([], items, {"age": "Age"}) == [
        {"key": "age", "question": "Age", "answer": 30},
        {"key": "unknown_key", "question": "unknown_key", "answer": "x"}]


def test_array_questionnaire_keeps_its_own_label():
    items = rules.questionnaire_items([{"key": "age", "question": "How old?", "answer": 30}, {"key": "age2"}])
    assert rules.merge_questionnaire([], items, {"age": "Age", "age2": "Age 2"}) == [
        {"key": "age", "question": "How old?", "answer": 30}, {"key": "age2", "question": "Age 2", "answer": None}]


def test_questionnaire_merges_by_key_in_place_keeping_known_labels():
    existing = [{"key": "a", "question": "A?", "answer": 1}, {"key": "b", "question": "B?", "answer": 2}]
    merged = rules.merge_questionnaire(existing, [{"key": "b", "answer": 3}, {"key": "a", "question": "New A?"},
                                                  {"key": "c", "answer": 4}], {"b": "Label B", "c": "Label C"})
    assert merged == [{"key": "a", "question": "New A?", "answer": None},
                      {"key": "b", "question": "B?", "answer": 3},
                      {"key": "c", "question": "Label C", "answer": 4}]
    assert existing[1]["answer"] == 2  # the input is not mutated


def test_note_from_text_gets_id_time_and_author():
    assert rules.note_item({"text": "hi"}, "note_1", STAMP) == \
        {"id": "note_1", "text": "hi", "createdAt": STAMP, "createdBy": "api"}
    assert rules.note_item("hello", "note_2", STAMP)["text"] == "hello"
    given = {"id": "note_x", "text": "t", "createdAt": "2025-01-01T00:00:00Z", "createdBy": "crm"}
    assert rules.note_item(given, "note_3", STAMP) == given


def _patched(record, patch, campaign=None):
    counter = iter(range(1, 100))
    return rules.apply_patch(record, patch, now="2026-01-16T00:00:00Z", new_note_id=lambda: f"note_{next(counter)}",
                             labels={"age": "Age"}, campaign=campaign)


def test_patch_merges_objects_appends_notes_and_merges_questionnaire():
    record = lead(address={"street": "1 Main", "unit": None, "city": "Austin", "state": "TX", "zip": "78701",
                           "country": "US"},
                  questionnaire=[{"key": "age", "question": "Age", "answer": 30},
                                 {"key": "old", "question": "Old", "answer": "x"}],
                  notes=[{"id": "note_0", "text": "first", "createdAt": STAMP, "createdBy": "api"}])
    _patched(record, {"address": {"city": "Dallas"}, "notes": [{"text": "second"}],
                      "questionnaire": [{"key": "age", "answer": 31}], "deleteQuestionnaireKeys": ["old"],
                      "status": "contacted", "tags": ["a"], "unknownField": 1})
    assert record["address"]["city"] == "Dallas" and record["address"]["street"] == "1 Main"
    assert [n["text"] for n in record["notes"]] == ["first", "second"]
    assert record["notes"][1]["id"] == "note_1"
    assert record["questionnaire"] == [{"key": "age", "question": "Age", "answer": 31}]
    assert record["status"] == "contacted" and record["tags"] == ["a"]
    assert "unknownField" not in record
    assert record["updatedAt"] == "2026-01-16T00:00:00Z"


def test_patch_stores_e164_phone_and_marks_a_typed_timezone_as_user_input():
    record = lead(timezone="America/New_York", timezoneSource="area_code")
    _patched(record, {"phone": "(312) 555-0100", "timezone": "America/Chicago"})
    assert record["phone"] == "+13125550100"
    assert (record["timezone"], record["timezoneSource"]) == ("America/Chicago", "user_input")


def test_patch_cannot_set_the_derived_dnc_flag():
    record = lead()
    _patched(record, {"flags": {"isDnc": True, "isTest": True}})
    assert record["flags"] == {"isDnc": False, "isTest": True, "isDuplicate": False, "isImported": False}


def test_patch_moves_the_campaign_summary():
    other = dict(CAMPAIGN, campaignId="DRW", name="Debt")
    record = lead()
    _patched(record, {"campaign": {"campaignId": "DRW"}}, campaign=other)
    assert record["campaign"]["campaignId"] == "DRW" and record["campaign"]["name"] == "Debt"


def test_patch_rule_problems_are_prefixed():
    assert rules.patch_rule_problems({"phone": "123-4567-89", "timezone": "Nowhere"}, "updates") == [
        "updates.phone: must contain at least 10 digits", "updates.timezone: 'Nowhere' is not an IANA time zone"]


# --- list filter and cursor walk (G14) -------------------------------------------------------------------

def _filter(**query):
    problems: list[str] = []
    return rules.parse_list_filter(problems=problems, **query), problems


def test_bad_status_and_dates_are_reported_together():
    _, problems = _filter(status="new,bogus", start_date="yesterday", end_date="2026-13-01")
    assert problems[0].startswith("status: unknown status 'bogus'")
    assert problems[1:] == ["startDate: yesterday is not a calendar date",
                            "endDate: 2026-13-01 is not a calendar date"]


def test_end_date_before_start_date_is_refused():
    _, problems = _filter(start_date="2026-01-15", end_date="2026-01-14")
    assert problems == ["endDate: must not be before startDate"]


def test_bare_end_date_includes_that_whole_day():
    keep, problems = _filter(start_date="2026-01-15", end_date="2026-01-15")
    assert problems == []
    assert keep.matches(lead(created="2026-01-15T00:00:00Z"))
    assert keep.matches(lead(created="2026-01-15T23:59:59Z"))
    assert not keep.matches(lead(created="2026-01-16T00:00:00Z"))
    assert not keep.matches(lead(created="2026-01-14T23:59:59Z"))


def test_filters_on_campaign_client_offer_and_status_lists():
    keep, _ = _filter(campaign_ids="DRW, HXZ", client_ids="cli_a", offer_ids="off_a", status="new,pending")
    assert keep.matches(lead())
    assert not keep.matches(lead(status="delivered"))
    assert not _filter(campaign_ids="DRW")[0].matches(lead())
    assert not _filter(client_ids="cli_b")[0].matches(lead())
    assert not _filter(offer_ids="off_b")[0].matches(lead())


@pytest.mark.parametrize("text, expected", [
    ("jane smith", True), ("SMITH", True), ("jane.smith@", True), ("lead_A", True),
    ("212-555", True), ("(212) 5550188", True), ("999", False), ("lead_2", False), ("john", False),
])
def test_search_matches_name_email_phone_digits_and_id(text, expected):
    assert rules.search_matches(text, lead()) is expected


def test_walk_page_goes_backwards_and_reports_more():
    order = [f"lead_{i}" for i in range(10)]
    store = {lead_id: lead(lead_id) for lead_id in order}
    page, more = rules.walk_page(order, 9, store, lambda _: True, 3)
    assert [item["leadId"] for item in page] == ["lead_9", "lead_8", "lead_7"] and more is True
    page, more = rules.walk_page(order, 2, store, lambda _: True, 3)
    assert [item["leadId"] for item in page] == ["lead_2", "lead_1", "lead_0"] and more is False
    page, more = rules.walk_page(order, -1, store, lambda _: True, 3)
    assert page == [] and more is False


def test_walk_page_skips_filtered_leads_and_stops_after_one_extra_match():
    order = [f"lead_{i}" for i in range(10)]
    store = {lead_id: lead(lead_id, status="new" if int(lead_id[-1]) % 2 else "pending") for lead_id in order}
    seen = []

    def keep(item):
        seen.append(item["leadId"])
        return item["status"] == "new"

    page, more = rules.walk_page(order, 9, store, keep, 2)
    assert [item["leadId"] for item in page] == ["lead_9", "lead_7"] and more is True
    assert seen == ["lead_9", "lead_8", "lead_7", "lead_6", "lead_5"]  # O(page): stops at the first extra


def test_position_index_follows_appends_and_dies_with_its_state():
    state = TenantState()
    state.lead_order.extend(["lead_a", "lead_b"])
    assert lead_service.position_of(state, "lead_b") == 1
    state.lead_order.append("lead_c")
    assert lead_service.position_of(state, "lead_c") == 2
    assert lead_service.position_of(state, "lead_zzz") is None
    key, ref = id(state), weakref.ref(state)
    del state
    assert ref() is None and key not in lead_service._POSITIONS


# --- engine rules (G21, §5.15) ------------------------------------------------------------------------

def test_duplicate_by_email_case_insensitive_or_phone_digits_within_window():
    new = lead("lead_new", email="JANE.SMITH@example.com", phone="+19175550111")
    by_email = lead("lead_1", created="2026-01-10T00:00:00Z")
    assert rules.duplicate_of(new, "HXZ", [new, by_email], 30, NOW) == "lead_1"
    by_phone = lead("lead_2", email="other@example.com", phone="+1 917-555-0111")  # stored as typed
    assert rules.duplicate_of(new, "HXZ", [by_phone], 30, NOW) == "lead_2"


def test_no_duplicate_outside_window_other_campaign_or_for_test_leads():
    new = lead("lead_new")
    old = lead("lead_old", created="2025-12-01T00:00:00Z")
    other_campaign = lead("lead_c", campaign=dict(CAMPAIGN, campaignId="DRW"))
    test_lead = lead("lead_t", flags={"isDnc": False, "isTest": True, "isDuplicate": False, "isImported": False})
    assert rules.duplicate_of(new, "HXZ", [new, old, other_campaign, test_lead], 30, NOW) is None
    assert rules.duplicate_of(new, "HXZ", [old], 60, NOW) == "lead_old"


def test_required_fields_read_lead_fields_questionnaire_custom_fields_and_files():
    record = lead(questionnaire=[{"key": "vehicle_year", "question": "Year", "answer": 2019}],
                  customFields={"preferred_contact_time": "evening"})
    required = ["first_name", "email", "vehicle_year", "preferred_contact_time", "retainer_document",
                "date_of_birth", "injury_type"]
    assert rules.missing_fields(record, required, {}, NOW) == ["retainer_document", "date_of_birth", "injury_type"]
    assert rules.missing_fields(record, ["retainer_document"], {"retainer_document": {"status": "uploaded"}},
                                NOW) == []


def test_disqualify_rule_on_age_uses_answer_or_date_of_birth():
    rule = {"name": "Under 21", "field": "age", "operator": "less_than", "value": 21}
    assert rules.matching_disqualify_rule(lead(dateOfBirth="2010-01-16"), [rule], {}, NOW) == rule
    assert rules.matching_disqualify_rule(lead(dateOfBirth="2005-01-15"), [rule], {}, NOW) is None  # 21 today
    answered = lead(questionnaire=[{"key": "age", "question": "Age", "answer": "19"}], dateOfBirth="1980-01-01")
    assert rules.matching_disqualify_rule(answered, [rule], {}, NOW) == rule
    assert rules.matching_disqualify_rule(lead(), [rule], {}, NOW) is None  # no age known: no match


@pytest.mark.parametrize("operator, actual, value, expected", [
    ("equals", "Yes", "yes", True), ("not_equals", "yes", "no", True), ("contains", "whiplash", "lash", True),
    ("in", "TX", ["tx", "ca"], True), ("not_in", "NY", ["tx"], True), ("greater_than", 5, "4", True),
    ("is_empty", "", None, True), ("is_not_empty", None, None, False), ("less_than", "abc", 3, False),
])
def test_disqualify_operators(operator, actual, value, expected):
    record = lead(customFields={"f": actual})
    rule = {"name": "r", "field": "f", "operator": operator, "value": value}
    assert (rules.matching_disqualify_rule(record, [rule], {}, NOW) is not None) is expected


# --- submission blocks and PATCH (G30) -------------------------------------------------------------------

@pytest.mark.parametrize("forced, status, success, code", [
    (None, "delivered", True, 200), ("failed", "failed", False, 500), ("rejected", "rejected", False, 200),
])
def test_delivery_outcome(forced, status, success, code):
    outcome = subs.delivery_outcome(forced, url="https://x.example.com", method="POST", client_lead_id="CL-1",
                                    now=STAMP)
    assert outcome["status"] == status
    assert outcome["delivery"]["success"] is success and outcome["delivery"]["statusCode"] == code
    assert outcome["delivery"]["clientLeadId"] == ("CL-1" if success else None)
    assert outcome["delivery"]["url"] == "https://x.example.com" and outcome["delivery"]["deliveredAt"] == STAMP


def test_submission_patch_merges_blocks_and_ignores_unknown_keys():
    record = subs.new_submission("sub_1", lead(), 1, STAMP)
    record["delivery"] = {"success": True, "statusCode": 200}
    subs.apply_patch(record, {"delivery": {"statusCode": 202}, "result": "accepted", "bogus": 1}, "2026-01-16T00:00:00Z")
    assert record["delivery"] == {"success": True, "statusCode": 202}
    assert record["result"] == "accepted" and "bogus" not in record
    assert record["updatedAt"] == "2026-01-16T00:00:00Z"


def test_engine_modes():
    assert subs.MODES["submit"] == subs.Mode(duplicates=True, first_action=True, qualify=True, forced=True)
    assert subs.MODES["repost"].qualify is False and subs.MODES["repost"].forced is False
    assert subs.MODES["repost_requalify"].qualify is True
