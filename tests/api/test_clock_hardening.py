"""Date-times at the edge of what Python can hold, and moving the clock in either mode.

Every date-time a client can send is found by walking both specs, so a field added later is
covered without touching this file. A real-time clock is only ever checked with "at least"
(``now >= target``), never against the wall clock.
"""

from __future__ import annotations

import re
import time

import pytest
from starlette.testclient import TestClient

from sandbox.app import PUBLIC_SPEC, create_app, load_control_spec, load_spec
from sandbox.settings import Settings
from tests.conftest import API_KEY, data, error

# Well-formed, but before year 1 / after year 9999 once converted to UTC (they overflowed: 500),
# and years Python's parser refuses outright.
EXTREMES = ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
            "0000-01-01T00:00:00Z", "10000-01-01T00:00:00Z")
LATEST = "9997-12-31T23:59:59Z"
_DATE_TIME_EXAMPLE = re.compile(r"^\d{4}-\d{2}-\d{2}T")
METHODS = ("get", "put", "post", "patch", "delete")


def _resolve(spec: dict, node):
    while isinstance(node, dict) and "$ref" in node:
        target = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _is_date_time(schema: dict) -> bool:
    # ``format: date-time``, or a string declared by pattern whose example is a date-time
    # (startDate / endDate on GET /leads, which also take a bare date).
    return schema.get("format") == "date-time" or (
        isinstance(schema.get("example"), str) and bool(_DATE_TIME_EXAMPLE.match(schema["example"])))


def _body_fields(spec: dict, schema, path: tuple, seen: frozenset):
    """(path, ...) of each date-time in a body schema; a path step is a key, or 0 for an array item."""
    if isinstance(schema, dict) and "$ref" in schema:
        if schema["$ref"] in seen:
            return
        seen = seen | {schema["$ref"]}
    schema = _resolve(spec, schema)
    if not isinstance(schema, dict):
        return
    if _is_date_time(schema):
        yield path
    for name, sub in schema.get("properties", {}).items():
        yield from _body_fields(spec, sub, path + (name,), seen)
    if isinstance(schema.get("items"), dict):
        yield from _body_fields(spec, schema["items"], path + (0,), seen)
    for combinator in ("allOf", "oneOf", "anyOf"):
        for sub in schema.get(combinator, []):
            yield from _body_fields(spec, sub, path, seen)


def date_time_inputs():
    """One (method, url template, where, field path) per date-time input of either spec."""
    specs = ((load_spec(PUBLIC_SPEC), ""), (load_control_spec(), "/_sandbox"))
    for spec, prefix in specs:
        for template, item in spec["paths"].items():
            for method in METHODS:
                operation = item.get(method)
                if operation is None:
                    continue
                for parameter in item.get("parameters", []) + operation.get("parameters", []):
                    parameter = _resolve(spec, parameter)
                    if _is_date_time(_resolve(spec, parameter.get("schema", {}))):
                        yield method, prefix + template, parameter["in"], (parameter["name"],)
                body = _resolve(spec, operation.get("requestBody", {}))
                schema = body.get("content", {}).get("application/json", {}).get("schema")
                for path in _body_fields(spec, schema, (), frozenset()) if schema else ():
                    yield method, prefix + template, "body", path


INPUTS = sorted(set(date_time_inputs()), key=str)


def _nest(path: tuple, value):
    for step in reversed(path):
        value = [value] if step == 0 else {step: value}
    return value


def _named(path: tuple) -> str:
    """The field as ``details`` words it (``validation.field_path``): ``notes[0].createdAt``."""
    text = ""
    for step in path:
        text += "[0]" if step == 0 else (f".{step}" if text else step)
    return text


# The walk itself is checked at collection: it must at least find the inputs the issue named.
assert {("get", "/api/v1/leads", "startDate"), ("get", "/api/v1/leads", "endDate"),
        ("post", "/api/v1/files", "signedAt"), ("put", "/_sandbox/clock", "now"),
        ("post", "/_sandbox/clock/advance", "to")} <= {(m, url, _named(path)) for m, url, _, path in INPUTS}


@pytest.fixture(scope="module", params=["connexion", "direct-route"])
def any_route(request):
    """The same app both ways a public request can be validated (direct route: the CLI's default)."""
    settings = Settings(validate_responses=True) if request.param == "connexion" else \
        Settings(validate_responses=False, direct_route=True)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.headers["X-API-Key"] = API_KEY
        yield client


@pytest.mark.parametrize("method, template, where, path", INPUTS,
                         ids=[f"{m.upper()} {t} {_named(p)}" for m, t, _, p in INPUTS])
def test_every_date_time_input_refuses_instants_python_cannot_hold(any_route, method, template, where, path):
    url = re.sub(r"\{[^}]+\}", "x", template)
    name = _named(path)
    for value in EXTREMES:
        if where == "query":
            response = any_route.request(method.upper(), url, params={name: value})
        elif where == "body":
            response = any_route.request(method.upper(), url, json=_nest(path, value))
        else:
            pytest.fail(f"a date-time {where} parameter: teach this test to send one ({name})")
        err = error(response, 400, "VALIDATION_ERROR")
        assert any(line.startswith(f"{name}: ") for line in err["details"]), (value, err)


# --- the clock's own range ---------------------------------------------------------------------------

