"""The listener destination: while ``leadsail-sandbox listen`` is connected, every event of the
tenant also gets a delivery of kind ``listen`` — webhooks for a receiver the sandbox cannot reach
(a shared sandbox and a developer's localhost), carried over the listener's own outgoing
connection (long polling, ``GET /_sandbox/webhooks/listen``).

Flow: ``events._send`` calls ``offer`` for each event; when a listener is connected it records a
``listen`` delivery through ``outbox.enqueue`` — the body, configured headers, retries and fault
switches a URL delivery gets, but no clock job. A poll calls ``collect``, which starts the attempts
that are due (``outbox.begin_attempt``: the exact signed request, ``webhook-id`` = the delivery
id) and hands out every unreported attempt after the listener's cursor; ``record_result`` closes
an attempt through ``outbox.finish_attempt`` once, however often it is reported.

Connected means a poll is waiting, or a poll or a report ended less than ``LEASE_SECONDS`` ago, in
real time (like strict mode's per-minute cap): a listener's liveness is not tenant time, and a
manual clock that jumps a day must not disconnect it. While nobody listens events get no listener
delivery (as with ``stripe listen``), so a forgotten listener piles nothing up; what was queued
waits for the next listener, at most ``MAX_UNREPORTED`` per tenant (then the oldest is closed as
failed, kept in the log and replayable).

The one thing a reader might get wrong: the cursor counts *hand-outs by this process* (a token and
a number), not deliveries. A running listener keeps its cursor, so what it is forwarding is not
handed to it twice; a restarted listener (no cursor), or any listener after a restart of the
sandbox (another token), gets every unreported attempt again with the same headers and body. What
the delivery log says was delivered comes from the reports alone: at least once on the wire,
exactly once in the log.
"""

from __future__ import annotations

import asyncio
import secrets
import weakref

from ..clock import iso, parse_instant, stopwatch
from ..errors import found, invalid, refuse_if
from . import outbox

LISTEN_URL = "listen"            # the ``url`` of a listener delivery: a destination, not an address
SOURCE = "listener"
LEASE_SECONDS = 60               # connected this long after the last poll or report (real time)
MAX_UNREPORTED = 500             # listener deliveries waiting (pending or delivering) per tenant
MAX_BATCH = 100                  # attempts per poll answer
RECHECK_SECONDS = 1.0            # a waiting poll looks again this often (retries coming due on the clock)
DROPPED = ("dropped unreported: at most {cap} listener deliveries wait for a listener's report; "
           "this was the oldest (replay it to send it again)")


class Hub:
    """One tenant's listener connection: lease, cursor numbering, waiting polls. Runtime only, not
    part of the tenant's export (a cursor of another process is simply unknown)."""

    def __init__(self):
        # Not an id of the world (those come from the tenant's id factory): it only tells this
        # process's cursors from a previous run's, whose numbers would otherwise be trusted.
        self.token = secrets.token_hex(6)
        self.seq = 0
        self.handed: dict[tuple[str, int], int] = {}   # (deliveryId, attempt) -> hand-out number
        self.state = None                               # weakref to the tenant state ``handed`` is about
        self.polls = 0
        self.last_seen: float | None = None
        self.events: frozenset | None = None           # None: every event
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = set()

    def connected(self) -> bool:
        return self.polls > 0 or (self.last_seen is not None and stopwatch() - self.last_seen < LEASE_SECONDS)

    def touch(self) -> None:
        self.last_seen = stopwatch()

    def number(self, key: tuple[str, int]) -> int:
        self.seq += 1
        self.handed[key] = self.seq
        return self.seq

    # --- waking waiting polls (a poll awaits a future; domain code only calls ``notify``) ---------

    def waiter(self) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._waiters.add((loop, future))
        return future

    def forget(self, future: asyncio.Future) -> None:
        self._waiters = {entry for entry in self._waiters if entry[1] is not future}

    def notify(self) -> None:
        waiters, self._waiters = self._waiters, set()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for loop, future in waiters:
            if loop is running:
                _wake(future)
            else:  # a second loop serving the same app (two test clients): hand it over safely
                try:
                    loop.call_soon_threadsafe(_wake, future)
                except RuntimeError:
                    pass  # that loop is closed; its poll is gone


