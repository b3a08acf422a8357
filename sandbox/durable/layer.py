"""The durable layer: a per-tenant command log, committed before the answer leaves, replayed on restart.

``DurableASGI`` wraps ``SandboxASGI`` (outermost, so a tenant can be rebuilt before anything looks
it up) when the store is durable; with the memory store it does not exist. It serialises each
tenant's requests (an ``asyncio.Lock`` per key) and, for every request that may change a tenant
(any method but GET/HEAD/OPTIONS on ``/api/v1`` or ``/_sandbox`` with a key that opens one), records
an entry — method, path, query, headers, body, the tenant time it ran at, the clock after it —
and commits it before the buffered answer is sent: *acknowledged means durable*. The other state
changes are entries of their own: an ``advance`` (real-time due work run by the ticker or by the
catch-up before a read) and a ``result`` (a webhook attempt's answer applied by the sender).

Several processes (``--workers N``, or machines sharing one PostgreSQL) serve the same tenants: a
write holds the tenant's cross-process lock (``store.locked``) and first *catches up* — replays the
entries other processes appended since the last one this process applied — then runs, appends its
entry and commits; a read catches up without the lock (it sees a committed prefix). Due work and
webhook answers take the same path, so each is applied once, by whichever process gets the lock.

On a tenant's first request in a process it is rebuilt: a fresh tenant from its genesis (how
its clock started), the latest snapshot (an export) if any, then every later entry replayed through
the same app in-process, clock frozen at the entry's time, webhooks not sent (their answers come
from their own entries), then the clock restored (a real-time one runs on from where it was,
wall time included) and attempts left in flight re-sent with the same ``webhook-id`` (at least once).
A snapshot is written every ``SNAPSHOT_EVERY`` entries and the log before the previous one is dropped.

Why replay is exact: the sandbox is deterministic by construction (same seed + same requests at
the same tenant times → same bytes; ids and randomness come from the tenant's ``IdFactory``). The
layer makes the inputs exact: the tenant clock is *frozen* during an entry (``FreezableClock``), so
a real-time request reads one instant, the one recorded; a webhook answer that arrives while its own
request awaits it (an advance settling its sends) is nested in that request's entry and fed back at
the same await point; an answer for another request's send waits for the lock (applied after it).

Not replayed: the request journal (``tenant.journal``, cleared after a rebuild), the built-in sink's
captures and the admin webhook policy (process memory), listener sessions (``GET
/_sandbox/webhooks/listen`` answers 501 with a durable store: its real-time lease decides which
deliveries exist, which a replay cannot know).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .. import simulation, webhooks
from ..api.envelope import error_body
from ..api.request_limits import REPLAYED_STATUS
from ..api.render import encode
from ..clock import LATEST, MANUAL, REALTIME, Clock, stopwatch, wall_seconds
from ..services import outbox
from .port import StoreError

log = logging.getLogger("sandbox.durable")

SNAPSHOT_EVERY = 1000            # entries between snapshots (bounds a rebuild's replay), and kept before one
TICK_SECONDS = 0.1               # real-time due work of tenants in memory
KEYS_EVERY = 1.0                 # issued keys re-read (another process may issue or revoke one)
WAKE_EVERY = 1.0                 # the store asked for real-time tenants due that no process may hold
EVICT_EVERY = 5.0                # idle tenants looked for
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TENANT_PREFIXES = ("/api/v1", "/_sandbox")
NOT_TENANT = ("/_sandbox/admin", "/_sandbox/sink", "/_sandbox/health", "/_sandbox/ready")
KEYS_PATH = "/_sandbox/admin/keys"
LISTEN_PATH = "/_sandbox/webhooks/listen"
STATE_PATH = "/_sandbox/state"
_LATEST_TS = LATEST.timestamp()


class FreezableClock(Clock):
    """A tenant clock that can stand still for the length of one entry (``_frozen``), in either mode.

    Under a pin (a due job) the pin wins; a jump or mode switch during the entry moves the frozen
    instant with it. Thawed, a real-time clock reads its anchors again, which kept running."""

    _frozen: float | None = None

    def timestamp(self) -> float:
        if self._pinned is not None:
            return self._pinned
        if self._frozen is not None:
            return self._frozen
        return Clock.timestamp(self)

    def _rebase(self, virtual: float) -> None:
        Clock._rebase(self, virtual)
        if self._frozen is not None:
            self._frozen = virtual

    def running(self) -> float:
        """Where the clock is, unfrozen."""
        saved, self._frozen = self._frozen, None
        try:
            return Clock.timestamp(self)
        finally:
            self._frozen = saved

    def after(self) -> dict:
        """The clock's state to restore after a restart: a real-time one runs on by the wall time since."""
        return {"mode": self.mode, "speed": self.speed, "virtual": self.running(), "wall": wall_seconds()}

    def restore(self, after: dict) -> None:
        self.mode, self.speed = after["mode"], after["speed"]
        virtual = after["virtual"]
        if self.mode != MANUAL:
            virtual = min(virtual + max(0.0, wall_seconds() - after["wall"]) * self.speed, _LATEST_TS)
        Clock._rebase(self, virtual)
        self._frozen = self._pinned = None

    def stand_at(self, moment: float) -> None:
        """Replay: freeze at ``moment`` (the entry's recorded time)."""
        Clock._rebase(self, moment)
        self._frozen = moment


