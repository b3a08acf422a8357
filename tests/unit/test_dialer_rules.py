"""Auto-dialer rules: each rule alone, their order, time zones, DST, the gap boundary, next times."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sandbox.domain import dialer_rules as rules

UTC = timezone.utc
ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def config(**changes) -> dict:
    return rules.config_of({"autoDialer": changes})


# --- configuration -------------------------------------------------------------------------

def test_defaults_are_g52():
    cfg = rules.config_of(None)
    assert cfg["operatingHours"] == {"start": "09:00", "end": "20:00",
                                     "days": ["mon", "tue", "wed", "thu", "fri", "sat"]}
    assert (cfg["minGapMinutes"], cfg["maxAttempts"], cfg["retryDelaysMinutes"]) == (60, 6, [60, 240, 1440])
    assert cfg["active"] is True and "delivered" in cfg["excludedStatuses"]


def test_partial_config_keeps_the_other_defaults():
    cfg = config(operatingHours={"start": "10:00"}, maxAttempts=3)
    assert cfg["operatingHours"]["start"] == "10:00" and cfg["operatingHours"]["end"] == "20:00"
    assert cfg["maxAttempts"] == 3 and cfg["minGapMinutes"] == 60


def test_zone_chain_lead_then_phone_then_campaign():
    assert rules.zone_for("America/Denver", "America/Chicago", "America/New_York") == "America/Denver"
    assert rules.zone_for(None, "America/Chicago", "America/New_York") == "America/Chicago"
    assert rules.zone_for(None, None, "America/Los_Angeles") == "America/Los_Angeles"
    assert rules.zone_for("Not/AZone", None, None) == rules.DEFAULT_TIMEZONE


# --- operating hours -------------------------------------------------------------------------

def test_inside_the_window_is_allowed():
    verdict = rules.operating_hours(config(), "America/New_York", at("2026-01-15T15:00:00Z"))  # Thu 10:00
    assert verdict.allowed and verdict.allowed_at == at("2026-01-15T15:00:00Z")


def test_before_opening_names_local_time_zone_and_opening():
    verdict = rules.operating_hours(config(), "America/Chicago", at("2026-01-16T09:12:00Z"))
    assert not verdict.allowed
    assert verdict.detail == ("operatingHours: lead local time Fri 03:12 (America/Chicago) is outside "
                              "09:00–20:00; window opens at 2026-01-16T15:00:00Z")
    assert verdict.allowed_at == at("2026-01-16T15:00:00Z")


def test_same_instant_differs_by_lead_time_zone():
    moment = at("2026-01-15T14:30:00Z")  # 09:30 in New York, 08:30 in Chicago, 06:30 in Los Angeles
    assert rules.operating_hours(config(), "America/New_York", moment).allowed
    assert not rules.operating_hours(config(), "America/Chicago", moment).allowed
    la = rules.operating_hours(config(), "America/Los_Angeles", moment)
    assert la.allowed_at == at("2026-01-15T17:00:00Z")


def test_window_end_is_exclusive():
    assert rules.operating_hours(config(), "America/New_York", at("2026-01-16T00:59:59Z")).allowed  # 19:59:59
    closed = rules.operating_hours(config(), "America/New_York", at("2026-01-16T01:00:00Z"))  # 20:00
    assert not closed.allowed and closed.allowed_at == at("2026-01-16T14:00:00Z")


def test_excluded_day_moves_to_next_allowed_day():
    sunday = at("2026-01-18T15:00:00Z")  # Sun 10:00 New York
    verdict = rules.operating_hours(config(), "America/New_York", sunday)
    assert not verdict.allowed
    assert "Sun 10:00 (America/New_York) is outside 09:00–20:00 on mon,tue,wed,thu,fri,sat" in verdict.reason
    assert verdict.allowed_at == at("2026-01-19T14:00:00Z")


def test_window_that_never_opens():
    verdict = rules.operating_hours(config(operatingHours={"days": []}), "America/New_York",
                                    at("2026-01-15T15:00:00Z"))
    assert not verdict.allowed and verdict.allowed_at is None and "never opens" in verdict.reason


def test_dst_spring_forward_new_york():
    cfg = config(operatingHours={"days": ALL_DAYS})
    # 2026-03-08 02:00 EST → 03:00 EDT. 09:00 local is 14:00Z the day before, 13:00Z on the day.
    assert rules.window_opens(cfg["operatingHours"], "America/New_York", at("2026-03-07T06:00:00Z")) \
        == at("2026-03-07T14:00:00Z")
    assert rules.window_opens(cfg["operatingHours"], "America/New_York", at("2026-03-08T06:00:00Z")) \
        == at("2026-03-08T13:00:00Z")
    assert rules.operating_hours(cfg, "America/New_York", at("2026-03-08T13:30:00Z")).allowed      # 09:30 EDT
    assert not rules.operating_hours(cfg, "America/New_York", at("2026-03-07T13:30:00Z")).allowed  # 08:30 EST


def test_dst_fall_back_new_york():
    cfg = config(operatingHours={"days": ALL_DAYS})
    # 2026-11-01 02:00 EDT → 01:00 EST: 09:00 local becomes 14:00Z.
    assert rules.window_opens(cfg["operatingHours"], "America/New_York", at("2026-11-01T06:00:00Z")) \
        == at("2026-11-01T14:00:00Z")


# --- minimum gap -----------------------------------------------------------------------------

def test_no_attempts_no_gap():
    assert rules.minimum_gap(config(), [], at("2026-01-15T15:00:00Z")).allowed


def test_exactly_at_the_gap_is_allowed():
    verdict = rules.minimum_gap(config(), ["2026-01-15T14:00:00Z"], at("2026-01-15T15:00:00Z"))
    assert verdict.allowed


def test_one_second_short_of_the_gap_is_refused():
    verdict = rules.minimum_gap(config(), ["2026-01-15T14:00:00Z"], at("2026-01-15T14:59:59Z"))
    assert not verdict.allowed and verdict.allowed_at == at("2026-01-15T15:00:00Z")
    assert verdict.detail == ("minimumGap: last attempt at 2026-01-15T14:00:00Z was 59 minutes ago; minimum gap "
                              "is 60 minutes; next call allowed at 2026-01-15T15:00:00Z")


def test_gap_counts_from_the_latest_attempt():
    attempts = ["2026-01-15T10:00:00Z", "2026-01-15T14:30:00Z"]  # recorded oldest first
    verdict = rules.minimum_gap(config(minGapMinutes=120), attempts, at("2026-01-15T15:00:00Z"))
    assert verdict.allowed_at == at("2026-01-15T16:30:00Z")


# --- max attempts, excluded status -----------------------------------------------------------

def test_max_attempts_boundary():
    cfg = config(maxAttempts=6)
    assert rules.max_attempts(cfg, ["2026-01-01T00:00:00Z"] * 5).allowed
    refused = rules.max_attempts(cfg, ["2026-01-01T00:00:00Z"] * 6)
    assert not refused.allowed and refused.detail == "maxAttempts: maximum attempts reached (6 of 6)"
    assert refused.allowed_at is None


def test_excluded_status():
    assert rules.excluded_status(config(), "new").allowed
    refused = rules.excluded_status(config(), "delivered")
    assert refused.detail == "excludedStatus: lead status 'delivered' is excluded"


# --- order and next time ---------------------------------------------------------------------

def test_rules_run_in_documented_order_and_first_refusal_wins():
    lead = {"status": "delivered"}
    attempts = ["2026-01-18T14:50:00Z"] * 6
    verdicts = rules.evaluate(lead, config(), attempts, at("2026-01-18T15:00:00Z"), "America/New_York")  # Sunday
    assert [v.rule for v in verdicts] == ["operatingHours", "minimumGap", "maxAttempts", "excludedStatus"]
    assert [v.allowed for v in verdicts] == [False, False, False, False]
    assert rules.first_refusal(verdicts).rule == "operatingHours"


def test_all_rules_pass():
    verdicts = rules.evaluate({"status": "new"}, config(), [], at("2026-01-15T15:00:00Z"), "America/New_York")
    assert all(v.allowed for v in verdicts) and rules.first_refusal(verdicts) is None


@pytest.mark.parametrize("rule, lead, attempts, now", [
    ("minimumGap", {"status": "new"}, ["2026-01-15T14:30:00Z"], "2026-01-15T15:00:00Z"),
    ("maxAttempts", {"status": "new"}, ["2026-01-14T14:30:00Z"] * 6, "2026-01-15T15:00:00Z"),
    ("excludedStatus", {"status": "dnc"}, [], "2026-01-15T15:00:00Z"),
])
def test_each_rule_alone_refuses(rule, lead, attempts, now):
    verdicts = rules.evaluate(lead, config(), attempts, at(now), "America/New_York")
    assert [v.rule for v in verdicts if not v.allowed] == [rule]


def test_next_allowed_is_now_when_allowed():
    now = at("2026-01-15T15:00:00Z")
    assert rules.next_allowed(config(), [], now, "America/New_York") == now


def test_next_allowed_gap_pushing_past_closing_moves_to_next_opening():
    # Last attempt 19:30 New York; the gap ends 20:30, after closing → Friday 09:00.
    attempts = ["2026-01-16T00:30:00Z"]
    assert rules.next_allowed(config(), attempts, at("2026-01-16T00:40:00Z"), "America/New_York") \
        == at("2026-01-16T14:00:00Z")


def test_next_allowed_inside_window_waits_for_gap():
    attempts = ["2026-01-15T15:00:00Z"]
    assert rules.next_allowed(config(), attempts, at("2026-01-15T15:10:00Z"), "America/New_York") \
        == at("2026-01-15T16:00:00Z")


def test_next_allowed_never():
    assert rules.next_allowed(config(operatingHours={"days": []}), [], at("2026-01-15T15:00:00Z"),
                              "America/New_York") is None


def test_retry_delays_repeat_the_last():
    cfg = config()
    assert [rules.retry_delay_minutes(cfg, n) for n in (1, 2, 3, 4, 5)] == [60, 240, 1440, 1440, 1440]


def test_gap_verdict_time_arithmetic_is_exact():
    verdict = rules.minimum_gap(config(minGapMinutes=90), ["2026-01-15T14:00:00Z"], at("2026-01-15T14:00:00Z"))
    assert verdict.allowed_at - at("2026-01-15T14:00:00Z") == timedelta(minutes=90)
