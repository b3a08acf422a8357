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

Every attempt sends the *canonical* URL (``targets.canonical_url``), never the string as stored.
Strict mode (shared sandbox): targets that are loopback, private, link-local or otherwise not
public are refused (judged on every attempt on the resolved addresses, ``targets.judge``) unless the
admin allows them, the sandbox itself — by any spelling — only for one ``/_sandbox/sink/<name>``,
and each tenant may start at most ``deliveriesPerMinute`` attempts per rolling real-time minute
(more are deferred a minute on the tenant clock, never dropped). The host is resolved once per
attempt and the connection goes to a judged address: the request names the IP, with the original
``Host`` header and TLS server name (``sni_hostname``), so a second DNS answer cannot redirect it.

The one thing a reader might get wrong: the sender is found through the *running event loop*
(``current()``), not through a global or the tenant: a due job only has the tenant, and a test may
serve one app from two loops at once (two TestClients), each with its own HTTP client.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import deque
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from .. import simulation
from ..clock import stopwatch
from . import targets
from .sinks import SinkStore

log = logging.getLogger("sandbox.webhooks")

DEFAULT_PER_MINUTE = 60          # strict mode: attempts per tenant per rolling minute
CAP_WINDOW_SECONDS = 60
SETTLE_LIMIT_SECONDS = 130       # an advance never waits longer for its sends (max timeout 120 s + margin)
EXCERPT_BYTES = 4096             # read at most this much of a receiver's answer
SINK_PATH = targets.SINK_PATH

_ACTIVE: dict[asyncio.AbstractEventLoop, "WebhookSender"] = {}


def current() -> "WebhookSender | None":
    """The sender serving the running loop, or None (no loop, or the app's lifespan never ran)."""
    try:
        return _ACTIVE.get(asyncio.get_running_loop())
    except RuntimeError:
        return None


class WebhookSender:
    def __init__(self, settings, app=None, resolve: targets.Resolver | None = None):
        self.strict = settings.strict
        self.policy = {"allowPrivateTargets": False, "deliveriesPerMinute": DEFAULT_PER_MINUTE}
        self.sinks = SinkStore()
        self.app = app  # the ASGI app serving the sandbox's own origin in-process
        self.own = targets.OwnOrigins({settings.base_url, f"http://{settings.host}:{settings.port}"})
        self.resolve = resolve or targets.system_resolver   # injectable: tests answer DNS themselves
        self.transport: httpx.AsyncBaseTransport | None = None  # injectable: tests capture requests
        self._clients: dict[tuple[asyncio.AbstractEventLoop, bool], httpx.AsyncClient] = {}
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
        for key in [key for key in self._clients if key[0] is loop]:
            await self._clients.pop(key).aclose()

    def _client(self, in_process: bool) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._clients.get((loop, in_process))
        if client is None:
            if in_process:
                transport = httpx.ASGITransport(app=self.app)
            else:
                # No keep-alive in strict mode: the pool is keyed by the IP a request names, so a
                # kept TLS connection verified for one host name could carry another name's request.
                limits = httpx.Limits(max_keepalive_connections=0) if self.strict else httpx.Limits()
                transport = self.transport or httpx.AsyncHTTPTransport(limits=limits)
            # trust_env=False: proxy variables must not reroute (or leak) deliveries to local receivers.
            client = self._clients[(loop, in_process)] = httpx.AsyncClient(
                follow_redirects=False, trust_env=False, transport=transport)
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

    async def judge(self, url: str) -> targets.Verdict:
        """Whether and where ``url`` may be sent (resolving its host at most once)."""
        return await targets.judge(url, strict=self.strict, allow_private=self.policy["allowPrivateTargets"],
                                   own=self.own, resolve=self.resolve)

    # --- sending -----------------------------------------------------------------------------------------

    def send(self, tenant, request: dict, timeout: float, on_done: Callable[[dict], None]) -> asyncio.Task:
        """Queue one HTTP request behind the previous one to the same URL; ``on_done(result)`` records it."""
        loop = asyncio.get_running_loop()
        key = (id(tenant), request["url"])
        previous = self._tails.get(key)
        if previous is not None and (previous.done() or previous.get_loop() is not loop):
            previous = None
        task = loop.create_task(self._run(tenant, previous, request, timeout, on_done))
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

    async def _run(self, tenant, previous, request: dict, timeout: float, on_done) -> None:
        if previous is not None:
            await asyncio.wait({previous})  # order per URL; never raises, whatever became of it
        result = await self._deliver(request, timeout)
        if tenant.busy is not None:
            await simulation.wait_idle(tenant)  # recorded once its clock advance is over, not during it
        try:
            on_done(result)
        except Exception:  # recording must not kill the sender; the delivery stays inspectable
            log.exception("recording a webhook result failed")

    async def _deliver(self, request: dict, timeout: float) -> dict:
        started = stopwatch()
        result = {"responseStatus": None, "bodyExcerpt": None, "error": None, "refused": False}
        try:
            verdict = await self.judge(request["url"])
            if verdict.refused:
                result.update(error=verdict.refused, refused=True)
            elif verdict.in_process and self.app is None:
                result.update(error="target refused: the sandbox app is not attached to its sender", refused=True)
            else:
                result.update(await asyncio.wait_for(self._exchange(verdict, request, timeout), timeout))
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

    async def _exchange(self, verdict: targets.Verdict, request: dict, timeout: float) -> dict:
        client = self._client(verdict.in_process)
        target = verdict.target
        headers = {k: v for k, v in request["headers"].items() if k.lower() != "host"}
        if not verdict.addresses or target.address is not None:  # open mode, in-process, or an IP literal
            return await self._send(client, httpx.URL(target.url), headers, {}, request, timeout)
        # Strict mode: connect to a judged address, never to a fresh lookup of the name. The URL names
        # the IP; Host and the TLS server name (SNI and the certificate check) keep the name. All the
        # addresses were judged, so try them in the resolver's order, as a client connecting by name would.
        headers["Host"] = target.netloc
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        *fallbacks, last = verdict.addresses
        for address in fallbacks:
            try:
                return await self._send(client, httpx.URL(target.url).copy_with(host=address), headers,
                                        extensions, request, timeout)
            except httpx.ConnectError:
                continue
        return await self._send(client, httpx.URL(target.url).copy_with(host=last), headers, extensions,
                                request, timeout)

    @staticmethod
    async def _send(client, url, headers, extensions, request: dict, timeout: float) -> dict:
        body = b""
        async with client.stream(request["method"], url, headers=headers, content=request["body"].encode(),
                                 timeout=timeout, extensions=extensions) as response:
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
            if tenant.busy is not None:  # another request of the tenant is advancing its clock
                await simulation.wait_idle(tenant)
            if after_round is not None:
                after_round()
