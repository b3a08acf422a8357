"""A sandbox on a real local port, optionally broken on purpose, for running the contract suite against.

``serve(breakage)`` starts ``sandbox.app.create_app`` (strict mode, one issued key, response
validation off as in production; ``strict=False`` and other ``Settings`` fields for a sandbox as
``leadsail-sandbox`` starts it by default) under uvicorn in a background thread and yields its base URL;
``breakage`` is an ASGI middleware factory wrapped around the app, so the suite sees exactly what a
client of a broken deployment would see. The one thing a reader might get wrong: the middlewares
buffer the whole response and rewrite it after the sandbox produced a correct one — the sandbox is
never modified, only what leaves the socket.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import uvicorn

from sandbox.app import create_app
from sandbox.settings import Settings
from tests.processes import free_port

KEY = "contracts-suite-key"
ADMIN = "contracts-suite-admin"


@dataclass
class Exchange:
    """One request as the app saw it and the response the client will get (mutable)."""
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int = 0
    response_headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    response_body: bytes = b""

    def json(self):
        try:
            return json.loads(self.response_body)
        except ValueError:
            return None

    def set_json(self, payload, status: int | None = None) -> None:
        self.response_body = json.dumps(payload).encode()
        self.status = status or self.status
        self.response_headers = [(k, v) for k, v in self.response_headers if k.lower() != b"content-length"]
        self.response_headers.append((b"content-length", str(len(self.response_body)).encode()))


class Rewrite:
    """ASGI middleware: ``before(exchange)`` may change the request, ``after(exchange)`` the response."""

    def __init__(self, app, before: Callable[[Exchange], None] | None = None,
                 after: Callable[[Exchange], None] | None = None, log: list | None = None):
        self.app, self.before, self.after, self.log = app, before, after, log

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        exchange = Exchange(scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1"),
                            {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
                            b"".join(chunks))
        if self.before:
            self.before(exchange)
            scope = dict(scope, headers=[(k.encode("latin-1"), v.encode("latin-1")) for k, v in exchange.headers.items()])
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": exchange.body, "more_body": False}

        async def capture(message):
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                exchange.response_headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                exchange.response_body += message.get("body", b"")

        await self.app(scope, replay, capture)
        if self.after:
            self.after(exchange)
        if self.log is not None:
            self.log.append(exchange)
        await send({"type": "http.response.start", "status": exchange.status, "headers": exchange.response_headers})
        await send({"type": "http.response.body", "body": exchange.response_body})


@contextlib.contextmanager
def serve(wrap: Callable | None = None, *, strict: bool = True, **settings) -> Iterator[str]:
    app = create_app(Settings(strict=strict, admin_key=ADMIN, **settings))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(wrap(app) if wrap else app, host="127.0.0.1", port=port,
                                           log_level="error", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the sandbox did not start"
            time.sleep(0.02)
        if strict:  # in open mode KEY opens a tenant like any other key
            issued = httpx.post(f"{base}/_sandbox/admin/keys", headers={"X-Admin-Key": ADMIN},
                                json={"key": KEY, "label": "contracts suite"})
            assert issued.status_code == 200, issued.text
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
