"""A real webhook receiver on 127.0.0.1 for the durable-store tests (never a mock of the sender)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOLDS = ("none", "all", "first")


class WebhookReceiver:
    """Records each request's ``(event, webhook-id)`` in ``received`` and sets ``arrived`` at the first.

    ``hold``: "none" answers 200 at once; "all" answers 200 once ``release`` is set (a sender stays
    inside its await meanwhile); "first" never answers a delivery's first attempt (it is in flight
    until its sender gives up or dies) and answers 200 to any later one."""

    def __init__(self, hold: str = "none"):
        assert hold in HOLDS, hold
        self.received: list[tuple[str | None, str | None]] = []
        self.arrived, self.release = threading.Event(), threading.Event()
        received, arrived, release = self.received, self.arrived, self.release

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    event = json.loads(raw).get("event")
                except (ValueError, AttributeError):
                    event = None
                webhook_id = self.headers.get("webhook-id")
                first = webhook_id not in [i for _, i in received]
                received.append((event, webhook_id))
                arrived.set()
                if hold == "all" or (hold == "first" and first):
                    release.wait(60)
                if hold == "first" and first:
                    return  # no answer: the connection just closes
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def ids(self) -> list[str | None]:
        return [webhook_id for _, webhook_id in self.received]

    @property
    def events(self) -> list[str | None]:
        return [event for event, _ in self.received]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
