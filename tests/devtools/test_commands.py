"""``leadsail-sandbox <command>`` (sandbox/commands.py) against a sandbox on a real loopback port.

Commands run in process through ``sandbox.cli.main`` (the real dispatch) with output captured;
one runs as a subprocess to show the exit code and the one-line message a CI script gets when
nothing listens. Each test is its own tenant (its own key) and its own sink name.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from sandbox import cli, commands
from sandbox.client import SandboxClient
from sandbox.services.events import EVENT_NAMES
from tests.devtools.live_sandbox import ADMIN_KEY, serve
from tests.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
PLAIN_PHONE = "+12125557788"
HXZ_NUMBER = "+18335645667"
START = "2026-01-15T15:00:00Z"


@pytest.fixture(scope="module")
def base_url():
    with serve() as url:
        yield url


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("LEADSAIL_URL", "LEADSAIL_API_KEY", "SANDBOX_ADMIN_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def key():
    return f"cmd-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def sb(base_url, key):
    with SandboxClient(base_url, key, admin_key=ADMIN_KEY) as client:
        yield client


@pytest.fixture
def run(base_url, key, capsys):
    """run(*argv) → (exit code, stdout, stderr), against this test's tenant."""
    def invoke(*argv: str, url: str | None = None, with_key: bool = True):
        extra = ["--url", url or base_url] + (["--key", key] if with_key else [])
        code = cli.main([*argv, *extra])
        out, err = capsys.readouterr()
        return code, out, err
    return invoke


def make_lead(sb: SandboxClient, campaign: str = "HXZ", **extra) -> str:
    body = {"campaignId": campaign, "firstName": "Jane", "lastName": "Doe", "email": "jane@example.com",
            "phone": PLAIN_PHONE, **extra}
    response = sb.api.post("/api/v1/leads", json=body)
    assert response.status_code == 200, response.text
    return response.json()["data"]["leadId"]


def hook(sb: SandboxClient, campaign: str, *events: str) -> str:
    """Point the campaign's webhook at a sink of its own for ``events``; the sink's name."""
    sink = f"t-{uuid.uuid4().hex[:10]}"
    sb.campaigns.update(campaign, webhooks={"enabled": True, "url": sb.webhooks.sink_url(sink),
                                            "events": {e: True for e in events}})
    return sink


# --- dispatch, exit codes, options ------------------------------------------------------------------

def test_server_flags_still_start_the_server(monkeypatch):
    import uvicorn
    seen: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: seen.update(kwargs))
    monkeypatch.setenv("SANDBOX_GC_TUNING", "0")
    assert cli.main(["--port", "9000", "--clock", "manual"]) == 0
    assert seen["port"] == 9000


def test_every_command_name_dispatches():
    parser = commands.build_parser()
    for name in commands.COMMANDS:
        with pytest.raises(SystemExit) as shown:
            parser.parse_args([name, "--help"] if name in ("trigger", "reset", "info") else [name, "-h"])
        assert shown.value.code == 0


def test_info_human_and_json(run, base_url):
    code, out, err = run("info")
    assert (code, err) == (0, "")
    assert out == f"leadsail-sandbox 0.1.0 at {base_url} (open mode)\n"
    code, out, _ = run("info", "--json")
    assert code == 0 and json.loads(out) == {"service": "leadsail-sandbox", "version": "0.1.0", "mode": "open"}


def test_url_and_key_come_from_the_environment(run, base_url, key, monkeypatch, sb):
    sb.clock.advance(minutes=5)
    monkeypatch.setenv("LEADSAIL_URL", base_url)
    monkeypatch.setenv("LEADSAIL_API_KEY", key)
    assert cli.main(["clock", "show", "--json"]) == 0


def test_a_refusal_is_exit_1_with_one_line_on_stderr(run):
    code, out, err = run("clock", "jump", "2026-01-01T00:00Z")
    assert (code, out) == (1, "")
    assert err == ("error VALIDATION_ERROR: Invalid input data; now: 2026-01-01T00:00:00Z is before the "
                   f"tenant's current time {START}\n")