def _wake(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


# app (its webhook sender) -> tenant key -> hub. A listener listens to a key of one app: it stays
# connected through a reset or an import, which replace the tenant's objects, not its key; and two
# apps in one process (tests) never share one.
_HUBS: "weakref.WeakKeyDictionary[object, dict[str, Hub]]" = weakref.WeakKeyDictionary()


def hub_of(tenant, create: bool = True) -> Hub | None:
    """The tenant's hub on the app serving the running loop (found like the sender, through the
    loop); None off the loop, or when the app's lifespan never ran."""
    from ..webhooks import current  # not at import: the webhooks package imports the simulation

    sender = current()
    if sender is None:
        return None
    hubs = _HUBS.setdefault(sender, {})
    hub = hubs.get(tenant.key)
    if hub is None and create:
        hub = hubs[tenant.key] = Hub()
    return hub


def connected(tenant) -> bool:
    hub = hub_of(tenant, create=False)
    return hub is not None and hub.connected()


# --- a poll ---------------------------------------------------------------------------------------

def parse_events(text: str | None, known: tuple[str, ...]) -> frozenset | None:
    if text is None:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    refuse_if([f"events: unknown event {name!r}; expected one of " + ", ".join(known) for name in unknown[:3]]
              or ([] if names else ["events: name at least one event, or leave the parameter out"]))
    return frozenset(names)


def connect(tenant, events: frozenset | None) -> Hub:
    """A poll starts: the tenant has a listener (for ``events``, or every event) until it ends."""
    hub = hub_of(tenant)
    refuse_if([] if hub is not None else ["webhooks: the webhook sender is not running in this app"])
    hub.events = events
    hub.polls += 1
    hub.touch()
    return hub


def disconnect(hub: Hub) -> None:
    hub.polls -= 1
    hub.touch()  # the lease runs from here: a listener between two polls is still connected


def collect(tenant, hub: Hub, after: str | None) -> dict:
    """Start the listener attempts that are due, then answer what was handed out after ``after``."""
    if hub.state is None or hub.state() is not tenant.state:
        # A reset or an import replaced the state; seeded ids make its deliveryIds the old ones
        # again, so numbers handed out before must not hide its attempts from the listener.
        hub.state, hub.handed = weakref.ref(tenant.state), {}
    now = tenant.now()
    listening = _deliveries(tenant)
    due = []
    for order, delivery in enumerate(listening):
        trigger = _due_trigger(delivery, now)
        if trigger is not None:
            due.append((parse_instant(delivery["nextAttemptAt"]), order, delivery, trigger))
    due.sort(key=lambda entry: entry[:2])
    for _due, _order, delivery, trigger in due[:MAX_BATCH]:
        attempt = outbox.begin_attempt(tenant, delivery, len(delivery["attempts"]) + 1, trigger)
        if trigger == "duplicate":
            delivery["nextAttemptAt"] = None  # begin_attempt leaves a delivered delivery's fields alone
        hub.number((delivery["deliveryId"], attempt["attempt"]))
    unreported = {}
    for delivery in listening:
        for attempt in delivery["attempts"]:
            if attempt["status"] == "in_flight":
                key = (delivery["deliveryId"], attempt["attempt"])
                seq = hub.handed.get(key) or hub.number(key)  # not numbered yet: a state replaced or a restart
                unreported[key] = (seq, delivery, attempt)
    hub.handed = {key: hub.handed[key] for key in unreported}
    since = _since(hub, after)
    fresh = sorted((entry for entry in unreported.values() if entry[0] > since), key=lambda entry: entry[0])
    fresh = fresh[:MAX_BATCH]
    return {"cursor": f"{hub.token}.{fresh[-1][0] if fresh else since}",
            "deliveries": [_item(delivery, attempt) for _seq, delivery, attempt in fresh],
            "unreported": len(unreported),
            "waiting": sum(1 for d in listening if d["status"] == "pending"),
            "events": sorted(hub.events) if hub.events is not None else None,
            "leaseSeconds": LEASE_SECONDS}


def _deliveries(tenant) -> list[dict]:
    return [d for d in tenant.state.deliveries.values() if d["kind"] == outbox.LISTEN_KIND]


def _since(hub: Hub, after: str | None) -> int:
    """The hand-out number a cursor stands for; 0 (everything) for none or another process's."""
    token, _, number = (after or "").partition(".")
    if token != hub.token or not number.isdigit():
        return 0
    return min(int(number), hub.seq)


def _next_trigger(delivery: dict) -> str:
    if not delivery["attempts"]:
        return "initial"
    # A failed attempt with a retry left names its retry's time; a replay follows a closed series.
    return "retry" if delivery["attempts"][-1].get("nextRetryAt") else "replay"


def _due_trigger(delivery: dict, now) -> str | None:
    """The trigger of the attempt due by ``now``, or None (see ``outbox._schedule``)."""
    when = delivery.get("nextAttemptAt")
    if when is None or parse_instant(when) > now:
        return None
    if delivery["status"] == "delivered":
        return "duplicate"  # the duplicate fault switch
    return _next_trigger(delivery) if delivery["status"] == "pending" else None


def _item(delivery: dict, attempt: dict) -> dict:
    request = attempt["request"]
    return {"deliveryId": delivery["deliveryId"], "attempt": attempt["attempt"], "trigger": attempt["trigger"],
            "event": delivery["event"], "leadId": delivery["leadId"], "campaignId": delivery["campaignId"],
            "createdAt": delivery["createdAt"], "at": attempt["at"], "timeoutSeconds": delivery["timeoutSeconds"],
            "request": {"method": request["method"], "headers": dict(request["headers"]), "body": request["body"]}}


# --- events in, results back -----------------------------------------------------------------------

def offer(tenant, event: str, payload: dict, *, headers: dict, retry_attempts: int, timeout_seconds: float,
          lead_id: str | None, campaign_id: str | None) -> dict | None:
    """The listener's delivery of one event, when a listener is connected and wants the event."""
    hub = hub_of(tenant, create=False)
    if hub is None or not hub.connected() or (hub.events is not None and event not in hub.events):
        return None
    _make_room(tenant)
    delivery = outbox.enqueue(tenant, kind=outbox.LISTEN_KIND, url=LISTEN_URL, payload=payload, headers=headers,
                              timeout_seconds=timeout_seconds, retry_attempts=retry_attempts, event=event,
                              lead_id=lead_id, campaign_id=campaign_id, source=SOURCE)
    hub.notify()
    return delivery


def _make_room(tenant) -> None:
    waiting = [d for d in _deliveries(tenant) if d["status"] in ("pending", "delivering")]
    for delivery in waiting[: max(0, len(waiting) - MAX_UNREPORTED + 1)]:
        attempt = next((a for a in delivery["attempts"] if a["status"] == "in_flight" and a["trigger"] != "duplicate"),
                       None)
        if attempt is None:
            attempt = outbox.begin_attempt(tenant, delivery, len(delivery["attempts"]) + 1, _next_trigger(delivery))
        outbox.finish_attempt(tenant, delivery, attempt, {"error": DROPPED.format(cap=MAX_UNREPORTED),
                                                          "refused": True, "latencyMs": None})


def replay(tenant, delivery: dict) -> None:
    """A replayed listener delivery (``outbox.replay`` made it pending) goes out on the next poll."""
    delivery["nextAttemptAt"] = iso(tenant.now())
    hub = hub_of(tenant, create=False)
    if hub is not None:
        hub.notify()


def record_result(tenant, delivery_id: str, body: dict) -> dict:
    """Record the local receiver's answer to one attempt, once; a repeated report changes nothing."""
    delivery = found(tenant.state.deliveries.get(delivery_id))
    number, status, error = body["attempt"], body.get("status"), body.get("error")
    if delivery["kind"] != outbox.LISTEN_KIND:
        raise invalid(f"deliveryId: {delivery_id} is a '{delivery['kind']}' delivery; only "
                      f"'{outbox.LISTEN_KIND}' deliveries take a listener's result")
    if number > len(delivery["attempts"]):
        raise invalid(f"attempt: delivery {delivery_id} has {len(delivery['attempts'])} attempt(s), "
                      f"not an attempt {number}")
    if status is None and not error:
        raise invalid("error: required when status is null (why the receiver gave no answer)")
    hub = hub_of(tenant, create=False)
    if hub is not None:
        hub.touch()  # a listener busy forwarding a long batch stays connected
    attempt = delivery["attempts"][number - 1]
    duplicate = attempt["status"] != "in_flight"
    if not duplicate:
        outbox.finish_attempt(tenant, delivery, attempt, {
            "responseStatus": status, "bodyExcerpt": body.get("bodyExcerpt") or "", "error": error,
            "latencyMs": body.get("latencyMs")})
        if hub is not None and delivery["nextAttemptAt"] is not None:
            hub.notify()  # a duplicate (fault switch) may be due at once
    return {"deliveryId": delivery_id, "attempt": number, "duplicate": duplicate, "attemptStatus": attempt["status"],
            "deliveryStatus": delivery["status"], "nextAttemptAt": delivery["nextAttemptAt"]}
