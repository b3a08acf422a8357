"""The clock, the timeline and the id factory: determinism is built on these."""

from datetime import datetime, timezone

import pytest

from sandbox import simulation
from sandbox.clock import MANUAL, REALTIME, Clock, Timeline, iso, parse_instant
from sandbox.ids import IdFactory
from sandbox.store import Tenant, TenantState

START = datetime(2026, 1, 15, 15, 0, tzinfo=timezone.utc)


def test_manual_clock_stands_still_until_set():
    clock = Clock(START, MANUAL)
    assert clock.now() == START
    clock.set_time(parse_instant("2026-01-15T16:00:00Z"))
    assert iso(clock.now()) == "2026-01-15T16:00:00Z"


def test_realtime_clock_runs_at_speed(monkeypatch):
    ticks = iter([100.0, 100.0, 102.0])
    monkeypatch.setattr("sandbox.clock.time.monotonic", lambda: next(ticks))
    clock = Clock(START, REALTIME, speed=30)
    assert clock.timestamp() == START.timestamp()          # 0 s of wall time
    assert clock.timestamp() == START.timestamp() + 60     # 2 s of wall time at x30


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError):
        Clock(START, "sometimes")


def test_parse_instant_accepts_z_offsets_and_dates():
    assert iso(parse_instant("2026-01-15T10:00:00-05:00")) == "2026-01-15T15:00:00Z"
    assert iso(parse_instant("2026-01-15")) == "2026-01-15T00:00:00Z"


def test_timeline_orders_by_due_then_scheduling_order():
    timeline = Timeline()
    timeline.schedule(20, "b", {})
    timeline.schedule(10, "a", {})
    timeline.schedule(20, "c", {})
    order = [timeline.pop_due(100).kind for _ in range(3)]
    assert order == ["a", "b", "c"]
    assert timeline.pop_due(100) is None


def test_timeline_export_round_trip_keeps_order():
    timeline = Timeline()
    for due, kind in ((5, "x"), (1, "y"), (5, "z")):
        timeline.schedule(due, kind, {"k": kind})
    again = Timeline.from_export(timeline.export())
    assert [again.pop_due(10).kind for _ in range(3)] == ["y", "x", "z"]
    assert again.schedule(1, "w", {}).seq == 4  # the sequence continues, no reuse


def test_ids_are_deterministic_prefixed_and_tenant_specific():
    a1, a2, b = IdFactory(42, "key-a"), IdFactory(42, "key-a"), IdFactory(42, "key-b")
    first = [a1.new("lead") for _ in range(3)]
    assert first == [a2.new("lead") for _ in range(3)]
    assert all(i.startswith("lead_") and len(i) == 17 for i in first)
    assert len(set(first)) == 3
    assert b.new("lead") != first[0]
    assert IdFactory(43, "key-a").new("lead") != first[0]


def test_id_factory_export_restores_counter_and_rng():
    ids = IdFactory(7, "k")
    ids.new("int")
    ids.rng.random()
    restored = IdFactory(7, "k", **{"counter": ids.export()["counter"], "rng_state": ids.export()["rng"]})
    assert restored.new("int") == ids.new("int")
    assert restored.rng.random() == ids.rng.random()


def _tenant():
    return Tenant("k", TenantState(), Clock(START), IdFactory(1, "k"))


def test_run_due_pins_now_to_each_jobs_due_time_and_runs_chains():
    seen = []

    @simulation.handles("test.chain")
    def chain(tenant, payload):
        seen.append(iso(tenant.now()))
        if payload["left"]:
            tenant.schedule(tenant.now().replace(minute=tenant.now().minute + 1), "test.chain",
                            {"left": payload["left"] - 1})
        return [{"left": payload["left"]}]

    tenant = _tenant()
    tenant.schedule(START.replace(minute=5), "test.chain", {"left": 2})
    ran = simulation.run_due(tenant, START.replace(hour=16))
    assert seen == ["2026-01-15T15:05:00Z", "2026-01-15T15:06:00Z", "2026-01-15T15:07:00Z"]
    assert [r["effects"][0]["left"] for r in ran] == [2, 1, 0]
    assert tenant.now() == START  # the runner does not move a manual clock; advance does


def test_run_due_leaves_future_work_queued():
    tenant = _tenant()
    tenant.schedule(START.replace(hour=18), "test.never", {})
    assert simulation.run_due(tenant, START.replace(hour=17)) == []
    assert len(tenant.timeline) == 1


def test_iso_zero_pads_early_years():
    assert iso(parse_instant("0191-03-19T04:01:17Z")) == "0191-03-19T04:01:17Z"


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_parse_instant_refuses_what_no_utc_datetime_can_hold_as_a_value_error(text):
    from sandbox.clock import OutOfRange

    # OverflowError escaped every caller that catches bad input (ValueError) and answered 500.
    with pytest.raises(OutOfRange, match="outside the years 0001-9999"):
        parse_instant(text)


def test_a_realtime_clock_stops_at_the_latest_instant_instead_of_overflowing(monkeypatch):
    from sandbox.clock import LATEST

    ticks = iter([100.0, 100.0, 1e9])
    monkeypatch.setattr("sandbox.clock.time.monotonic", lambda: next(ticks))
    clock = Clock(datetime(9997, 12, 30, tzinfo=timezone.utc), REALTIME, speed=10000)
    assert clock.now() < LATEST
    assert clock.now() == LATEST  # ~10^13 virtual seconds later: past year 9999 without the stop


def test_each_new_realtime_tenant_starts_at_the_start_time_when_it_is_created(monkeypatch):
    from sandbox.settings import Settings
    from sandbox.tenancy import TenantRegistry

    wall = {"now": 100.0}
    monkeypatch.setattr("sandbox.clock.time.monotonic", lambda: wall["now"])
    registry = TenantRegistry(Settings(clock_mode=REALTIME, start_time=START, speed=60), lambda tenant, s: None)
    first = registry.lookup("first")
    wall["now"] += 60  # a wall minute: an hour at x60
    second = registry.lookup("second")
    assert iso(first.now()) == "2026-01-15T16:00:00Z"
    assert second.now() == START  # not where a clock started with the process would be by now