def test_a_key_strict_mode_did_not_issue_is_exit_1_unauthorized(capsys):
    with serve(strict=True) as url:
        code = cli.main(["clock", "show", "--url", url, "--key", "not-issued"])
        out, err = capsys.readouterr()
        assert (code, out) == (1, "")
        assert err.startswith("error UNAUTHORIZED: ") and err.count("\n") == 1
        assert cli.main(["info", "--url", url, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["mode"] == "strict"


def test_nothing_listening_is_exit_3_in_one_line():
    url = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run([sys.executable, "-m", "sandbox", "clock", "show", "--url", url], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 3 and done.stdout == ""
    assert done.stderr.startswith(f"leadsail-sandbox clock show: cannot reach {url}: ")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_usage_errors_are_exit_2(run, capsys):
    code, _, err = run("clock", "advance", "15x")
    assert code == 2 and "'15x' is not a duration" in err
    code, _, err = run("clock", "advance", "15m", "--to", "2026-01-16T00:00Z")
    assert code == 2 and "not both" in err
    code, _, err = run("clock", "jump", "next tuesday")
    assert code == 2 and "not an ISO 8601 date-time" in err
    code, _, err = run("keys", "list")
    assert code == 2
    assert err == "leadsail-sandbox keys list: keys needs the admin key: --admin-key or SANDBOX_ADMIN_KEY\n"
    assert cli.main(["clock"]) == 2
    code, _, err = run("info", url="localhost:8000")
    assert code == 2 and "--url must be an http:// or https:// URL" in err
    capsys.readouterr()


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400),
                                           ("1h30m", 5400), ("45", 45), ("1.5m", 90)])
def test_durations(text, seconds):
    assert commands.duration(text) == seconds


# --- clock ----------------------------------------------------------------------------------------

def test_clock_show_advance_jump_mode(run):
    code, out, _ = run("clock", "show")
    assert (code, out) == (0, f"now {START} (manual); 0 jobs pending, next due none\n")
    code, out, _ = run("clock", "advance", "15m")
    assert (code, out) == (0, "now 2026-01-15T15:15:00Z; ran 0 jobs\n")
    code, out, _ = run("clock", "advance", "--to", "2026-01-15T16:00Z", "--json")
    assert code == 0 and json.loads(out) == {"now": "2026-01-15T16:00:00Z", "ranCount": 0, "byKind": {}}
    code, out, _ = run("clock", "advance", "90s", "--full", "--json")
    assert code == 0 and json.loads(out) == {"now": "2026-01-15T16:01:30Z", "ran": []}
    code, out, _ = run("clock", "jump", "2026-01-16T15:00Z")
    assert (code, out) == (0, "now 2026-01-16T15:00:00Z; ran 0 jobs\n")
    code, out, _ = run("clock", "mode", "realtime", "--speed", "10")
    assert code == 0 and out.startswith("now 2026-01-16T15:00") and "(realtime x10)" in out
    code, out, _ = run("clock", "mode", "manual", "--json")
    assert code == 0 and json.loads(out)["mode"] == "manual"


def test_clock_advance_counts_the_jobs_it_ran(run, sb):
    lead_id = make_lead(sb)
    sb.force_next_outcome(lead_id, "voicemail")
    sb.api.post("/api/v1/voice/calls/initiate", json={"leadId": lead_id})
    code, out, _ = run("clock", "advance", "10m")
    assert (code, out) == (0, "now 2026-01-15T15:10:00Z; ran 2 jobs (call.answer 1, call.end 1)\n")


# --- sms, calls, dialer ------------------------------------------------------------------------------

