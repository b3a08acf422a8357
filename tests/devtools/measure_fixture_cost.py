"""Time per test: ``leadsail_sandbox`` (one server per session, a tenant per test) versus a server per test.

    python tests/devtools/measure_fixture_cost.py [N]

Writes a throwaway project of N identical tests (submit a lead, advance the clock an hour, read the
lead back), runs it with each fixture in a fresh pytest process, and prints the time each test
took from the start of its setup to the end of its teardown (pytest's start-up is not counted).
A measurement to print, not a check: no test asserts on these numbers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

CONFTEST = """
import json, time, pytest
from sandbox import testing

TIMES = []

@pytest.fixture
def server_per_test():
    with testing.running() as sandbox:
        yield sandbox

@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    started = time.perf_counter()
    try:
        return (yield)
    finally:
        TIMES.append(time.perf_counter() - started)

def pytest_sessionfinish(session):
    (session.config.rootpath / "times.json").write_text(json.dumps(TIMES))
"""

TEST = """
import pytest

JANE = {{"campaignId": "HXZ", "firstName": "Jane", "lastName": "Smith", "email": "jane@example.com",
        "phone": "+12125550101", "questionnaire": [{{"key": "vehicle_year", "question": "Year?", "answer": 2019}}]}}

@pytest.mark.parametrize("n", range({n}))
def test_lead(n, {fixture}):
    sb = {fixture}
    lead = sb.api.post("/api/v1/leads/submit", json=JANE).json()["data"]
    sb.api.post("/_sandbox/clock/advance", json={{"seconds": 3600}})
    assert sb.api.get(f"/api/v1/leads/{{lead['leadId']}}").json()["data"]["status"] == "delivered"
"""


def measure(fixture: str, n: int) -> list[float]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "conftest.py").write_text(CONFTEST)
        (root / "test_cost.py").write_text(TEST.format(n=n, fixture=fixture))
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:schemathesis",
                        "-p", "no:hypothesispytest"], cwd=root, check=True, stdout=subprocess.DEVNULL)
        return json.loads((root / "times.json").read_text())


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    for fixture, label in (("leadsail_sandbox", "shared server (leadsail_sandbox)"),
                           ("server_per_test", "a server per test")):
        times = measure(fixture, n)
        rest = times[1:]
        print(f"{label:34} {1000 * sum(times) / n:7.1f} ms/test over {n}   first {1000 * times[0]:6.1f} ms, "
              f"then {1000 * sum(rest) / len(rest):6.1f} ms/test")


if __name__ == "__main__":
    main()
