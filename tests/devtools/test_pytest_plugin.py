"""The pytest plugin as users get it: a separate test project, run by pytest in a subprocess.

The package's ``pytest11`` entry point is what loads ``sandbox.pytest_plugin`` there (nothing in the
project names it), so these runs fail if the plugin is not installed the way a user installs it.
Each run writes what its tests saw (key, lead id, server URL, worker) to ``out/``; the checks
compare those across tests, across runs and across xdist workers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from sandbox import testing

ROOT = Path(__file__).resolve().parents[2]

USER_CONFTEST = """
import json, os, pathlib, threading

def pytest_unconfigure(config):
    # Session fixtures are torn down by now: no sandbox thread may be left in this process.
    left = [t.name for t in threading.enumerate() if t.name.startswith("leadsail-sandbox")]
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    out = pathlib.Path(str(config.rootpath)) / "out"
    out.mkdir(exist_ok=True)
    (out / f"threads-{worker}.json").write_text(json.dumps(left))
"""

USER_TESTS = """
import json, os, pathlib
import pytest

JANE = {"campaignId": "HXZ", "firstName": "Jane", "lastName": "Smith", "email": "jane@example.com",
        "phone": "+12125550101", "questionnaire": [{"key": "vehicle_year", "question": "Year?", "answer": 2019}]}


def record(request, sandbox, **facts):
    out = pathlib.Path(str(request.config.rootpath)) / "out"
    out.mkdir(exist_ok=True)
    facts.update(key=sandbox.api_key, base=sandbox.base_url, worker=os.environ.get("PYTEST_XDIST_WORKER", "main"))
    (out / f"{request.node.name}.json").write_text(json.dumps(facts))


@pytest.mark.parametrize("n", range(4))
def test_isolated(leadsail_sandbox, request, n):
    sb = leadsail_sandbox
    clock = sb.api.get("/_sandbox/clock").json()["data"]
    # No other test's advance moved this clock ...
    assert clock == {"mode": "manual", "speed": 1.0, "pendingJobs": 0, "nextDueAt": None,
                     "now": request.config.getini("leadsail_start_time") or "2026-01-15T15:00:00Z"}
    lead = sb.api.post("/api/v1/leads/submit", json=JANE).json()["data"]
    sb.control.clock.advance(seconds=3600)
    # ... and no other test's Jane is in this tenant: a second one would be a duplicate.
    assert sb.api.get(f"/api/v1/leads/{lead['leadId']}").json()["data"]["status"] == "delivered"
    record(request, sb, lead=lead["leadId"])


@pytest.mark.leadsail(clock="realtime", start_time="2026-01-18T03:00:00Z")
def test_marker_realtime(leadsail_sandbox, request):
    clock = leadsail_sandbox.api.get("/_sandbox/clock").json()["data"]
    assert clock["mode"] == "realtime" and clock["now"].startswith("2026-01-18T03:00"), clock
    record(request, leadsail_sandbox)


@pytest.mark.leadsail(fixture="world.yaml")
def test_marker_fixture(leadsail_sandbox, request):
    assert leadsail_sandbox.api.get("/api/v1/leads/lead_jane").status_code == 200  # only in world.yaml
    record(request, leadsail_sandbox)
