"""A sandbox on a real loopback port for the devtools tests (client, commands).

``serve(**settings)`` starts ``sandbox.app.create_app(Settings(**settings))`` — manual clock, open
mode unless told — under uvicorn in a background thread and yields its base URL; the lifespan runs,
so webhooks really leave (to the built-in sink on the same port). The one thing a reader might get
wrong: one server is shared by a whole test module, so each test isolates itself with its own
``X-API-Key`` (a fresh tenant in open mode) and its own sink name, not with a reset.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn

from sandbox.app import create_app
from sandbox.settings import Settings

ADMIN_KEY = "devtools-admin-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(**settings) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # public_url: links the sandbox hands out (recordings) name this server, not the default :8000.
    app = create_app(Settings(admin_key=ADMIN_KEY, port=port, public_url=base, validate_specs=False, **settings))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", access_log=False,
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the sandbox did not start"
            time.sleep(0.02)
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