@dataclass(eq=False)
class Run:
    """One entry being made (live) or replayed; ``_current`` holds it for the code it runs."""

    key: str
    replay: bool = False
    logged: bool = False          # a logged request: answers to its own sends nest in its entry
    active: bool = True
    nested: list = field(default_factory=list)   # webhook answers applied while it awaited them
    starts: list = field(default_factory=list)   # clock starts of tenants it built (reset, wall-clock start)
    admits: list = field(default_factory=list)   # strict mode's per-minute cap decisions, in order
    clocks: list = field(default_factory=list)   # clocks it froze (thawed when it ends)
    at: float | None = None                      # the tenant time it ran at


_current: contextvars.ContextVar[Run | None] = contextvars.ContextVar("sandbox_durable_run", default=None)


def freeze(run: Run, clock) -> None:
    if isinstance(clock, FreezableClock) and clock._frozen is None:
        clock._frozen = clock.running()
        run.clocks.append(clock)
    if run.at is None:
        run.at = clock.timestamp()


def thaw(run: Run) -> None:
    for clock in run.clocks:
        clock._frozen = None
    run.clocks.clear()


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1").strip()
    return None


def _status(messages: list[dict]) -> int | None:
    return next((m["status"] for m in messages if m["type"] == "http.response.start"), None)


