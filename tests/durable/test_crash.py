"""(2) Crash: kill -9 in the middle of a stream of mixed writes; every acknowledged write is there after a
restart, and the secondary views (lead list, a lead's interactions and submissions, its files) agree."""

from __future__ import annotations

import signal
import threading
import time

import httpx

from . import workload

KEY = "crash-key"
WRITE_SECONDS = 6.0


def writer(base: str, stop: threading.Event) -> dict:
    """Mixed writes, one at a time, until the connection dies; what got a 2xx, per kind."""
    acked = {"submit": [], "patch": {}, "initiate": [], "sms": [], "file": [], "count": 0, "refused": 0}
    client = httpx.Client(base_url=base, headers={"X-API-Key": KEY}, timeout=10)
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


def test_every_acknowledged_write_survives_kill_9(sandbox_on, capsys):
    box = sandbox_on("--clock", "manual").start()
    stop = threading.Event()
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(writer(box.base, stop)))
    thread.start()
    time.sleep(WRITE_SECONDS)
    box.stop(signal.SIGKILL)  # mid-stream: a request may be half done, never acknowledged
    stop.set()
    thread.join()
    acked = result
    assert acked["count"] > 500, acked["count"]

    box.start()
    client = httpx.Client(base_url=box.base, headers={"X-API-Key": KEY}, timeout=30)
    state = client.get("/_sandbox/state").json()["data"]["state"]
    lost = [lead for lead in acked["submit"] if lead not in state["leads"]]
    lost += [lead for lead, n in acked["patch"].items() if state["leads"][lead]["customFields"].get("writeNo") != n]
    lost += [i for _, i in acked["initiate"] if i not in state["interactions"]]
    lost += [m for _, m, _ in acked["sms"] if m not in state["sms_messages"]]
    lost += [f for lead, f, key in acked["file"] if state["files"].get(lead, {}).get(key, {}).get("fileId") != f]
    assert lost == []

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
    with capsys.disabled():
        print(f"\n[crash] acknowledged writes {acked['count']} (refused {acked['refused']}), lost {len(lost)}: "
              f"{len(acked['submit'])} submits, {len(acked['patch'])} leads patched, {len(acked['initiate'])} calls, "
              f"{len(acked['sms'])} SMS, {len(acked['file'])} files")
