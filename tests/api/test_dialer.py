"""The auto-dialer end to end: rule order over HTTP, concurrency, a multi-day sequence, the control
plane's dry run (``GET /_sandbox/dialer/check/{leadId}``) and queue view (``GET /_sandbox/dialer/queue``).

The clock starts Thursday 2026-01-15 15:00Z (10:00 in New York, 09:00 in Chicago).
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from starlette.testclient import TestClient

from sandbox.app import create_app
from sandbox.clock import parse_instant
from sandbox.services import voice
from sandbox.settings import Settings
from tests.api.test_voice import (INITIATE, PLAIN_PHONE, call, lead, make_lead, put_campaign, refusal,
                                  send_to_dialer, state)
from tests.conftest import API_KEY, advance, data, error

ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
NEW_YORK = ZoneInfo("America/New_York")


def check(client, lead_id: str) -> dict:
    return data(client.get(f"/_sandbox/dialer/check/{lead_id}"))


def queue(client, **params) -> dict:
    return data(client.get("/_sandbox/dialer/queue", params=params))


def history(client, lead_id: str) -> list[dict]:
    """The lead's calls, oldest first."""
    return list(reversed(data(client.get(f"/api/v1/interactions/lead/{lead_id}"))["interactions"]))


# --- rule order over HTTP: the first failing check wins ------------------------------------------

def _night(client):
    advance(client, 3600 * 17)                       # 2026-01-16T08:00Z: 03:00 in New York


@pytest.mark.parametrize("setup, expected", [
    # operating hours and gap both refuse → hours (earlier in the order): called at 19:30, now 20:10
    (lambda c, l: (advance(c, 3600 * 9 + 1800), data(call(c, l)), advance(c, 2400)), "operatingHours"),
    # gap and max attempts both refuse → gap
    (lambda c, l: (c.put("/_sandbox/campaigns/HXZ", json={"autoDialer": {"maxAttempts": 1}}), data(call(c, l)),
                   advance(c, 600)), "minimumGap"),
    # max attempts and excluded status both refuse → max attempts
    (lambda c, l: (c.put("/_sandbox/campaigns/HXZ", json={"autoDialer": {"maxAttempts": 1, "minGapMinutes": 0}}),
                   data(call(c, l)), advance(c, 600),
                   c.patch(f"/api/v1/leads/{l}", json={"status": "delivered"})), "maxAttempts"),
    # phone DNC and the operating hours both refuse → dnc (pre-flight before the dialer rules)
    (lambda c, l: (c.put(f"/_sandbox/leads/{l}/dnc", json={"channels": ["phone"]}), _night(c)), "dnc"),
    # inactive campaign and DNC → campaignId
    (lambda c, l: (c.put("/_sandbox/campaigns/HXZ", json={"active": False}),
                   c.put(f"/_sandbox/leads/{l}/dnc", json={"channels": ["phone"]})), "campaignId"),
], ids=["hours>gap", "gap>max", "max>excluded", "dnc>hours", "campaign>dnc"])
def test_two_failing_rules_the_first_in_order_wins(client, setup, expected):
    lead_id = make_lead(client)
    setup(client, lead_id)
    [detail] = refusal(call(client, lead_id))
    assert detail.startswith(f"{expected}: ")
    # The dry run reports both failures, and its first refusal is the one initiate named.
    verdicts = check(client, lead_id)["verdicts"]
    refused = [v for v in verdicts if v["allowed"] is False]
    assert len(refused) == 2 and f"{refused[0]['rule']}: {refused[0]['reason']}" == detail


def test_each_dialer_rule_alone_over_http(client):
    put_campaign(client, "ONE", voiceAgentId="agent_ava", autoDialer={"maxAttempts": 1, "minGapMinutes": 0})
    alone = {
        "operatingHours": make_lead(client, phone="+14155557788"),            # 07:00 in San Francisco
        "excludedStatus": make_lead(client),
        "maxAttempts": make_lead(client, campaign="ONE"),
        "minimumGap": make_lead(client),
    }
    data(client.patch(f"/api/v1/leads/{alone['excludedStatus']}", json={"status": "disqualified"}))
    data(call(client, alone["maxAttempts"]))
    data(call(client, alone["minimumGap"]))
    advance(client, 600)
    for rule, lead_id in alone.items():
        [detail] = refusal(call(client, lead_id))
        assert detail.startswith(f"{rule}: "), (rule, detail)
        assert [v["rule"] for v in check(client, lead_id)["verdicts"] if v["allowed"] is False] == [rule]


# --- 32 concurrent initiates for one lead ---------------------------------------------------------