async def _answer(send, status: int, code: str, message: str) -> None:
    body = json.dumps(error_body(code, message)).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class DurableASGI:
    def __init__(self, inner, store):
        self.inner = inner                    # SandboxASGI
        self.store = store
        self.registry = registry = inner.registry
        self.sender = inner.webhooks
        self.seqs: dict[str, int] = {}                    # last entry applied, per tenant in memory
        self.genesis: dict[str, dict] = {}                # tenants built here, not yet in the store
        self.touched: dict[str, float] = {}               # last request per tenant in memory (eviction)
        self.wakes: dict[str, float | None] = {}          # wakes_at last written, per tenant
        self.pending: dict[str, dict] = {}                # replay: key -> {(deliveryId, n): (future, on_done)}
        self._locks: dict[tuple, asyncio.Lock] = {}
        self._override: dict[str, dict] = {}
        self._tickers: dict[object, asyncio.Task] = {}
        self.replayed_entries = 0
        self.replay_drift = 0                             # replayed requests answered unlike the first time
        self.evicted = 0
        registry.issued_keys.update(store.load_keys_now())
        registry.durable_store = store
        self._hook_registry()
        self._hook_sender()
        inner.catch_up = self._catch_up

    def __getattr__(self, name):  # the app's attributes (settings, webhooks, direct_route ...) as before
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def _lock(self, key: str) -> asyncio.Lock:
        slot = (asyncio.get_running_loop(), key)
        lock = self._locks.get(slot)
        if lock is None:
            lock = self._locks[slot] = asyncio.Lock()
        return lock

    def _locked(self, key: str) -> bool:
        lock = self._locks.get((asyncio.get_running_loop(), key))
        return lock is not None and lock.locked()

    # --- hooks into the registry and the sender ------------------------------------------------------

    def _hook_registry(self) -> None:
        registry = self.registry
        build = registry._new_tenant

        def new_tenant(key: str):
            run = _current.get()
            resetting = key in registry._tenants
            override = self._override.pop(key, None)
            if override is None and resetting and run is not None and run.replay and run.starts:
                override = {"start": run.starts.pop(0)}
            if override is not None:
                saved = registry.settings
                changes = {"start_time": datetime.fromtimestamp(override["start"], timezone.utc)}
                if "mode" in override:
                    changes.update(clock_mode=override["mode"], speed=override["speed"])
                registry.settings = saved.with_(**changes)
                try:
                    tenant = build(key)
                finally:
                    registry.settings = saved
            else:
                tenant = build(key)
            tenant.clock.__class__ = FreezableClock
            start = tenant.clock._anchor_virtual
            if run is not None and not run.replay and resetting:
                run.starts.append(start)
            if not resetting and override is None:
                self.genesis[key] = {"start": start, "mode": tenant.clock.mode, "speed": tenant.clock.speed}
            if run is not None and run.key == key:
                freeze(run, tenant.clock)
            return tenant

        registry._new_tenant = new_tenant

    def _hook_sender(self) -> None:
        sender = self.sender
        send, admit = sender.send, sender.admit

        def durable_admit(tenant) -> bool:
            run = _current.get()
            if run is not None and run.replay:
                return run.admits.pop(0) if run.admits else True
            allowed = admit(tenant)
            if run is not None and sender.strict:
                run.admits.append(allowed)
            return allowed

        def durable_send(tenant, request, timeout, on_done):
            run = _current.get()
            delivery_id = request["headers"].get("webhook-id")
            delivery = tenant.state.deliveries.get(delivery_id)
            number = delivery["attempts"][-1]["attempt"] if delivery and delivery["attempts"] else 0
            if run is not None and run.replay:
                return self._replay_send(tenant, request, (delivery_id, number), on_done)

            def done(result: dict) -> None:
                item = {"deliveryId": delivery_id, "attempt": number, "result": result}
                if run is not None and run.logged and run.active and \
                        self.registry._tenants.get(tenant.key) is tenant:
                    on_done(result)  # its request awaits it: nested, fed back at the same await on replay
                    run.nested.append(item)
                else:
                    asyncio.get_running_loop().create_task(self._result(tenant.key, item))

            return send(tenant, request, timeout, done)

        sender.admit, sender.send = durable_admit, durable_send

    def _replay_send(self, tenant, request, slot, on_done):
        """A send during replay: nothing leaves; a task the sender's settle can wait on, finished
        when the replay feeds the recorded answer (or when the entry ends without it)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        async def wait():
            await future

        task = loop.create_task(wait())
        group = self.sender._in_flight.setdefault(tenant, set())
        group.add(task)
        task.add_done_callback(lambda done: self.sender._forget(tenant, (id(tenant), request["url"]), done))
        self.pending.setdefault(tenant.key, {})[slot] = (future, on_done)
        return task

    # --- catching up with the store ---------------------------------------------------------------------

    async def _sync(self, key: str, source, template: dict | None = None) -> None:
        """Bring the tenant in memory up to the store's log (``source``: ``store.reader``, unlocked,
        or a locked session). Not in memory: rebuilt. Built here while another process created it, or
        a snapshot skipped entries this process never saw: rebuilt from the store."""
        tenant = self.registry._tenants.get(key)
        if tenant is None:
            await self.rebuild(key, template, source)
            return
        last = self.seqs.get(key, 0)
        entries = await source.entries_after(last)
        if not entries:
            return
        if entries[0]["seq"] != last + 1 or key in self.genesis:
            self.evict(key)
            await self.rebuild(key, template, source)
            return
        for entry in entries:
            await self._replay(key, entry, template or {})
            self.seqs[key] = entry["seq"]
        self.replayed_entries += len(entries)
        self.registry._tenants[key].clock.restore(entries[-1]["clock"])

    def _catch_up(self, tenant) -> list[dict]:
        """Real-time due work as SandboxASGI runs it before a request: part of a logged request's
        entry (or of its replay); before a read the layer already ran it (``_advance``), and the
        app's ticker is replaced by this layer's (``_tick``)."""
        outer = _current.get()
        if outer is not None and (outer.logged or outer.replay):
            return simulation.run_due(tenant, tenant.clock.now())
        return []

    def _due(self, key: str) -> bool:
        tenant = self.registry._tenants.get(key)
        if tenant is None or tenant.clock.mode != REALTIME:
            return False
        due = tenant.timeline.next_due()
        return due is not None and due <= tenant.clock.timestamp()

    async def _advance(self, key: str) -> None:
        """Real-time due work outside a request (the ticker, or before a read), logged as an ``advance``."""
        async with self.store.locked(key) as session:
            await self._sync(key, session)
            tenant = self.registry._tenants.get(key)
            if tenant is None or tenant.clock.mode != REALTIME:
                return
            run = Run(key)
            token = _current.set(run)
            try:
                freeze(run, tenant.clock)
                ran = simulation.run_due(tenant, tenant.clock.now())
            finally:
                _current.reset(token)
                thaw(run)
            if ran:
                await self._append(session, tenant, {"kind": "advance", "at": run.at, "admits": run.admits})

    async def _result(self, key: str, item: dict) -> None:
        """A webhook attempt's answer that no request awaits: applied and logged under the tenant's locks."""
        async with self._lock(key):
            try:
                async with self.store.locked(key) as session:
                    if key not in self.registry._tenants:
                        return  # evicted or revoked meanwhile: the attempt is sent again on the next rebuild
                    await self._sync(key, session)
                    tenant = self.registry._tenants[key]
                    run = Run(key)
                    freeze(run, tenant.clock)
                    try:
                        applied = self._apply_result(tenant, item)
                    finally:
                        thaw(run)
                    if applied:
                        await self._append(session, tenant, dict(item, kind="result", at=run.at))
            except StoreError:
                log.exception("could not log a webhook answer; the attempt is sent again on the tenant's next rebuild")
                self.evict(key)

    def _apply_result(self, tenant, item: dict) -> bool:
        """Finish the attempt an answer belongs to, found by ids (the tenant may have been rebuilt
        since it was sent). Once only: an attempt another process already finished is left alone."""
        delivery = tenant.state.deliveries.get(item["deliveryId"])
        if delivery is None or not 0 < item["attempt"] <= len(delivery["attempts"]):
            return False
        attempt = delivery["attempts"][item["attempt"] - 1]
        if attempt["status"] != "in_flight":
            return False
        outbox.finish_attempt(tenant, delivery, attempt, item["result"])
        return True

    async def _append(self, session, tenant, entry: dict, snapshot: bool = False) -> None:
        """Append one entry to the locked session (committed when the session ends); a snapshot
        after it every ``SNAPSHOT_EVERY`` entries, or when asked (after a state import: replaying
        one re-validates every record it holds, a minute at 100,000 leads)."""
        key = tenant.key
        seq = self.seqs.get(key, 0) + 1
        entry["seq"] = seq
        entry["clock"] = tenant.clock.after()
        wakes = wakes_at(tenant)
        if key in self.wakes and self.wakes[key] == wakes:
            await session.append(self.genesis.get(key), [entry])
        else:
            await session.append(self.genesis.get(key), [entry], wakes)
        self.wakes[key] = wakes
        self.seqs[key] = seq
        self.genesis.pop(key, None)
        if snapshot or seq % SNAPSHOT_EVERY == 0:
            await session.snapshot(seq, encode(tenant.export()).decode(), entry["clock"], keep=SNAPSHOT_EVERY)

    def evict(self, key: str) -> None:
        """Drop a tenant from memory (it comes back from the store on its next request)."""
        self.registry._tenants.pop(key, None)
        self.seqs.pop(key, None)
        self.genesis.pop(key, None)
        self.touched.pop(key, None)
        self.wakes.pop(key, None)

    # --- the ticker: due work, issued keys, idle tenants --------------------------------------------------

    def _start_ticker(self) -> None:
        loop = asyncio.get_running_loop()
        if loop not in self._tickers:
            self._tickers[loop] = loop.create_task(self._tick())

    async def _tick(self) -> None:
        last_keys = last_evict = last_wake = stopwatch()
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                for key in [k for k in list(self.registry._tenants) if self._due(k) and not self._locked(k)]:
                    async with self._lock(key):
                        if self._due(key):
                            await self._advance(key)
                now = stopwatch()
                if now - last_wake >= WAKE_EVERY:
                    last_wake = now
                    await self._wake_due()
                if self.registry.settings.strict and now - last_keys >= KEYS_EVERY:
                    last_keys = now
                    await self._refresh_keys()
                if now - last_evict >= EVICT_EVERY:
                    last_evict = now
                    self.evict_idle(now)
            except StoreError:
                log.exception("the ticker could not reach the store; trying again")
            except Exception:  # the ticker must outlive one bad tenant
                log.exception("durable ticker")

    async def _wake_due(self) -> None:
        """Real-time tenants whose work is due and that this process does not hold (their process
        died, or was never theirs): loaded, and their due work run, here."""
        for key in await self.store.due_tenants(wall_seconds()):
            if key in self.registry._tenants or self._locked(key):
                continue
            async with self._lock(key):
                await self._sync(key, self.store.reader(key))
                if self._due(key):
                    await self._advance(key)

    async def _refresh_keys(self) -> None:
        """Keys another process issued work here; tenants of keys it revoked leave memory."""
        keys = await self.store.load_keys()
        issued = self.registry.issued_keys
        for key in issued.keys() - keys.keys():
            self.evict(key)
        issued.clear()
        issued.update(keys)

    def evict_idle(self, now: float) -> int:
        """Tenants idle for ``--evict-after`` seconds leave memory (the store has them); not one with
        work of its own under way: a request, a webhook in flight, real-time due work pending."""
        after = self.registry.settings.evict_after
        idle = [key for key, at in self.touched.items() if now - at >= after]
        for key in idle:
            tenant = self.registry._tenants.get(key)
            if tenant is None or self._locked(key) or self.sender._in_flight.get(tenant) or self.pending.get(key) or \
                    (tenant.clock.mode == REALTIME and tenant.timeline.next_due() is not None):
                continue
            self.evict(key)
            self.evicted += 1
        return self.evicted

    # --- requests ----------------------------------------------------------------------------------------

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        path = scope["path"]
        if path.startswith(KEYS_PATH) and scope["method"] not in READ_METHODS:
            await self._keys_request(scope, receive, send)
            return
        key = _header(scope, b"x-api-key")
        registry = self.registry
        if not key or not path.startswith(TENANT_PREFIXES) or path.startswith(NOT_TENANT):
            await self.inner(scope, receive, send)
            return
        if key not in registry._tenants and registry.refusal(key) is not None and not await self._issued_elsewhere(key):
            await self.inner(scope, receive, send)
            return
        if path.startswith(LISTEN_PATH):
            await _answer(send, 501, "NOT_IMPLEMENTED", "leadsail-sandbox listen is not supported with a durable "
                          "--store yet (use --store memory for a listener session)")
            return
        self._start_ticker()
        started = {"sent": False}

        async def send_(message):
            started["sent"] = True
            await send(message)

        async with self._lock(key):
            self.touched[key] = stopwatch()
            try:
                if scope["method"] in READ_METHODS:
                    await self._read(scope, receive, send_, key)
                else:
                    await self._logged_request(scope, receive, send_, key)
            except StoreError:
                log.exception("the store failed during a request; the tenant is reloaded on its next one")
                self.evict(key)
                if not started["sent"]:
                    await _answer(send, 503, "STORE_UNAVAILABLE", "the store could not record this request; "
                                  "nothing was changed (retry)")

    async def _issued_elsewhere(self, key: str) -> bool:
        """Strict mode: a key another process issued is in the store before this one re-reads it."""
        if not self.registry.settings.strict:
            return False
        try:
            record = await self.store.get_key(key)
        except StoreError:
            return False
        if record is None:
            return False
        self.registry.issued_keys[key] = record
        return True

    async def _lifespan(self, scope, receive, send) -> None:
        async def send_(message):
            if message["type"] == "lifespan.startup.complete":
                self._start_ticker()  # due work of tenants no request has asked about yet
            elif message["type"] == "lifespan.shutdown.complete":
                loop = asyncio.get_running_loop()
                ticker = self._tickers.pop(loop, None)
                if ticker is not None:
                    ticker.cancel()
                await self.store.release()
            await send(message)

        await self.inner(scope, receive, send_)

    async def _read(self, scope, receive, send, key: str) -> None:
        await self._sync(key, self.store.reader(key), scope)
        if self._due(key):
            await self._advance(key)
        run = Run(key)
        tenant = self.registry._tenants.get(key)
        if tenant is not None:
            freeze(run, tenant.clock)
        token = _current.set(run)
        try:
            await self.inner(scope, receive, send)
        finally:
            _current.reset(token)
            thaw(run)

    async def _logged_request(self, scope, receive, send, key: str) -> None:
        registry = self.registry
        chunks: list[bytes] = []
        messages: list[dict] = []

        async def receive_():
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        async def send_(message):
            messages.append(message)

        async with self.store.locked(key) as session:
            await self._sync(key, session, scope)
            run = Run(key, logged=True)
            tenant = registry._tenants.get(key)
            if tenant is not None:
                freeze(run, tenant.clock)
            token = _current.set(run)
            try:
                await self.inner(scope, receive_, send_)
            except BaseException:
                self.evict(key)  # half a request may have run: the log, not memory, is the truth now
                raise
            finally:
                run.active = False
                _current.reset(token)
                thaw(run)
            tenant = registry._tenants.get(key)
            if tenant is not None and run.at is not None:
                entry = {"kind": "request", "at": run.at, "status": _status(messages),
                         "method": scope["method"], "path": scope["path"],
                         "query": scope.get("query_string", b"").decode("latin-1"),
                         "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope.get("headers", [])],
                         "body": b"".join(chunks), "nested": run.nested, "starts": run.starts, "admits": run.admits}
                imported = scope["path"] == STATE_PATH and scope["method"] == "PUT" and entry["status"] == 200
                await self._append(session, tenant, entry, snapshot=imported)
        for message in messages:  # committed: now the answer may leave
            await send(message)

    async def _keys_request(self, scope, receive, send) -> None:
        """Issued strict-mode keys are durable: the change is committed before the answer leaves."""
        registry = self.registry
        before = dict(registry.issued_keys)
        messages: list[dict] = []

        async def send_(message):
            messages.append(message)

        await self.inner(scope, receive, send_)
        after = registry.issued_keys
        try:
            for key in before.keys() - after.keys():
                await self.store.delete_key(key)
                self.evict(key)
            for key in after.keys() - before.keys():
                await self.store.put_key(key, after[key])
        except StoreError:
            log.exception("could not record an issued or revoked key")
            registry.issued_keys.clear()
            registry.issued_keys.update(before)
            await _answer(send, 503, "STORE_UNAVAILABLE", "the store could not record the key change; nothing changed")
            return
        for message in messages:
            await send(message)

    # --- rebuilding a tenant -------------------------------------------------------------------------------

    async def rebuild(self, key: str, template: dict | None = None, source=None) -> bool:
        """Load a tenant from the store: genesis, snapshot, then replay of the later entries.
        False when the store has no such tenant (it is then built fresh on first use)."""
        genesis, snapshot, entries = await (source or self.store.reader(key)).load()
        if genesis is None:
            return False
        registry = self.registry
        self._override[key] = genesis
        tenant = registry._tenants[key] = registry._new_tenant(key)
        self.genesis.pop(key, None)
        seq, clock_after = 0, {"mode": genesis["mode"], "speed": genesis["speed"], "virtual": genesis["start"],
                               "wall": None}
        if snapshot is not None:
            seq, document, clock_after = snapshot
            tenant.import_(document)
            tenant.clock.mode, tenant.clock.speed = document["clock"]["mode"], document["clock"]["speed"]
        self.seqs[key] = seq
        started = time.perf_counter()
        for entry in entries:
            await self._replay(key, entry, template or {})
            seq, clock_after = entry["seq"], entry["clock"]
        self.replayed_entries += len(entries)
        if entries:
            log.info("tenant rebuilt: %d entries replayed in %.3f s", len(entries), time.perf_counter() - started)
        tenant = registry._tenants[key]
        if clock_after.get("wall") is None:   # genesis only: the clock started when the tenant was built
            clock_after = dict(clock_after, wall=wall_seconds())
        tenant.clock.restore(clock_after)
        tenant.journal.clear()   # the journal is what this process saw, not part of the world
        self.seqs[key] = seq
        self.touched[key] = stopwatch()
        self._resend_in_flight(tenant)
        return True

    async def _replay(self, key: str, entry: dict, template: dict) -> None:
        registry = self.registry
        tenant = registry._tenants[key]
        tenant.clock.stand_at(entry["at"])
        run = Run(key, replay=True, starts=list(entry.get("starts", ())), admits=list(entry.get("admits", ())))
        run.clocks.append(tenant.clock)
        token = _current.set(run)
        try:
            kind = entry["kind"]
            if kind == "request":
                await self._replay_request(run, entry, template)
            elif kind == "advance":
                simulation.run_due(tenant, tenant.clock.now())
            elif kind == "result":
                self._replay_result(tenant, entry)
        finally:
            _current.reset(token)
            thaw(run)
            for future, _ in self.pending.pop(key, {}).values():  # answers that come in later entries
                if not future.done():
                    future.set_result(None)

    async def _replay_request(self, run: Run, entry: dict, template: dict) -> None:
        scope = {k: template[k] for k in ("asgi", "http_version", "scheme", "server", "client", "root_path", "state")
                 if k in template}
        scope.setdefault("asgi", {"version": "3.0"})
        body = entry["body"] or b""
        # The body comes whole now, however it came first (a chunked one was given a length downstream).
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in entry["headers"]
                   if k not in ("content-length", "transfer-encoding")]
        if body:
            headers.append((b"content-length", str(len(body)).encode()))
        scope.update(type="http", method=entry["method"], path=entry["path"], raw_path=entry["path"].encode(),
                     query_string=entry["query"].encode("latin-1"), headers=headers)
        scope[REPLAYED_STATUS] = entry.get("status")
        sent = {"body": False}
        answered: list[dict] = []

        async def receive():
            if sent["body"]:
                return {"type": "http.disconnect"}
            sent["body"] = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):
            if message["type"] == "http.response.start":
                answered.append(message)

        task = asyncio.ensure_future(self.inner(scope, receive, send))
        for item in entry.get("nested", ()):
            slot = (item["deliveryId"], item["attempt"])
            pending = self.pending.setdefault(run.key, {})
            for _ in range(100_000):  # the request reaches the await where the answer came
                if slot in pending or task.done():
                    break
                await asyncio.sleep(0)
            got = pending.pop(slot, None)
            if got is not None and not got[0].done():
                got[1](item["result"])
                got[0].set_result(None)
            else:
                log.warning("replay: an answer for %s came where no send awaited it; applied as it stands", slot)
                self._replay_result(self.registry._tenants[run.key], item)
        await task
        if entry.get("status") is not None and _status(answered) != entry["status"]:
            # The world has drifted from the one that answered (a setting that differs between the
            # processes, or a bug): said loudly, since every later entry replays onto it.
            self.replay_drift += 1
            log.error("replay drift: %s %s (entry %s of a tenant) answered %s, recorded %s", entry["method"],
                      entry["path"], entry["seq"], _status(answered), entry["status"])

    def _replay_result(self, tenant, item: dict) -> None:
        got = self.pending.get(tenant.key, {}).pop((item["deliveryId"], item["attempt"]), None)
        if got is not None and not got[0].done():
            got[0].set_result(None)
        self._apply_result(tenant, item)

    def _resend_in_flight(self, tenant) -> None:
        """Attempts the process died in the middle of: sent again, same request and ``webhook-id``."""
        if webhooks.current() is None:
            return
        for delivery in list(tenant.state.deliveries.values()):
            if delivery["kind"] == outbox.LISTEN_KIND or not delivery["attempts"]:
                continue
            attempt = delivery["attempts"][-1]
            if attempt["status"] != "in_flight":
                continue

            def done(result, delivery=delivery, attempt=attempt):
                outbox.finish_attempt(tenant, delivery, attempt, result)

            self.sender.send(tenant, attempt["request"], delivery["timeoutSeconds"], done)


def wakes_at(tenant) -> float | None:
    """When (wall-clock seconds) a real-time tenant's next due work falls due; None if it has none
    or its clock is manual (only a request moves it)."""
    due = tenant.timeline.next_due()
    clock = tenant.clock
    if due is None or clock.mode != REALTIME or clock.speed <= 0:
        return None
    return wall_seconds() + max(0.0, due - clock.running()) / clock.speed


def attach(app, store) -> DurableASGI:
    """Wrap ``create_app``'s SandboxASGI with the durable layer for ``store``."""
    return DurableASGI(app, store)
