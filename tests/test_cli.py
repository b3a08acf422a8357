"""The CLI's settings and how it runs uvicorn: the default start time, the shutdown bound."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from sandbox.app import create_app
from sandbox.cli import main, parse_args, settings_from
from sandbox.clock import parse_instant
from sandbox.settings import DEFAULT_START
from tests.conftest import data
from tests.processes import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def no_sandbox_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("SANDBOX_"):
            monkeypatch.delenv(name)


def test_a_manual_clock_without_a_start_time_starts_at_the_documented_instant(monkeypatch):
    assert settings_from(parse_args(["--clock", "manual"])).start_time == parse_instant(DEFAULT_START)
    monkeypatch.setenv("SANDBOX_CLOCK", "manual")
    assert settings_from(parse_args([])).start_time == parse_instant(DEFAULT_START)
    assert DEFAULT_START == "2026-01-15T15:00:00Z"  # what the README promises


def test_start_time_sets_where_a_realtime_clock_starts():
    settings = settings_from(parse_args(["--start-time", "2030-01-01T00:00:00Z"]))
    assert settings.clock_mode == "realtime"
    with TestClient(create_app(settings)) as client:
        client.headers["X-API-Key"] = "k"
        clock = data(client.get("/_sandbox/clock"))
    # It runs from there: at least the start time, and nowhere near the wall clock's year.
    assert clock["mode"] == "realtime" and "2030-01-01T00:00:00Z" <= clock["now"] < "2030-01-02"


def test_a_start_time_outside_the_clocks_range_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        parse_args(["--start-time", "0001-01-01T00:00:00+01:00"])
    assert "outside the years 0001-9999" in capsys.readouterr().err


@pytest.fixture
def uvicorn_kwargs(monkeypatch):
    import uvicorn

    seen: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: seen.update(kwargs))
    monkeypatch.setenv("SANDBOX_GC_TUNING", "0")  # gc.freeze() would outlive this test
    return seen


def test_shutdown_grace_reaches_uvicorn(uvicorn_kwargs, monkeypatch):
    assert main(["--shutdown-grace", "1.5"]) == 0
    assert uvicorn_kwargs["timeout_graceful_shutdown"] == 1.5
    monkeypatch.setenv("SANDBOX_SHUTDOWN_GRACE", "2")
    assert main([]) == 0
    assert uvicorn_kwargs["timeout_graceful_shutdown"] == 2.0


def test_shutdown_is_bounded_by_default(uvicorn_kwargs):
    assert main([]) == 0
    assert uvicorn_kwargs["timeout_graceful_shutdown"] == 5.0  # not None: uvicorn's "wait forever"


def test_sigterm_cuts_a_request_hanging_on_a_webhook_after_the_grace():
    # A receiver that accepts connections (the kernel does, from the backlog) and never answers.
    receiver = socket.socket()
    receiver.bind(("127.0.0.1", 0))
    receiver.listen(8)
    receiver.settimeout(30)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "sandbox", "--clock", "manual", "--port", str(port),
                               "--shutdown-grace", "1"], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env={**os.environ, "SANDBOX_GC_TUNING": "0"})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sandbox/scenarios", timeout=2):
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.1)
        body = json.dumps({"url": f"http://127.0.0.1:{receiver.getsockname()[1]}/hang", "timeoutSeconds": 120})
        client = socket.create_connection(("127.0.0.1", port))
        client.sendall((f"POST /_sandbox/webhooks/test HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: k\r\n"
                        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode())
        hanging, _ = receiver.accept()  # the sandbox is now waiting for an answer that never comes
        server.send_signal(signal.SIGTERM)
        # A bound, not a benchmark: grace 1 s; without it the process waited out the 120 s webhook.
        assert server.wait(timeout=20) is not None
        hanging.close()
        client.close()
    finally:
        if server.poll() is None:
            server.kill()
        server.communicate(timeout=10)
        receiver.close()