def test_the_clock_stays_two_years_short_of_the_end_so_work_scheduled_from_it_cannot_overflow(client):
    err = error(client.put("/_sandbox/clock", json={"now": "9999-12-31T23:59:59Z"}), 400, "VALIDATION_ERROR")
    assert err["details"][0].startswith("now: 9999-12-31T23:59:59Z is outside the range")
    err = error(client.post("/_sandbox/clock/advance", json={"to": "9998-06-01T00:00:00Z"}), 400, "VALIDATION_ERROR")
    assert err["details"][0].startswith("to: 9998-06-01T00:00:00Z is outside the range")
    assert data(client.put("/_sandbox/clock", json={"now": LATEST}))["now"] == LATEST
    data(client.post("/api/v1/leads/submit", json={"campaignId": "DRW", "firstName": "Jane", "lastName": "Doe",
                                                   "email": "jane@example.com", "phone": "(303) 555-0199"}))
    # The largest advance the spec allows (366 days) from there would pass the range (from 9999-01-01,
    # year 9999: a 500 before).
    err = error(client.post("/_sandbox/clock/advance", json={"seconds": 31622400}), 400, "VALIDATION_ERROR")
    assert err["details"] == [f"seconds: would move the clock past {LATEST}, the latest time a sandbox clock can show"]
    assert data(client.get("/_sandbox/clock"))["now"] == LATEST


def test_an_imported_clock_outside_the_range_is_refused(client):
    exported = data(client.get("/_sandbox/state"))
    exported["clock"]["now"] = "9999-12-31T00:00:00Z"
    err = error(client.put("/_sandbox/state", json=exported), 400, "VALIDATION_ERROR")
    assert "outside the range a sandbox clock can show" in err["details"][0]


# --- moving the clock in either mode -----------------------------------------------------------------

START = "2026-01-15T15:00:00Z"
JUMP = "2026-02-01T12:00:00Z"


def _in_mode(client, mode: str) -> None:
    data(client.put("/_sandbox/clock", json={"mode": mode}))


def _now(client) -> str:
    return data(client.get("/_sandbox/clock"))["now"]


def _submit(client) -> None:
    data(client.post("/api/v1/leads/submit", json={"campaignId": "DRW", "firstName": "Jane", "lastName": "Doe",
                                                   "email": "jane@example.com", "phone": "(303) 555-0199"}))


@pytest.mark.parametrize("mode", ["manual", "realtime"])
def test_a_jump_moves_the_clock_in_either_mode(client, mode):
    _in_mode(client, mode)
    _submit(client)  # due work the jump must run, at its own time, before standing at JUMP
    view = data(client.put("/_sandbox/clock", json={"now": JUMP}))
    assert view["mode"] == mode and view["now"] >= JUMP
    # (A real-time clock may have run the first jobs on its own before the jump arrived.)
    assert all(START <= job["at"] <= JUMP for job in view["ran"]) and (view["ran"] or mode == "realtime")
    assert view["nextDueAt"] is None or view["nextDueAt"] > JUMP
    assert _now(client) >= JUMP  # and it stays there (manual) or runs on from there (real time)
    if mode == "manual":
        assert _now(client) == JUMP


@pytest.mark.parametrize("mode", ["manual", "realtime"])
def test_an_advance_moves_the_clock_in_either_mode(client, mode):
    _in_mode(client, mode)
    _submit(client)
    moved = data(client.post("/_sandbox/clock/advance", json={"to": JUMP}))
    assert moved["now"] >= JUMP
    # Due work ran in order, each at its due time, none after where the clock then stood.
    times = [job["at"] for job in moved["ran"]]
    assert times == sorted(times) and all(START <= at <= moved["now"] for at in times)
    clock = data(client.get("/_sandbox/clock"))
    assert clock["now"] >= JUMP and (clock["nextDueAt"] is None or clock["nextDueAt"] > JUMP)
    by_seconds = data(client.post("/_sandbox/clock/advance", json={"seconds": 86400}))
    assert by_seconds["now"] >= "2026-02-02T12:00:00Z"


def test_mode_and_now_in_one_request_stop_a_running_clock_exactly_there(client):
    _in_mode(client, "realtime")
    view = data(client.put("/_sandbox/clock", json={"mode": "manual", "now": JUMP}))
    assert (view["mode"], view["now"]) == ("manual", JUMP)
    assert _now(client) == JUMP


def test_mode_or_speed_and_now_in_one_request_start_a_clock_running_from_there(client):
    view = data(client.put("/_sandbox/clock", json={"mode": "realtime", "now": JUMP}))
    assert view["mode"] == "realtime" and view["now"] >= JUMP
    later = "2026-03-01T00:00:00Z"  # already running: the jump must move it, the speed-up apply
    view = data(client.put("/_sandbox/clock", json={"speed": 10000, "now": later}))
    assert (view["mode"], view["speed"]) == ("realtime", 10000) and view["now"] >= later
    # It keeps running from JUMP: a bound, not a benchmark (at x10000 a second of virtual time
    # takes 0.1 ms of wall time; the deadline only stops a broken clock from hanging the test).
    deadline = time.monotonic() + 30
    while _now(client) == view["now"]:
        assert time.monotonic() < deadline, "the real-time clock did not move on from the jump"
        time.sleep(0.01)
    assert _now(client) > later


def test_a_refused_now_is_named_now_and_changes_nothing(client):
    data(client.put("/_sandbox/clock", json={"now": JUMP}))
    err = error(client.put("/_sandbox/clock", json={"mode": "realtime", "now": START}), 400, "VALIDATION_ERROR")
    assert err["details"] == [f"now: {START} is before the tenant's current time {JUMP}"]
    clock = data(client.get("/_sandbox/clock"))
    assert (clock["mode"], clock["now"]) == ("manual", JUMP)