def test_sms_inbound_and_messages(run, sb):
    lead_id = make_lead(sb)
    code, out, _ = run("sms", "inbound", "--from", PLAIN_PHONE, "--to", HXZ_NUMBER, "--text", "Still interested")
    assert code == 0 and out.startswith("msg_") and out.count("\n") == 1
    assert f"received from {PLAIN_PHONE} at {HXZ_NUMBER}: lead {lead_id}, interaction int_" in out
    code, out, _ = run("sms", "inbound", "--from", PLAIN_PHONE, "--to", HXZ_NUMBER, "--text", "again", "--json")
    assert code == 0 and json.loads(out)["leadId"] == lead_id
    code, out, _ = run("sms", "messages", "--lead", lead_id)
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2 and lines[1].endswith(f"inbound received {PLAIN_PHONE} -> {HXZ_NUMBER} "
                                                                f"{lead_id}: Still interested")
    code, out, err = run("sms", "inbound", "--from", PLAIN_PHONE, "--to", "+15550000000", "--text", "hi")
    assert code == 1 and err.startswith("error VALIDATION_ERROR: ")


def test_calls_inbound(run, sb):
    lead_id = make_lead(sb)
    code, out, _ = run("calls", "inbound", "--from", PLAIN_PHONE, "--to", "+18335645670")
    assert code == 0 and out.startswith("int_")
    assert out.endswith(f"answered by agent_max: lead {lead_id}, campaign HXZ; the call plays out on the clock\n")
    code, out, _ = run("calls", "inbound", "--from", "+13035550100", "--to", "+18335645670", "--json")
    assert code == 0 and json.loads(out)["matched"] is False


def test_dialer_check_and_queue(run, sb):
    lead_id = make_lead(sb)
    code, out, _ = run("dialer", "check", lead_id)
    assert (code, out) == (0, f"{lead_id} (HXZ, local 2026-01-15T10:00:00-05:00): may be called now\n")
    sb.api.post("/api/v1/voice/calls/initiate", json={"leadId": lead_id})
    code, out, _ = run("dialer", "check", lead_id)
    assert code == 0 and out.splitlines()[0].endswith("not now; next allowed at 2026-01-15T16:00:00Z")
    assert out.splitlines()[1].startswith("  minimumGap: refused - ")
    code, out, _ = run("dialer", "check", lead_id, "--json")
    assert code == 0 and json.loads(out)["allowedNow"] is False
    code, out, _ = run("dialer", "queue")
    assert (code, out) == (0, "queue empty\n")
    other = make_lead(sb, phone="+13035550101")
    sb.api.post("/api/v1/leads/send-to-auto-dialer", json={"leadIds": [other]})
    code, out, _ = run("dialer", "queue", "--campaign", "HXZ")
    assert code == 0 and out.startswith(f"{other} HXZ at 2026-01-15T") and out.endswith("(attempts 0/6)\n")
    code, _, err = run("dialer", "check", "lead_nope")
    assert code == 1 and err == "error NOT_FOUND: Resource not found\n"


# --- webhooks and trigger -----------------------------------------------------------------------------

def test_trigger_call_completed_really_delivers_to_the_sink(run, sb):
    sink = hook(sb, "HXZ", "call.completed")
    lead_id = make_lead(sb)
    code, out, err = run("trigger", "call.completed", "--lead", lead_id)
    assert (code, err) == (0, "")
    head, delivery_line = out.splitlines()
    assert head.startswith(f"call.completed: {lead_id} via a test call placed with POST "
                           "/api/v1/voice/calls/initiate: int_")
    assert delivery_line.startswith("  whd_") and " delivered call.completed " in delivery_line
    # The delivery is in the log, delivered, and the sink really received it.
    (delivery,) = sb.webhooks.deliveries(event="call.completed", lead_id=lead_id)
    assert delivery["status"] == "delivered" and delivery["url"] == sb.webhooks.sink_url(sink)
    received = sb.webhooks.sink(sink)["requests"]
    assert [json.loads(r["body"])["event"] for r in received] == ["call.completed"]
    assert json.loads(received[0]["body"])["leadId"] == lead_id
    interaction = sb.api.get(f"/api/v1/interactions/{delivery['payload']['interactionId']}").json()["data"]
    assert interaction["status"] != "in_progress" and interaction["call"]["source"] == "api"

    # webhooks list / show / replay
    code, out, _ = run("webhooks", "list", "--event", "call.completed", "--lead", lead_id)
    assert code == 0 and out == delivery_line.strip() + "\n"
    code, out, _ = run("webhooks", "list", "--json")
    assert code == 0 and [d["deliveryId"] for d in json.loads(out)] == [delivery["deliveryId"]]
    code, out, _ = run("webhooks", "replay", delivery["deliveryId"])
    assert code == 0 and out.startswith(f"{delivery['deliveryId']} delivered call.completed {lead_id} -> ")
    assert "(2 attempts, last 200)" in out
    code, out, _ = run("webhooks", "show", delivery["deliveryId"])
    assert code == 0 and [line.split(" at ")[0] for line in out.splitlines()[1:]] == [
        "  attempt 1 initial", "  attempt 2 replay"]
    assert len(sb.webhooks.sink(sink)["requests"]) == 2
    code, _, err = run("webhooks", "replay", "whd_nope")
    assert code == 1 and err.startswith("error NOT_FOUND")


