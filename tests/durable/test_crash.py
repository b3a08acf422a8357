"""(2) Crash: kill -9 in the middle of a stream of mixed writes (at least 10,000 acknowledged, from four
writers on four tenants); every acknowledged write is there after a restart, the secondary views (lead
list, a lead's interactions and submissions, its files) agree, and a webhook that was in flight at the
kill is delivered again with the same ``webhook-id``. On each durable store."""

from __future__ import annotations

import signal
import threading
import time

import httpx

from . import workload
from .receivers import WebhookReceiver

KEYS = [f"crash-key-{n}" for n in range(4)]
HOOK_KEY = "crash-hook"
ACKNOWLEDGED = 10_000            # writes acknowledged before the kill
DEADLINE_SECONDS = 300


def writer(base: str, key: str, stop: threading.Event, acked: dict) -> dict:
    """Mixed writes, one at a time, until the connection dies; what got a 2xx, per kind."""
    acked.update({"submit": [], "patch": {}, "initiate": [], "sms": [], "file": [], "count": 0, "refused": 0})
    client = httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=10)
    n = 0
    try:
        while not stop.is_set():
            n += 1
            leads = acked["submit"]
            kind = ("submit", "patch", "initiate", "sms", "file")[n % 5] if leads else "submit"
            lead = leads[(n * 7) % len(leads)] if leads else None
            if kind == "submit":
                r = client.post("/api/v1/leads/submit", json=workload.submit_body(n, "HXZ"))
            elif kind == "patch":
                r = client.patch(f"/api/v1/leads/{lead}", json={"customFields": {"writeNo": n}})
            elif kind == "initiate":
                r = client.post("/api/v1/voice/calls/initiate", json={"leadId": lead})
            elif kind == "sms":
                r = client.post("/api/v1/sms/send", json={"leadId": lead, "message": f"hello {n}"})
            else:
                r = client.post("/api/v1/files", json={"leadId": lead, "fileKey": f"doc{n}", "fileName": "d.pdf",
                                                       "fileType": "pdf", "documentUrl": "https://x.example.com/d.pdf"})
            if not 200 <= r.status_code < 300:
                acked["refused"] += 1
                continue
            acked["count"] += 1
            body = r.json()["data"]
            if kind == "submit":
                leads.append(body["leadId"])
            elif kind == "patch":
                acked["patch"][lead] = n
            elif kind == "initiate":
                acked["initiate"].append((lead, body["interactionId"]))
            elif kind == "sms":
                acked["sms"].append((lead, body["messageId"], body["interactionId"]))
            else:
                acked["file"].append((lead, body["fileId"], f"doc{n}"))
    except httpx.HTTPError:
        pass  # the kill
    return acked


def all_lead_ids(client: httpx.Client) -> list[str]:
    ids, cursor = [], None
    while True:
        page = client.get("/api/v1/leads", params={"limit": 100, **({"cursor": cursor} if cursor else {})}).json()["data"]
        ids += [lead["leadId"] for lead in page["leads"]]
        cursor = page["nextCursor"]
        if not cursor:
            return ids


def webhook_in_flight(base: str, url: str) -> httpx.Client:
    """A real-time tenant whose lead.queued webhook goes to ``url`` (sent by the ticker, not a request)."""
    client = httpx.Client(base_url=base, headers={"X-API-Key": HOOK_KEY}, timeout=30)
    for response in (client.patch("/_sandbox/settings", json={"webhooks": {
                         "enabled": True, "url": url, "events": {"lead.queued": True}, "timeoutSeconds": 30}}),
                     client.put("/_sandbox/clock", json={"mode": "realtime"}),
                     client.post("/api/v1/leads/submit", json=workload.submit_body(1))):
        workload.ok((response.status_code, response.json()))
    return client


def test_every_acknowledged_write_survives_kill_9(sandbox_on, store_url, capsys):
    box = sandbox_on("--clock", "manual").start()
    receiver = WebhookReceiver(hold="first")
    webhook_in_flight(box.base, receiver.url)
    stop = threading.Event()
    results = [{} for _ in KEYS]
    threads = [threading.Thread(target=writer, args=(box.base, key, stop, acked)) for key, acked in zip(KEYS, results)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + DEADLINE_SECONDS
    while sum(r.get("count", 0) for r in results) < ACKNOWLEDGED and time.monotonic() < deadline:
        time.sleep(0.05)
    assert receiver.ids, "the webhook was not sent before the kill"
    box.stop(signal.SIGKILL)  # mid-stream: requests may be half done, never acknowledged
    stop.set()
    for thread in threads:
        thread.join()
    total = sum(r["count"] for r in results)
    assert total >= ACKNOWLEDGED, total

    box.start()
    lost_all = 0
    for key, acked in zip(KEYS, results):
        lost_all += len(check_survived(box.base, key, acked))
    assert lost_all == 0

    # The attempt in flight at the kill goes out again after the restart, with the same webhook-id.
    in_flight = receiver.ids[0]
    httpx.get(f"{box.base}/api/v1/leads", headers={"X-API-Key": HOOK_KEY}, timeout=30)  # the tenant comes back
    deadline = time.monotonic() + 30
    while receiver.ids.count(in_flight) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    receiver.close()
    assert receiver.ids.count(in_flight) >= 2, receiver.ids
    with capsys.disabled():
        print(f"\n[crash {store_url.split(':')[0]}] acknowledged writes {total} "
              f"(refused {sum(r['refused'] for r in results)}), lost {lost_all}; "
              f"webhook {in_flight} re-sent after the restart")


def check_survived(base: str, key: str, acked: dict) -> list:
    """What of ``acked`` is missing after the restart (also checks the secondary views agree)."""
    client = httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=60)
    state = client.get("/_sandbox/state").json()["data"]["state"]
    lost = [lead for lead in acked["submit"] if lead not in state["leads"]]
    lost += [lead for lead, n in acked["patch"].items() if state["leads"][lead]["customFields"].get("writeNo") != n]
    lost += [i for _, i in acked["initiate"] if i not in state["interactions"]]
    lost += [m for _, m, _ in acked["sms"] if m not in state["sms_messages"]]
    lost += [f for lead, f, name in acked["file"] if state["files"].get(lead, {}).get(name, {}).get("fileId") != f]

    # Secondary views agree with the records (spot checks over the API, every lead in the list).
    listed = all_lead_ids(client)
    assert set(acked["submit"]) <= set(listed) and len(listed) == len(state["leads"])
    for lead, interaction in acked["initiate"][:50]:
        ids = [i["interactionId"] for i in client.get(f"/api/v1/interactions/lead/{lead}").json()["data"]["interactions"]]
        assert interaction in ids
    for lead in acked["submit"][:50]:
        subs = client.get(f"/api/v1/leads/{lead}/submissions").json()["data"]["submissions"]
        assert [s["submissionId"] for s in subs] == state["lead_submissions"][lead]
    for lead, file_id, _ in acked["file"][:50]:
        assert file_id in client.get(f"/api/v1/files/{lead}").text
    return lost
