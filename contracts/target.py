"""The deployment under test, as the journeys see it: its public API over httpx, through the guard.

Every request names its operation by the spec's path template, so the run's guard (``safety.py``)
judges journeys exactly as it judges the fuzzer. Time is the one thing a journey cannot get from the
public API alone: ``wait`` sleeps against a real deployment, and against a sandbox advances the
sandbox's clock instead (``POST /_sandbox/clock/advance``, which moves a manual or a real-time clock),
which is what finishes a call in milliseconds and moves a sandbox outside calling hours into them. The one thing a reader might get wrong: a sandbox is recognised by
*probing* ``GET /_sandbox/scenarios`` (a read, harmless anywhere), not by the host being local — a
shared sandbox on a remote host is still a sandbox, and a local staging copy of the service is not.
"""

from __future__ import annotations

import json
import shlex
import time
from collections import Counter
from typing import Any

import httpx

from .safety import Guard


class Target:
    def __init__(self, base_url: str, api_key: str, header: str, guard: Guard, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.header = header
        self.guard = guard
        self.client = httpx.Client(base_url=self.base_url, headers={header: api_key}, timeout=timeout)
        self.requests = 0
        self.statuses: dict[str, Counter] = {}   # per operation label, for the report's 2xx coverage
        self.last_curl = ""
        self._sandbox: bool | None = None
        self._sandbox_mode: str | None = None

    def close(self) -> None:
        self.client.close()

    def call(self, method: str, template: str, path: dict | None = None, params: dict | None = None,
             body: Any = None) -> httpx.Response:
        """One public-API request; ``template`` is the spec's path, ``path`` its parameters."""
        self.guard.check(method, template, path, body)
        url = template.format(**(path or {}))
        self.last_curl = self.curl(method, url, params, body)
        response = self.client.request(method, url, params=params, json=body)
        self.requests += 1
        label = f"{method.upper()} {template}"
        self.statuses.setdefault(label, Counter())[response.status_code] += 1
        op = self.guard.by_label.get(label)
        self.guard.learn(op.operation_id if op else None, response.status_code, _json(response),
                         self.guard.sent_ids(path, body))
        return response

    def curl(self, method: str, url: str, params: dict | None, body: Any) -> str:
        full = str(httpx.URL(self.base_url + url, params=params))
        parts = ["curl", "-X", method.upper(), "-H", f"{self.header}: [Filtered]"]
        if body is not None:
            parts += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
        return " ".join(shlex.quote(p) for p in parts + [full])

    def preflight(self, path: str) -> str | None:
        """Why the run cannot start (unreachable, key refused), or None. ``path``: a plain GET of the API."""
        try:
            response = self.client.get(path)
        except httpx.HTTPError as exc:
            return f"cannot reach {self.base_url}: {type(exc).__name__}: {exc}"
        if response.status_code == 401:
            # Without a working key every generated request would earn a 401, and pass (stack-notes §7.10).
            return f"the API key was refused: GET {path} answered 401"
        return None

    # -- sandbox assists ------------------------------------------------------------------
    @property
    def is_sandbox(self) -> bool:
        if self._sandbox is None:
            try:
                response = self.client.get("/_sandbox/scenarios")
                scenarios = response.json().get("data", {}).get("scenarios")
                self._sandbox = response.status_code == 200 and isinstance(scenarios, list)
            except (httpx.HTTPError, ValueError, AttributeError):
                self._sandbox = False
        return self._sandbox

    @property
    def sandbox_mode(self) -> str | None:
        """``open`` or ``strict``, as a sandbox says on ``GET /_sandbox/info``; None when the target is
        not a sandbox or does not say (a sandbox older than that endpoint)."""
        if self._sandbox_mode is None and self.is_sandbox:
            try:
                mode = self.client.get("/_sandbox/info").json().get("data", {}).get("mode")
            except (httpx.HTTPError, ValueError, AttributeError):
                mode = None
            self._sandbox_mode = mode if mode in ("open", "strict") else ""
        return self._sandbox_mode or None

    def sandbox(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """A control-plane request; only sandbox-only journeys and ``wait`` use it."""
        self.requests += 1
        return self.client.request(method, "/_sandbox" + path, json=body)

    def wait(self, seconds: float) -> None:
        if self.is_sandbox:
            self.sandbox("POST", "/clock/advance", {"seconds": seconds})
        else:
            time.sleep(seconds)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