"""


@pytest.fixture
def project(tmp_path) -> Path:
    (tmp_path / "conftest.py").write_text(USER_CONFTEST)
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    shutil.copy(Path(__file__).parent / "readme_example.py", tmp_path / "test_readme_example.py")
    shutil.copy(ROOT / "examples" / "world.yaml", tmp_path / "world.yaml")
    return tmp_path


def run(project: Path, *args) -> tuple[dict, dict]:
    """Run the project with pytest in a fresh interpreter: its outcomes ({"passed": 7, ...}) and
    what each test and process recorded, by name.

    A subprocess, not pytester: pytester drops the modules first imported during its test (the
    sandbox's, httpcore's, imported lazily) and the tests after it import them again, so an
    exception or a class from the first copy is not the one the second copy expects."""
    shutil.rmtree(project / "out", ignore_errors=True)
    # This venv's schemathesis and hypothesis plugins (2 s of imports per process, workers included)
    # are no part of a user's project.
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:schemathesis",
               "-p", "no:hypothesispytest", *args]
    # A user's run is not a worker of ours: when this suite runs under xdist, its workers' variables
    # (PYTEST_XDIST_WORKER ...) must not leak into the project's own run.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    done = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=180, env=env)
    outcomes = pytest.RunResult.parse_summary_nouns(done.stdout.splitlines())
    outcomes.pop("seconds", None)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    facts = {p.stem: json.loads(p.read_text()) for p in (project / "out").glob("*.json")}
    return (outcomes if done.returncode == 0 else {**outcomes, "output": done.stdout[-3000:]}), facts


def isolated(facts: dict) -> dict:
    return {name: f for name, f in facts.items() if name.startswith("test_isolated")}


def test_one_server_per_session_a_tenant_per_test_and_the_same_ids_under_xdist(project):
    plain, seen = run(project)
    assert plain == {"passed": 7}                                 # the README example among them
    tests = isolated(seen)
    assert len({f["key"] for f in tests.values()}) == 4           # a tenant per test ...
    assert len({f["base"] for f in tests.values()}) == 1          # ... on one shared server
    others = {seen["test_marker_realtime"]["base"], seen["test_marker_fixture"]["base"]}
    assert len(others) == 2 and not others & {f["base"] for f in tests.values()}  # a server per marker combination
    assert seen["threads-main"] == []                             # every server stopped, its thread joined

    # Two workers, each with its own default server (the marker tests' servers are left out: the
    # machine may have two cores, and each worker would start them too).
    parallel, seen_n2 = run(project, "-n", "2", "-k", "not marker")
    assert parallel == {"passed": 5}
    # The key comes from the nodeid, the ids from seed and key: the same in every run, on any worker.
    assert {n: (f["key"], f["lead"]) for n, f in isolated(seen_n2).items()} == \
           {n: (f["key"], f["lead"]) for n, f in tests.items()}
    workers = {f["worker"] for f in isolated(seen_n2).values()}
    assert workers <= {"gw0", "gw1"}
    if len(workers) == 2:  # each worker its own server (load scheduling may give one worker all four)
        assert len({f["base"] for f in isolated(seen_n2).values()}) == 2
    assert seen_n2["threads-gw0"] == seen_n2["threads-gw1"] == []


def test_seed_and_start_time_options(project):
    result, seen = run(project, "-k", "isolated")
    assert result == {"passed": 4, "deselected": 3}
    other, seen_7 = run(project, "-k", "isolated", "--leadsail-seed", "7",
                        "-o", "leadsail_start_time=2026-01-16T16:30:00Z")
    assert other == {"passed": 4, "deselected": 3}                # each test asserts its clock starts there
    assert {n: f["key"] for n, f in isolated(seen_7).items()} == {n: f["key"] for n, f in isolated(seen).items()}
    assert not {f["lead"] for f in isolated(seen_7).values()} & {f["lead"] for f in isolated(seen).values()}


def test_leadsail_url_uses_a_running_sandbox_and_resets_each_tenant(project):
    with testing.running() as shared:
        for n in range(4):  # what an earlier run left in the tenants the tests' keys name
            dirty = f"{shared.base_url}/_sandbox/clock/advance"
            assert httpx.post(dirty, headers={"X-API-Key": testing.key_for(f"test_user.py::test_isolated[{n}]")},
                              json={"seconds": 60}).status_code == 200
        result, seen = run(project, "-o", f"leadsail_url={shared.base_url}")
        assert result == {"passed": 5, "skipped": 2}              # the marker tests need servers of their own
        assert {f["base"] for f in isolated(seen).values()} == {shared.base_url}
        assert seen["threads-main"] == []                         # nothing was started there


def test_running_outside_pytest():
    with testing.running(seed=3, clock="manual") as sb:
        assert sb.server.running and sb.base_url.startswith("http://127.0.0.1:")
        lead = sb.api.post("/api/v1/leads", json={"campaignId": "HXZ", "firstName": "Ann", "lastName": "Lee",
                                                  "email": "ann@example.com", "phone": "+12125550103"})
        assert lead.status_code == 200, lead.text
        lead_id = lead.json()["data"]["leadId"]
        with testing.running(base_url=sb.base_url, api_key="another-tenant") as other:
            assert other.server is None                           # nothing started: the same sandbox
            assert other.api.get(f"/api/v1/leads/{lead_id}").status_code == 404
        assert sb.api.get(f"/api/v1/leads/{lead_id}").status_code == 200
        server, thread = sb.server, "leadsail-sandbox:" + sb.base_url.rsplit(":", 1)[1]
    assert not server.running and thread not in {t.name for t in threading.enumerate()}  # stopped and joined


def test_the_readme_shows_the_example_these_tests_run():
    """The README's pytest example is the file the plugin test runs, character for character."""
    root = Path(__file__).resolve().parents[2]
    example = (root / "tests" / "devtools" / "readme_example.py").read_text().rstrip("\n")
    assert f"```python\n{example}\n```" in (root / "README.md").read_text()
