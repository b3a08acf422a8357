"""The tool as a CI job uses it: exit codes, the report, the JUnit file, determinism, the shipped spec."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from contracts import cli, spec
from tests.contracts_suite.harness import KEY, Rewrite, serve
from tests.processes import free_port
from tests.contracts_suite.test_detection import retype_pagination_total

ROOT = Path(__file__).resolve().parents[2]


def _requests(base: str, seed: str) -> list[tuple[str, str, str, bytes]]:
    log = []
    with serve(lambda app: Rewrite(app, log=log)) as url:
        args = cli.parse_args(["--base-url", url, "--api-key", KEY, "--seed", seed, "--max-examples", "5",
                               "--include", "listClients", "getClient", "createLead", "getLead", "--no-journeys"])
        cli.run(args, out=io.StringIO(), err=io.StringIO())
    return [(e.method, e.path, e.query, e.body) for e in log if e.path.startswith("/api/v1/")]


def test_the_same_seed_sends_the_same_requests_and_another_seed_does_not():
    first, again, other = _requests("", "5"), _requests("", "5"), _requests("", "6")
    assert len(first) > 100
    assert first == again
    assert first != other


def test_a_failing_run_exits_1_with_the_failing_request_in_the_report_and_the_junit_file(tmp_path, capsys):
    junit = tmp_path / "reports" / "contracts.xml"
    with serve(lambda app: Rewrite(app, after=retype_pagination_total)) as base:
        code = cli.main(["--base-url", base, "--api-key", KEY, "--seed", "1", "--max-examples", "5",
                         "--include", "listClients", "--journeys", "cursor_pagination_is_exact", "--junit", str(junit)])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL  GET /api/v1/clients" in out and "response_schema_conformance" in out and "Result: FAILED" in out
    assert re.search(rf"curl -X GET -H 'X-API-Key: \[Filtered\]' '?{re.escape(base)}/api/v1/clients", out)
    assert KEY not in out and KEY not in junit.read_text()
    suites = {s.get("name"): s for s in ET.parse(junit).getroot()}
    failures = suites["operations"].findall("testcase/failure")
    assert [f.get("type") for f in failures] == ["response_schema_conformance"]
    assert suites["operations"].find("testcase").get("name") == "GET /api/v1/clients"
    assert [c.get("name") for c in suites["journeys"]] == ["cursor_pagination_is_exact"]


def test_a_clean_run_exits_0(capsys):
    with serve() as base:
        code = cli.main(["--base-url", base, "--api-key", KEY, "--seed", "1", "--max-examples", "5",
                         "--include", "listFieldLibrary", "getFieldLibraryEntry", "--no-journeys"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "ok    GET /api/v1/field-library/{key}" in out and "Result: PASSED" in out


@pytest.mark.parametrize("argv, message", [
    ([], "--api-key"),
    (["--api-key", "k", "--include", "noSuchOperation"], "unknown operation(s): noSuchOperation"),
    (["--api-key", "k", "--phases", "fuzzing,sideways"], "--phases"),
])
def test_bad_command_lines_exit_2(argv, message, capsys, monkeypatch):
    monkeypatch.delenv("LEADSAIL_API_KEY", raising=False)
    try:
        code = cli.main(["--base-url", "http://127.0.0.1:9", *argv])
    except SystemExit as exc:  # argparse
        code = exc.code
    assert code == 2 and message in capsys.readouterr().err


def test_the_spec_is_the_repository_root_file_and_ships_inside_the_package_without_a_copy():
    link = ROOT / "contracts" / "openapi.yaml"
    assert link.is_symlink() and link.resolve() == (ROOT / "openapi.yaml").resolve()
    assert spec.default_path() == ROOT / "openapi.yaml"
    assert 'contracts = ["openapi.yaml"]' in (ROOT / "pyproject.toml").read_text()
    assert 'leadsail-contracts = "contracts.cli:main"' in (ROOT / "pyproject.toml").read_text()
    assert len(spec.operations(spec.load())) == 26


def test_an_unreachable_target_or_a_refused_key_stops_the_run_at_once(capsys):
    assert cli.main(["--base-url", f"http://127.0.0.1:{free_port()}", "--api-key", "k", "--seed", "1"]) == 1
    assert "FATAL  cannot reach" in capsys.readouterr().out
    with serve() as base:
        assert cli.main(["--base-url", base, "--api-key", "never-issued", "--seed", "1"]) == 1
    out = capsys.readouterr().out
    assert "FATAL  the API key was refused: GET /api/v1/leads answered 401" in out and "0 requests" in out


def _case(path: str, params: dict, negative: bool = False):
    from types import SimpleNamespace as NS

    schema = NS(raw_schema=spec.load())
    mode = NS(is_negative=negative)
    return NS(operation=NS(path=path, schema=schema, label=f"POST {path}"), path_parameters=params,
              meta=NS(generation=NS(mode=mode)))


def test_a_created_record_that_reads_back_fine_clears_a_resource_availability_failure():
    from contracts.checks import resource_filter

    reads = []
    keep = resource_filter(lambda path: reads.append(path) or (200 if path.endswith("lead_ok") else 404))
    failure = type("F", (), {"checks": ("ensure_resource_availability",)})()
    assert keep(None, failure, _case("/api/v1/leads/{leadId}/deliver", {"leadId": "lead_ok"}), None) is False
    assert keep(None, failure, _case("/api/v1/leads/{leadId}/deliver", {"leadId": "lead_gone"}), None) is True
    assert reads == ["/api/v1/leads/lead_ok", "/api/v1/leads/lead_gone"]
    other = type("F", (), {"checks": ("not_a_server_error",)})()
    assert keep(None, other, _case("/api/v1/leads/{leadId}/deliver", {"leadId": "lead_ok"}), None) is True


def test_a_schema_valid_request_refused_in_schema_wording_fails_only_while_a_run_is_active():
    from types import SimpleNamespace as NS

    from contracts import checks

    answer = {"success": False, "error": {"code": "VALIDATION_ERROR", "message": "Invalid input data",
                                          "details": ["firstName: must be a string"]}}
    business = {"success": False, "error": {"code": "VALIDATION_ERROR", "message": "Invalid input data",
                                            "details": ["campaignId: unknown campaign 'must be a'"]}}
    response = NS(status_code=400, json=lambda: answer)
    case = _case("/api/v1/leads", {})
    assert checks.positive_data_not_refused_for_shape(None, response, case) is None  # inactive: pytest elsewhere
    checks.activate(True)
    try:
        with pytest.raises(checks.RefusedAsInvalid, match="firstName: must be a string"):
            checks.positive_data_not_refused_for_shape(None, response, case)
        assert checks.positive_data_not_refused_for_shape(None, NS(status_code=400, json=lambda: business), case) is None
        assert checks.positive_data_not_refused_for_shape(None, response, _case("/api/v1/leads", {}, negative=True)) is None
    finally:
        checks.activate(False)
