"""(1) Restart: a world with every kind of data survives SIGTERM + start, byte for byte, and ids go on."""

from __future__ import annotations

import httpx

from . import workload

ADMIN = "admin-secret"


def caller(base: str, key: str):
    client = httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30)

    def call(method, path, json=None):
        response = client.request(method, path, json=json)
        return response.status_code, response.json()
    return call


def test_a_world_survives_a_restart_byte_for_byte(sandbox_on):
    box = sandbox_on("--clock", "manual", "--strict", "--admin-key", ADMIN).start()
    issued = httpx.post(f"{box.base}/_sandbox/admin/keys", headers={"X-Admin-Key": ADMIN},
                        json={"label": "partner"}).json()["data"]["key"]
    call = caller(box.base, issued)
    made = workload.world(call, f"{box.base}/_sandbox/sink/restart")
    before = httpx.get(f"{box.base}/_sandbox/state", headers={"X-API-Key": issued}).content
    state = httpx.get(f"{box.base}/_sandbox/state", headers={"X-API-Key": issued}).json()["data"]["state"]
    assert {d["status"] for d in state["deliveries"].values()} == {"delivered"}      # the sink answered
    assert state["interactions"][made["call"]["interactionId"]]["status"] == "completed"
    box.stop()

    box.start()
    assert httpx.get(f"{box.base}/_sandbox/state", headers={"X-API-Key": issued}).content == before
    assert httpx.get(f"{box.base}/api/v1/leads", headers={"X-API-Key": "never-issued"}).status_code == 401
    listed = httpx.get(f"{box.base}/_sandbox/admin/keys", headers={"X-Admin-Key": ADMIN}).json()["data"]["keys"]
    assert [k["label"] for k in listed] == ["partner"]
    new_id = workload.ok(call("POST", "/api/v1/leads/submit", workload.submit_body(202)))["leadId"]
    assert new_id not in state["leads"] and new_id not in before.decode()
    after = httpx.get(f"{box.base}/_sandbox/state", headers={"X-API-Key": issued}).json()["data"]["state"]
    assert after["lead_order"][-1] == new_id and after["lead_order"][:-1] == state["lead_order"]

    # Revoking a key forgets its tenant for good, across a restart too.
    assert httpx.delete(f"{box.base}/_sandbox/admin/keys/{issued}", headers={"X-Admin-Key": ADMIN}).status_code == 200
    box.stop()
    box.start()
    assert httpx.get(f"{box.base}/api/v1/leads", headers={"X-API-Key": issued}).status_code == 401
