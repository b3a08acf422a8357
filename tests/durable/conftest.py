"""Fixtures for the durable-store tests: sandbox subprocesses on a store (each durable store in turn),
started and killed at will. The PostgreSQL fixtures are in tests/conftest.py (the API suite uses them too)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.processes import free_port


ROOT = Path(__file__).resolve().parents[2]


class Sandbox:
    """``python -m sandbox --store URL ...`` as a subprocess: start, stop (SIGTERM), kill -9."""

    def __init__(self, store: str, *flags: str):
        self.store, self.flags, self.port = store, flags, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> "Sandbox":
        env = dict(os.environ, SANDBOX_GC_TUNING="0")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "--store", self.store, "--port", str(self.port), *self.flags],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sandbox exited: {self.process.stderr.read().decode()}")
            try:
                if httpx.get(f"{self.base}/_sandbox/ready", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("sandbox did not become ready")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=20)
        self.process = None


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """Each durable store in turn: a SQLite file, a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path}/sandbox.db"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def sandbox_on(store_url):
    """``sandbox_on(*flags)``: a sandbox subprocess on this test's store; several share it."""
    started: list[Sandbox] = []

    def make(*flags: str) -> Sandbox:
        box = Sandbox(store_url, *flags)
        started.append(box)
        return box

    yield make
    for box in started:
        box.stop(signal.SIGKILL)