async def _concurrent_initiates(app, campaign: str, phone: str, count: int = 32):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox",
                                 headers={"X-API-Key": API_KEY}) as http:
        created = await http.post("/api/v1/leads", json={"campaignId": campaign, "firstName": "Jane",
                                                         "lastName": "Doe", "email": "jane@example.com",
                                                         "phone": phone})
        lead_id = created.json()["data"]["leadId"]
        responses = await asyncio.gather(*(http.post(INITIATE, json={"leadId": lead_id}) for _ in range(count)))
        exported = (await http.get("/_sandbox/state")).json()["data"]["state"]
        return lead_id, responses, exported


def test_32_concurrent_initiates_one_call_and_31_gap_refusals(app):
    lead_id, responses, exported = asyncio.run(_concurrent_initiates(app, "HXZ", PLAIN_PHONE))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [400] * 31
    refusals = [r.json()["error"]["details"] for r in responses if r.status_code == 400]
    assert all(len(d) == 1 and d[0].startswith("minimumGap: last attempt at 2026-01-15T15:00:00Z was 0 minutes ago")
               for d in refusals)
    assert exported["dialer"][lead_id]["attempts"] == ["2026-01-15T15:00:00Z"]
    assert len(exported["lead_interactions"][lead_id]) == 1


def test_32_concurrent_initiates_never_exceed_max_attempts(client, app):
    put_campaign(client, "MAX3", voiceAgentId="agent_ava", autoDialer={"maxAttempts": 3, "minGapMinutes": 0})
    lead_id, responses, exported = asyncio.run(_concurrent_initiates(app, "MAX3", PLAIN_PHONE))
    assert sorted(r.status_code for r in responses) == [200] * 3 + [400] * 29
    assert {r.json()["error"]["details"][0] for r in responses if r.status_code == 400} \
        == {"maxAttempts: maximum attempts reached (3 of 3)"}
    assert len(exported["dialer"][lead_id]["attempts"]) == 3
    assert len(exported["lead_interactions"][lead_id]) == 3


# --- a full auto-dialer sequence to no_contact, over simulated days ---------------------------------

def test_full_sequence_to_no_contact_over_days(client):
    # HXZ keeps the G52 defaults: 09:00–20:00 Mon–Sat, gap 60 min, 6 attempts, retries 60 / 240 / 1440 min.
    lead_id = make_lead(client, phone="+12125550104")           # scenario: nobody ever answers
    assert send_to_dialer(client, [lead_id])["details"] == [{"leadId": lead_id, "nextCallTime": "2026-01-15T15:00:00Z"}]
    made_per_day = []
    for _ in range(4):                                          # to 10:00 New York on Fri, Sat, Sun, Mon
        advance(client, 86400)
        made_per_day.append(len(state(client)["dialer"][lead_id]["attempts"]))
    assert made_per_day == [3, 4, 5, 6]                         # Sat afternoon → Mon morning: Sunday skipped

    calls = history(client, lead_id)
    attempts = [parse_instant(a) for a in state(client)["dialer"][lead_id]["attempts"]]
    assert [parse_instant(c["createdAt"]) for c in calls] == attempts
    assert [c["call"]["source"] for c in calls] == ["auto_dialer"] * 6
    assert [c["status"] for c in calls] == ["no_answer"] * 5 + ["no_contact"]
    delays = [60, 240, 1440, 1440, 1440]
    for index, at in enumerate(attempts):
        local = at.astimezone(NEW_YORK)
        assert local.strftime("%a") != "Sun" and "09:00" <= local.strftime("%H:%M") < "20:00", local
        if index:
            previous_end = parse_instant(calls[index - 1]["updatedAt"])
            assert at - attempts[index - 1] >= timedelta(minutes=60)
            assert at >= previous_end + timedelta(minutes=delays[index - 1])
    assert attempts[5] == datetime(2026, 1, 19, 14, 0, tzinfo=attempts[0].tzinfo)   # Monday 09:00, the window opens
    assert lead(client, lead_id)["status"] == "no_contact"
    assert "all 6 allowed attempts used" in calls[-1]["summary"]
    assert queue(client) == {"total": 0, "queue": []}
    assert state(client)["dialer"][lead_id]["nextCallTime"] is None
    refused = [v["rule"] for v in check(client, lead_id)["verdicts"] if v["allowed"] is False]
    assert refused == ["maxAttempts", "excludedStatus"]        # attempts used up, and no_contact is excluded


def _dialer_day() -> bytes:
    app = create_app(Settings(validate_responses=True))
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["X-API-Key"] = API_KEY
        ids = [make_lead(client, phone=phone) for phone in
               (PLAIN_PHONE, "+13125557788", "+12125550103", "+12125550104", "+14155557788")]
        send_to_dialer(client, ids)
        for _ in range(3):
            advance(client, 86400)
        return json.dumps(data(client.get("/_sandbox/state"))["state"], sort_keys=True).encode()


