"""The async sender: real HTTP for outbox attempts, off the request path.

One ``WebhookSender`` per app (``create_app`` makes it, the lifespan starts and stops it). Each
attempt becomes an asyncio task on the serving loop, using one shared ``httpx.AsyncClient`` per
loop; the task's completion calls back into the outbox synchronously, so recording the answer is
atomic like any service call. Deliveries to one URL of one tenant leave one at a time, in the order
they came due (a receiver sees ``lead.queued`` before ``lead.delivered`` unless the out-of-order
fault is on); a hanging receiver delays only its own URL's queue, never the API.

URLs on the sandbox's own origin (its ``--public-url`` or host:port) are answered in-process
through ``httpx.ASGITransport``, so the built-in sink works without a network hop, and in tests
without a listening server.

Strict mode (shared sandbox): targets that are loopback, private, link-local or otherwise not
public are refused (checked on every attempt, after DNS resolution) unless the admin allows them,
the sandbox's own origin is allowed for ``/_sandbox/sink/`` paths only, and each tenant may start
at most ``deliveriesPerMinute`` attempts per rolling real-time minute (more are deferred a minute
on the tenant clock, never dropped).

The one thing a reader might get wrong: the sender is found through the *running event loop*
(``current()``), not through a global or the tenant: a due job only has the tenant, and a test may
serve one app from two loops at once (two TestClients), each with its own HTTP client.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections import deque
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from ..clock import stopwatch
from .sinks import SinkStore

log = logging.getLogger("sandbox.webhooks")

DEFAULT_PER_MINUTE = 60          # strict mode: attempts per tenant per rolling minute
CAP_WINDOW_SECONDS = 60
SETTLE_LIMIT_SECONDS = 130       # an advance never waits longer for its sends (max timeout 120 s + margin)
EXCERPT_BYTES = 4096             # read at most this much of a receiver's answer
SINK_PATH = "/_sandbox/sink/"

_ACTIVE: dict[asyncio.AbstractEventLoop, "WebhookSender"] = {}


def current() -> "WebhookSender | None":
    """The sender serving the running loop, or None (no loop, or the app's lifespan never ran)."""
    try:
        return _ACTIVE.get(asyncio.get_running_loop())
    except RuntimeError:
        return None


def _origin(url: str) -> tuple[str, str, int] | None:
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return parts.scheme, parts.hostname.lower(), port


def _non_public(address) -> str | None:
    """Why an address may not be targeted in strict mode (None: it is public)."""
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for reason, flag in (("loopback", address.is_loopback), ("link-local", address.is_link_local),
                         ("private", address.is_private), ("multicast", address.is_multicast),
                         ("unspecified", address.is_unspecified), ("reserved", address.is_reserved)):
        if flag:
            return reason
    return None if address.is_global else "non-public"


class WebhookSender:
    def __init__(self, settings, app=None):
        self.strict = settings.strict
        self.policy = {"allowPrivateTargets": False, "deliveriesPerMinute": DEFAULT_PER_MINUTE}
        self.sinks = SinkStore()
        self.app = app  # the ASGI app serving the sandbox's own origin in-process
        bases = {settings.base_url, f"http://{settings.host}:{settings.port}"}
        self._own = {origin for origin in map(_origin, bases) if origin}
        self._mount_keys = sorted({base.rstrip("/") for base in bases})
        self._clients: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}
        self._in_flight: dict[object, set[asyncio.Task]] = {}   # tenant -> its unfinished sends
        self._tails: dict[tuple[int, str], asyncio.Task] = {}   # (tenant, url) -> last send queued
        self._windows: dict[str, deque] = {}                     # tenant key -> recent start times

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        _ACTIVE[asyncio.get_running_loop()] = self

    async def stop(self) -> None:
        loop = asyncio.get_running_loop()
        _ACTIVE.pop(loop, None)
        # list(): another loop (a second TestClient on this app) may be adding sends right now.
        tasks = [t for group in list(self._in_flight.values()) for t in list(group) if t.get_loop() is loop]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        client = self._clients.pop(loop, None)
        if client is not None:
            await client.aclose()

    def _client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            mounts = {key: httpx.ASGITransport(app=self.app) for key in self._mount_keys} if self.app else None
            # trust_env=False: proxy variables must not reroute (or leak) deliveries to local receivers.
            client = self._clients[loop] = httpx.AsyncClient(follow_redirects=False, trust_env=False,
                                                             mounts=mounts)
        return client

    # --- admission (strict mode) ----------------------------------------------------------------------

    def admit(self, tenant) -> bool:
        """Count one attempt against the tenant's per-minute cap; False when it is used up."""
        if not self.strict:
            return True
        window = self._windows.setdefault(tenant.key, deque())
        # Real (not tenant) time on purpose: a cap on virtual time would let an advance of a day
        # fire a day's worth of requests at once.
        now = stopwatch()
        while window and now - window[0] >= CAP_WINDOW_SECONDS:
            window.popleft()
        if len(window) >= self.policy["deliveriesPerMinute"]:
            return False
        window.append(now)
        return True

    async def refusal(self, url: str) -> str | None:
        """Why strict mode refuses ``url`` (None: it may be sent to)."""
        origin = _origin(url)
        if origin in self._own:
            if self.strict and not urlsplit(url).path.startswith(SINK_PATH):
                return f"target refused (strict mode): only {SINK_PATH}... paths of the sandbox itself may be targeted"
            return None
        if not self.strict or self.policy["allowPrivateTargets"]:
            return None
        host = urlsplit(url).hostname or ""
        try:
            addresses = {ipaddress.ip_address(host)}
        except ValueError:
            infos = await asyncio.get_running_loop().getaddrinfo(host, origin[2] if origin else None,
                                                                 type=socket.SOCK_STREAM)
            addresses = {ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos}
        for address in sorted(addresses, key=str):
            reason = _non_public(address)
            if reason:
                return (f"target refused (strict mode): {host} is {address}, a {reason} address; "
                        "the sandbox admin can allow private targets (PUT /_sandbox/admin/webhooks)")
        return None

    # --- sending -----------------------------------------------------------------------------------------

    def send(self, tenant, request: dict, timeout: float, on_done: Callable[[dict], None]) -> asyncio.Task:
        """Queue one HTTP request behind the previous one to the same URL; ``on_done(result)`` records it."""
        loop = asyncio.get_running_loop()
        key = (id(tenant), request["url"])
        previous = self._tails.get(key)
        if previous is not None and (previous.done() or previous.get_loop() is not loop):
            previous = None
        task = loop.create_task(self._run(previous, request, timeout, on_done))
        self._tails[key] = task
        self._in_flight.setdefault(tenant, set()).add(task)
        task.add_done_callback(lambda done: self._forget(tenant, key, done))
        return task

    def _forget(self, tenant, key, task) -> None:
        group = self._in_flight.get(tenant)
        if group is not None:
            group.discard(task)
            if not group:
                del self._in_flight[tenant]
        if self._tails.get(key) is task:
            del self._tails[key]

    async def _run(self, previous, request: dict, timeout: float, on_done) -> None:
        if previous is not None:
            await asyncio.wait({previous})  # order per URL; never raises, whatever became of it
        result = await self._deliver(request, timeout)
        try:
            on_done(result)
        except Exception:  # recording must not kill the sender; the delivery stays inspectable
            log.exception("recording a webhook result failed")

    async def _deliver(self, request: dict, timeout: float) -> dict:
        started = stopwatch()
        result = {"responseStatus": None, "bodyExcerpt": None, "error": None, "refused": False}
        try:
            reason = await self.refusal(request["url"])
            if reason:
                result.update(error=reason, refused=True)
            else:
                result.update(await asyncio.wait_for(self._exchange(request, timeout), timeout))
        except (asyncio.TimeoutError, httpx.TimeoutException):
            result["error"] = f"timeout: no complete answer within {timeout:g} s"
        except socket.gaierror as exc:
            result["error"] = f"dns: cannot resolve {urlsplit(request['url']).hostname} ({exc})"
        except httpx.ConnectError as exc:
            result["error"] = f"connection failed: {exc}"
        except httpx.HTTPError as exc:
            result["error"] = f"http error: {type(exc).__name__}: {exc}"
        except Exception as exc:  # a receiver must never be able to crash the sender
            result["error"] = f"unexpected error: {type(exc).__name__}: {exc}"
        result["latencyMs"] = round((stopwatch() - started) * 1000, 2)
        return result

    async def _exchange(self, request: dict, timeout: float) -> dict:
        body = b""
        async with self._client().stream(request["method"], request["url"], headers=request["headers"],
                                         content=request["body"].encode(), timeout=timeout) as response:
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) >= EXCERPT_BYTES:
                    break  # an endless answer must not hold the attempt open
        return {"responseStatus": response.status_code, "bodyExcerpt": body[:EXCERPT_BYTES].decode("utf-8", "replace")}

    # --- waiting -----------------------------------------------------------------------------------------

    def in_flight(self, tenant) -> set[asyncio.Task]:
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()
        return {t for t in self._in_flight.get(tenant, ()) if t is not me and t.get_loop() is loop}

    async def settle(self, tenant, after_round: Callable[[], None] | None = None) -> None:
        """Wait for the tenant's sends; after each round let ``after_round`` run what became due
        (retries, duplicates), until nothing is in flight or ``SETTLE_LIMIT_SECONDS`` passed."""
        deadline = stopwatch() + SETTLE_LIMIT_SECONDS
        while True:
            tasks = self.in_flight(tenant)
            remaining = deadline - stopwatch()
            if not tasks or remaining <= 0:
                return
            await asyncio.wait(tasks, timeout=remaining)
            if after_round is not None:
                after_round()