def test_trigger_json_output_and_lead_events(run, sb):
    sb.campaigns.update("HXZ", requiredFields=["first_name", "last_name", "email", "phone"])
    sink = hook(sb, "HXZ", "lead.queued", "lead.processed", "lead.delivered")
    lead_id = make_lead(sb)
    code, out, _ = run("trigger", "lead.delivered", "--lead", lead_id, "--json")
    result = json.loads(out)
    assert code == 0 and result["happened"] is True and result["status"] == "delivered"
    assert result["fired"] == ["lead.queued", "lead.processed", "lead.delivered"]
    assert [(d["event"], d["status"]) for d in result["deliveries"]] == [("lead.delivered", "delivered")]
    events = [json.loads(r["body"])["event"] for r in sb.webhooks.sink(sink)["requests"]]
    assert events == ["lead.queued", "lead.processed", "lead.delivered"]
    assert {d["event"] for d in sb.webhooks.deliveries(lead_id=lead_id)} == {"lead.queued", "lead.processed",
                                                                            "lead.delivered"}


def test_trigger_says_when_the_run_ended_without_the_event(run, sb):
    lead_id = make_lead(sb)  # HXZ needs vehicle_year: the run ends missing_data
    code, out, err = run("trigger", "lead.delivered", "--lead", lead_id)
    assert (code, out) == (1, "")
    assert err.startswith("error EVENT_NOT_REACHED: lead.delivered did not happen: a manual delivery ")
    assert "ended 'missing_data' (fired lead.queued, lead.processed)" in err and err.count("\n") == 1
    code, out, err = run("trigger", "lead.failed", "--lead", lead_id, "--json")
    assert code == 1 and json.loads(out)["happened"] is False and err.startswith("error EVENT_NOT_REACHED: ")
    code, out, _ = run("trigger", "lead.processed", "--lead", lead_id)
    assert code == 0 and out.splitlines()[0].endswith(f"missing_data at {sb.clock.get()['now']}")
    assert out.splitlines()[1].startswith("  no webhook subscribes to lead.processed for campaign HXZ")


def test_trigger_first_submission_action(run, sb):
    code, _, err = run("trigger", "lead.first_submission_action", "--lead", make_lead(sb))
    assert code == 1 and err.startswith("error CANNOT_TRIGGER: campaign HXZ delivers immediately")
    sink = hook(sb, "U4D", "lead.first_submission_action")  # U4D's first action is human review
    lead_id = make_lead(sb, campaign="U4D")
    code, out, _ = run("trigger", "lead.first_submission_action", "--lead", lead_id)
    assert code == 0 and "via a resubmission (POST /api/v1/leads/submit): sub_" in out
    assert "pending_action" in out.splitlines()[0] and " delivered lead.first_submission_action " in out
    assert len(sb.webhooks.sink(sink)["requests"]) == 1