def test_same_seed_same_dialer_days_same_bytes():
    assert _dialer_day() == _dialer_day()


def test_configuration_switched_off_after_queueing_drops_the_lead(client):
    lead_id = make_lead(client)
    send_to_dialer(client, [lead_id])
    data(client.put("/_sandbox/campaigns/HXZ", json={"autoDialer": {"active": False}}))
    [ran] = advance(client, 60)["ran"]
    assert ran["effects"] == [{"leadId": lead_id, "placed": False,
                               "reason": "autoDialer: auto-dialer configuration is inactive"}]
    assert history(client, lead_id) == [] and queue(client)["total"] == 0


# --- the dry run ------------------------------------------------------------------------------

def test_check_allowed_now(client):
    lead_id = make_lead(client)
    result = check(client, lead_id)
    assert result == {
        "leadId": lead_id, "campaignId": "HXZ", "allowedNow": True, "nextAllowedAt": "2026-01-15T15:00:00Z",
        "leadLocalTime": "2026-01-15T10:00:00-05:00", "timezone": "America/New_York", "autoDialerActive": True,
        "verdicts": [{"rule": rule, "allowed": True, "reason": None, "allowedAt": "2026-01-15T15:00:00Z"}
                     for rule in voice.PREFLIGHT],
    }
    assert [v["rule"] for v in result["verdicts"]] == [
        "lead", "phone", "campaignId", "voiceAgent", "callerNumber", "dnc",
        "operatingHours", "minimumGap", "maxAttempts", "excludedStatus"]


def test_check_outside_hours_says_when(client):
    lead_id = make_lead(client, phone="+13125557788")           # Chicago
    advance(client, 3600 * 17 + 720)                             # Fri 02:12 in Chicago
    result = check(client, lead_id)
    assert (result["allowedNow"], result["nextAllowedAt"]) == (False, "2026-01-16T15:00:00Z")
    assert result["leadLocalTime"] == "2026-01-16T02:12:00-06:00" and result["timezone"] == "America/Chicago"
    [hours] = [v for v in result["verdicts"] if v["allowed"] is False]
    assert hours == {"rule": "operatingHours", "allowed": False, "allowedAt": "2026-01-16T15:00:00Z",
                     "reason": "lead local time Fri 02:12 (America/Chicago) is outside 09:00–20:00; "
                               "window opens at 2026-01-16T15:00:00Z"}
    assert refusal(call(client, lead_id)) == [f"operatingHours: {hours['reason']}"]


def test_check_gap_and_hours_together_give_the_later_instant(client):
    lead_id = make_lead(client)
    advance(client, 3600 * 9 + 1800)                             # Thu 19:30 in New York
    data(call(client, lead_id))
    result = check(client, lead_id)
    gap = next(v for v in result["verdicts"] if v["rule"] == "minimumGap")
    assert (gap["allowed"], gap["allowedAt"]) == (False, "2026-01-16T01:30:00Z")    # 20:30, after closing
    assert result["nextAllowedAt"] == "2026-01-16T14:00:00Z"                     # Fri 09:00 in New York
    advance(client, 3600)                                                        # now both refuse
    assert [v["rule"] for v in check(client, lead_id)["verdicts"] if v["allowed"] is False] == ["operatingHours"]


def test_check_across_a_daylight_saving_change(client):
    put_campaign(client, "DST", voiceAgentId="agent_ava", phoneNumber="+18335645667",
                 autoDialer={"operatingHours": {"days": ALL_DAYS}})
    lead_id = make_lead(client, campaign="DST")
    data(client.post("/_sandbox/clock/advance", json={"to": "2026-03-07T08:00:00Z"}))  # Sat 03:00 EST
    before = check(client, lead_id)
    assert before["leadLocalTime"] == "2026-03-07T03:00:00-05:00"
    assert before["nextAllowedAt"] == "2026-03-07T14:00:00Z"                        # 09:00 EST
    data(client.post("/_sandbox/clock/advance", json={"to": "2026-03-08T08:00:00Z"}))  # Sun 04:00 EDT
    after = check(client, lead_id)
    assert after["leadLocalTime"] == "2026-03-08T04:00:00-04:00"
    assert after["nextAllowedAt"] == "2026-03-08T13:00:00Z"                         # 09:00 EDT: an hour earlier in UTC
    [detail] = send_to_dialer(client, [lead_id])["details"]
    assert detail["nextCallTime"] == "2026-03-08T13:00:00Z"


