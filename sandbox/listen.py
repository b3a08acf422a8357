"""``leadsail-sandbox listen --forward-to URL``: a sandbox's webhooks, forwarded to a receiver it
cannot reach (a shared partner sandbox and a developer's localhost), like ``stripe listen``.

One outgoing connection to the sandbox (long polling ``GET /_sandbox/webhooks/listen`` with the
tenant's key): while it is connected, every event of the tenant gets a delivery for the listener,
configured webhook URL or not. Each is POSTed to ``--forward-to`` with the delivery's headers
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature``, ``content-type`` ...) and body
byte for byte, so a receiver verifies the signature with the tenant's ``webhookSecret`` as it
would for a real delivery; the answer is reported back (``POST .../listen/{id}/result``) and shows
in the delivery log; one line per event is printed (``--json``: one JSON object per line).

After a drop it reconnects with backoff, keeping its cursor, so what it already forwarded is not
sent again; a restarted listener starts without one and gets every attempt nobody reported.

The one thing a reader might get wrong: the report, not the forward, is what counts. An attempt
forwarded but not reported (killed in between) is forwarded again after a restart with the same
``webhook-id`` — receivers dedupe on it — and the delivery log records it once.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from urllib.parse import urlsplit

import httpx

from . import __version__

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_KEY = "dev-key"
WAIT_SECONDS = 25                      # per long poll; under the 30 s idle limit of common proxies
BACKOFF_SECONDS = (0.5, 1, 2, 4, 8)    # between reconnection tries, the last repeated
EXCERPT_BYTES = 4096                   # of the local receiver's answer, reported to the log
ERROR_CHARS = 1000
NOT_FORWARDED = ("host", "content-length", "transfer-encoding", "connection")  # set by the HTTP client


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="leadsail-sandbox listen",
                                     description="Forward a sandbox's webhooks to a local URL "
                                                 "over one outgoing connection.")
    parser.add_argument("--forward-to", dest="forward_to", required=True, metavar="URL",
                        help="where to POST each webhook, e.g. http://localhost:3000/webhooks")
    parser.add_argument("--url", default=os.environ.get("LEADSAIL_URL") or DEFAULT_URL,
                        help=f"the sandbox (env LEADSAIL_URL; default {DEFAULT_URL})")
    parser.add_argument("--key", default=os.environ.get("LEADSAIL_API_KEY") or DEFAULT_KEY,
                        help=f"the tenant's X-API-Key (env LEADSAIL_API_KEY; default {DEFAULT_KEY})")
    parser.add_argument("--events", metavar="a,b",
                        help="only these events, comma-separated (default every event), "
                             "e.g. call.completed,lead.delivered")
    parser.add_argument("--json", action="store_true", help="print one JSON object per event instead of a line of text")
    parser.add_argument("--wait-seconds", dest="wait_seconds", type=int, default=WAIT_SECONDS,
                        choices=range(1, 31), metavar="1-30", help=f"length of one long poll (default {WAIT_SECONDS})")
    args = parser.parse_args(argv)
    for flag, url in (("--forward-to", args.forward_to), ("--url", args.url)):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            parser.error(f"{flag}: must be an absolute http:// or https:// URL, not {url!r}")
    return args


class Fatal(Exception):
    """The sandbox refused the listener for a reason retrying cannot fix (wrong key, bad --events)."""


class Retry(Exception):
    """The sandbox could not answer now (dropped connection, 5xx): reconnect with backoff."""


class Listener:
    def __init__(self, url: str, key: str, forward_to: str, *, events: str | None = None, as_json: bool = False,
                 wait_seconds: int = WAIT_SECONDS, out=None, err=None, sleep=time.sleep):
        self.url = url.rstrip("/")
        self.forward_to = forward_to
        self.events = events
        self.as_json = as_json
        self.wait_seconds = wait_seconds
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.sleep = sleep
        self.cursor: str | None = None
        self.unreported: dict[tuple[str, int], dict] = {}   # forwarded; the sandbox has not taken the result yet
        self.sandbox = httpx.Client(base_url=self.url, timeout=httpx.Timeout(10, read=wait_seconds + 15),
                                    headers={"X-API-Key": key, "User-Agent": f"leadsail-sandbox-listen/{__version__}"})
        # trust_env=False: a proxy variable must not reroute a delivery meant for this machine.
        self.local = httpx.Client(trust_env=False, follow_redirects=False)

    def close(self) -> None:
        self.sandbox.close()
        self.local.close()

    # --- the loop ---------------------------------------------------------------------------------

    def run(self) -> int:
        failures, connected = 0, False
        while True:
            try:
                self._flush()
                # The first poll answers at once: the sandbox counts this listener from here on.
                page = self._poll(self.wait_seconds if connected else 0)
                if not connected:
                    self._say(f"Ready: forwarding {self._scope()} of {self.url} to {self.forward_to}"
                              + (" (reconnected)" if failures else "") + "  (Ctrl-C to stop)")
                    connected, failures = True, 0
                for item in page["deliveries"]:
                    self._handle(item)
                self.cursor = page["cursor"]  # only once the page is done: what it held is forwarded
            except Fatal as exc:
                self._say(f"listen: {exc}")
                return 2
            except (Retry, httpx.TransportError) as exc:
                delay = BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS) - 1)]
                failures += 1
                self._say(f"{'connection lost' if connected else 'cannot reach the sandbox'} ({_reason(exc)}); "
                          f"retrying in {delay:g} s")
                connected = False
                self.sleep(delay)

    def _poll(self, wait: int) -> dict:
        params = {"waitSeconds": wait}
        if self.cursor:
            params["after"] = self.cursor
        if self.events:
            params["events"] = self.events
        return self._answer(self.sandbox.get("/_sandbox/webhooks/listen", params=params), "listen")

    def _handle(self, item: dict) -> None:
        key = (item["deliveryId"], item["attempt"])
        if key in self.unreported:
            return  # forwarded already; its result is on its way
        result = self._forward(item)
        self.unreported[key] = result
        self._print(item, result)
        self._flush()

    def _flush(self) -> None:
        """Report every result the sandbox has not taken yet (a report is idempotent)."""
        for (delivery_id, attempt), result in list(self.unreported.items()):
            response = self.sandbox.post(f"/_sandbox/webhooks/listen/{delivery_id}/result", json=result)
            if response.status_code in (400, 404):  # the delivery is gone (reset, import) or closed
                self._say(f"listen: the sandbox did not take the result of {delivery_id} attempt {attempt}: "
                          f"{_error_text(response)}")
            else:
                self._answer(response, "result")
            del self.unreported[(delivery_id, attempt)]

    def _answer(self, response: httpx.Response, what: str) -> dict:
        if response.status_code == 200:
            return response.json()["data"]
        if response.status_code >= 500 or response.status_code == 429:
            raise Retry(f"{what}: HTTP {response.status_code}")
        raise Fatal(f"the sandbox refused {what} (HTTP {response.status_code}): {_error_text(response)}")

    # --- forwarding ---------------------------------------------------------------------------------

    def _forward(self, item: dict) -> dict:
        request = item["request"]
        headers = {k: v for k, v in request["headers"].items() if k.lower() not in NOT_FORWARDED}
        timeout = item.get("timeoutSeconds") or 30
        result = {"attempt": item["attempt"], "status": None, "latencyMs": None, "error": None, "bodyExcerpt": ""}
        started = time.perf_counter()
        try:
            with self.local.stream(request["method"], self.forward_to, headers=headers,
                                   content=request["body"].encode(), timeout=timeout) as response:
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) >= EXCERPT_BYTES:
                        break
            result.update(status=response.status_code,
                          bodyExcerpt=body[:EXCERPT_BYTES].decode("utf-8", "replace")[:EXCERPT_BYTES])
        except httpx.TimeoutException:
            result["error"] = f"timeout: no complete answer within {timeout:g} s"
        except httpx.ConnectError as exc:
            result["error"] = f"connection failed: {exc}"
        except httpx.HTTPError as exc:
            result["error"] = f"http error: {type(exc).__name__}: {exc}"
        result["latencyMs"] = round((time.perf_counter() - started) * 1000, 2)
        if result["error"]:
            result["error"] = result["error"][:ERROR_CHARS]
        return result

    # --- output ---------------------------------------------------------------------------------------

    def _print(self, item: dict, result: dict) -> None:
        if self.as_json:
            line = json.dumps({"createdAt": item["createdAt"], "event": item["event"], "leadId": item["leadId"],
                               "deliveryId": item["deliveryId"], "attempt": item["attempt"],
                               "trigger": item["trigger"], "status": result["status"],
                               "latencyMs": result["latencyMs"], "error": result["error"]})
        else:
            answer = result["status"] if result["error"] is None else f"failed: {result['error']}"
            line = (f"{item['createdAt']}  {item['event']}  {item['leadId'] or '-'}  "
                    f"-> {answer} ({result['latencyMs']:.0f} ms)")
            if item["trigger"] != "initial":
                line += f"  [{item['trigger']}]"
        print(line, file=self.out, flush=True)

    def _say(self, text: str) -> None:
        print(text, file=self.err, flush=True)

    def _scope(self) -> str:
        return f"events {self.events}" if self.events else "every event"


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _error_text(response: httpx.Response) -> str:
    try:
        error = response.json()["error"]
        return "; ".join(error.get("details") or []) or error["message"]
    except (ValueError, KeyError, TypeError):
        return response.text[:200]


def _stop(_signum, _frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        signal.signal(signal.SIGTERM, _stop)  # SIGTERM stops it like Ctrl-C
    except ValueError:
        pass  # not the main thread (embedded in a test): Ctrl-C handling is the caller's
    listener = Listener(args.url, args.key, args.forward_to, events=args.events, as_json=args.json,
                        wait_seconds=args.wait_seconds)
    try:
        return listener.run()
    except KeyboardInterrupt:
        try:  # results forwarded but not yet reported: one quick try (else the next listener forwards them again)
            listener._flush()
        except (KeyboardInterrupt, Retry, Fatal, httpx.HTTPError):
            pass
        listener._say("listen: stopped")
        return 0
    finally:
        listener.close()


if __name__ == "__main__":
    sys.exit(main())