def test_trigger_sms_received_texts_from_the_leads_phone(run, sb):
    lead_id = make_lead(sb)
    code, out, _ = run("trigger", "sms.received", "--lead", lead_id, "--text", "call me later")
    assert code == 0 and out.startswith(f"sms.received: {lead_id} via an inbound text from {PLAIN_PHONE} "
                                        f"to {HXZ_NUMBER}")
    (message,) = sb.sms.messages(lead_id=lead_id)
    assert (message["direction"], message["text"]) == ("inbound", "call me later")


def test_trigger_refuses_an_event_it_cannot_make_happen_with_the_list(run, sb):
    code, out, err = run("trigger", "lead.exploded", "--lead", "lead_x")
    assert code == 2 and out == ""
    assert "invalid choice: 'lead.exploded'" in err and all(name in err for name in commands.TRIGGERS)
    # every webhook event the sandbox sends can be triggered
    assert set(EVENT_NAMES) <= set(commands.TRIGGERS)
    code, _, err = run("trigger", "call.completed", "--lead", "lead_nope")
    assert code == 1 and err.startswith("error NOT_FOUND")


# --- state, reset, keys --------------------------------------------------------------------------------

def test_state_export_import_and_reset(run, sb, tmp_path, monkeypatch):
    sb.clock.advance(minutes=30)
    code, out, _ = run("state", "export")
    assert code == 0 and json.loads(out)["clock"]["now"] == "2026-01-15T15:30:00Z"
    world = tmp_path / "world.json"
    world.write_text(out)
    code, out, _ = run("reset")
    assert code == 0 and out.startswith("reset: tenant org_") and out.endswith(f", now {START}, 50 leads\n")
    code, out, _ = run("state", "import", str(world))
    assert code == 0 and out.endswith(", now 2026-01-15T15:30:00Z, 50 leads\n") and out.startswith("imported: ")
    assert sb.state.export() == json.loads(world.read_text())
    code, out, _ = run("state", "export", "-o", str(tmp_path / "again.json"), "--json")
    assert code == 0 and json.loads(out)["leads"] == 50
    assert json.loads((tmp_path / "again.json").read_text()) == json.loads(world.read_text())
    run("reset", "--json")
    monkeypatch.setattr(sys, "stdin", open(world))  # `state import -` reads stdin
    code, out, _ = run("state", "import", "-", "--json")
    assert code == 0 and json.loads(out)["now"] == "2026-01-15T15:30:00Z"
    code, _, err = run("state", "import", str(tmp_path / "missing.json"))
    assert code == 2 and "cannot read" in err
    (tmp_path / "bad.json").write_text('{"version": 2}')
    code, _, err = run("state", "import", str(tmp_path / "bad.json"))
    assert code == 1 and err.startswith("error VALIDATION_ERROR: Invalid input data; ")


def test_keys_issue_list_revoke(run):
    code, out, _ = run("keys", "issue", "--label", "ci", "--new-key", "ci-issued-key-1", "--admin-key", ADMIN_KEY)
    assert (code, out) == (0, "ci-issued-key-1\n")  # bare: KEY=$(leadsail-sandbox keys issue ...)
    code, out, _ = run("keys", "list", "--admin-key", ADMIN_KEY)
    assert code == 0 and "ci-issue… ci" in out.splitlines()
    code, out, _ = run("keys", "list", "--admin-key", ADMIN_KEY, "--json")
    assert {"keyPrefix": "ci-issue", "label": "ci"} in json.loads(out)
    code, out, _ = run("keys", "revoke", "ci-issued-key-1", "--admin-key", ADMIN_KEY)
    assert (code, out) == (0, "revoked ci-issue… and dropped its tenant\n")
    code, _, err = run("keys", "revoke", "ci-issued-key-1", "--admin-key", ADMIN_KEY)
    assert code == 1 and err == "error NOT_FOUND: Resource not found\n"
    code, _, err = run("keys", "list", "--admin-key", "wrong")
    assert code == 1 and err.startswith("error UNAUTHORIZED")