def test_check_refusal_no_wait_can_fix_has_no_next_time(client):
    lead_id = make_lead(client)
    data(client.put(f"/_sandbox/leads/{lead_id}/dnc", json={"channels": ["phone"]}))
    result = check(client, lead_id)
    assert (result["allowedNow"], result["nextAllowedAt"]) == (False, None)
    assert [v for v in result["verdicts"] if v["allowed"] is False] == [
        {"rule": "dnc", "allowed": False, "reason": "lead is on the do-not-call list (phone)", "allowedAt": None}]


def test_check_marks_checks_that_could_not_run(client):
    lead_id = make_lead(client, campaign="DRW")                  # no voice agent → no caller number either
    verdicts = {v["rule"]: v for v in check(client, lead_id)["verdicts"]}
    assert verdicts["voiceAgent"]["allowed"] is False
    assert verdicts["voiceAgent"]["reason"] == "campaign DRW has no voice agent configured"
    assert verdicts["callerNumber"] == {"rule": "callerNumber", "allowed": None, "allowedAt": None,
                                        "reason": "not checked: an earlier check it depends on failed"}
    assert verdicts["operatingHours"]["allowed"] is True          # the dialer rules still run


def test_check_invalid_phone_and_inactive_campaign(client):
    lead_id = make_lead(client, campaign="SLR", phone="(555) 000-0000")
    result = check(client, lead_id)
    refused = [(v["rule"], v["reason"]) for v in result["verdicts"] if v["allowed"] is False]
    # No zone from the number: the campaign's (Los Angeles) applies, where it is 07:00.
    assert refused == [("phone", f"lead {lead_id} has no valid E.164 phone number (stored: '(555) 000-0000')"),
                       ("campaignId", "campaign SLR is not active"),
                       ("operatingHours", "lead local time Thu 07:00 (America/Los_Angeles) is outside 09:00–20:00; "
                                          "window opens at 2026-01-15T17:00:00Z")]
    assert result["autoDialerActive"] is False and result["nextAllowedAt"] is None


def test_check_changes_nothing_and_is_per_tenant(client, other):
    lead_id = make_lead(client)
    before = data(client.get("/_sandbox/state"))
    check(client, lead_id)
    check(client, lead_id)
    assert data(client.get("/_sandbox/state")) == before
    error(other.get(f"/_sandbox/dialer/check/{lead_id}"), 404, "NOT_FOUND")
    error(client.get("/_sandbox/dialer/check/lead_nope"), 404, "NOT_FOUND")


# --- the queue view -----------------------------------------------------------------------------

def test_queue_lists_pending_attempts_in_due_order(client):
    chicago = make_lead(client, phone="+13125557788")
    new_york = make_lead(client)
    tort = make_lead(client, campaign="U4D")
    advance(client, 3600 * 10 + 1800)                            # Thu 20:30 New York, 19:30 Chicago
    send_to_dialer(client, [new_york, chicago, tort])
    data(client.put(f"/_sandbox/leads/{tort}/next-outcome", json={"outcome": "completed"}))
    result = queue(client)
    assert result == {"total": 3, "queue": [
        {"leadId": chicago, "campaignId": "HXZ", "nextCallTime": "2026-01-16T01:30:00Z", "attemptsUsed": 0,
         "maxAttempts": 6},
        {"leadId": new_york, "campaignId": "HXZ", "nextCallTime": "2026-01-16T14:00:00Z", "attemptsUsed": 0,
         "maxAttempts": 6},
        {"leadId": tort, "campaignId": "U4D", "nextCallTime": "2026-01-16T14:00:00Z", "attemptsUsed": 0,
         "maxAttempts": 4},
    ]}
    assert queue(client, campaignId="U4D")["queue"][0]["leadId"] == tort
    assert queue(client, limit=1) == {"total": 3, "queue": result["queue"][:1]}
    advance(client, 60)                                          # the Chicago lead is called
    assert [row["leadId"] for row in queue(client)["queue"]] == [new_york, tort]


def test_queue_shows_attempts_used_while_a_retry_waits(client):
    lead_id = make_lead(client, phone="+12125550103")            # voicemail: retried
    send_to_dialer(client, [lead_id])
    advance(client, 900)
    [row] = queue(client)["queue"]
    assert (row["leadId"], row["attemptsUsed"], row["maxAttempts"]) == (lead_id, 1, 6)
    assert row["nextCallTime"] >= "2026-01-15T16:00:00Z"


def test_queue_limit_is_validated(client):
    assert error(client.get("/_sandbox/dialer/queue", params={"limit": 0}), 400, "VALIDATION_ERROR")["details"]
