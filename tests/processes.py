"""A sandbox in a process of its own, for tests that need what only a real process has: its own
RSS, signals, a real socket, the CLI's server and flags.

The one thing a reader might get wrong: ``sandbox_process`` returns once the sandbox *answers*, not
once the process exists; and it always stops the process, even when the test failed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def sandbox_process(*flags: str, start_timeout: float = 30) -> Iterator[tuple[subprocess.Popen, str]]:
    """``python -m sandbox --port P *flags`` started and answering: (process, base URL)."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", str(port), *flags],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env=dict(os.environ, SANDBOX_GC_TUNING="0"))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                httpx.get(f"{base}/_sandbox/scenarios", timeout=1)
                break
            except httpx.HTTPError:
                assert process.poll() is None, process.stderr.read().decode()
                assert time.monotonic() < deadline, f"the sandbox did not answer within {start_timeout} s"
                time.sleep(0.1)
        yield process, base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
