"""X-API-Key names the tenant: open mode opens one per key; strict mode only admin-issued keys."""

import pytest
from starlette.testclient import TestClient

from sandbox.app import create_app
from sandbox.settings import Settings
from tests.conftest import data, error

UNAUTHORIZED = {"success": False, "error": {"code": "UNAUTHORIZED", "message": "Authentication required"}}


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": ""}, {"X-API-Key": "   "}])
def test_missing_or_blank_key_is_the_documented_401(app, headers):
    with TestClient(app) as anonymous:
        response = anonymous.get("/api/v1/leads", headers=headers)
    assert response.status_code == 401 and response.json() == UNAUTHORIZED
    assert response.headers["content-type"] == "application/json"


def test_each_key_gets_its_own_world_with_its_own_ids(client, other):
    mine = data(client.get("/api/v1/leads?limit=5"))["leads"]
    theirs = data(other.get("/api/v1/leads?limit=5"))["leads"]
    assert [l["firstName"] for l in mine] == [l["firstName"] for l in theirs]  # same seed, same people
    assert not {l["leadId"] for l in mine} & {l["leadId"] for l in theirs}     # never the same ids
    error(other.get(f"/api/v1/leads/{mine[0]['leadId']}"), 404, "NOT_FOUND")


def test_changes_in_one_tenant_do_not_show_in_another(client, other):
    advance_mine = data(client.post("/_sandbox/clock/advance", json={"seconds": 600}))
    assert advance_mine["now"] == "2026-01-15T15:10:00Z"
    assert data(other.get("/_sandbox/clock"))["now"] == "2026-01-15T15:00:00Z"


@pytest.fixture
def strict_app():
    return create_app(Settings(strict=True, admin_key="admin-secret"))


def test_strict_mode_refuses_unissued_keys_and_accepts_issued_ones(strict_app):
    with TestClient(strict_app) as c:
        assert c.get("/api/v1/leads", headers={"X-API-Key": "made-up"}).json() == UNAUTHORIZED
        error(c.post("/_sandbox/admin/keys", json={"label": "acme"}, headers={"X-Admin-Key": "wrong"}),
              401, "UNAUTHORIZED")
        issued = data(c.post("/_sandbox/admin/keys", json={"label": "acme"}, headers={"X-Admin-Key": "admin-secret"}))
        assert issued["key"].startswith("lsk_") and len(issued["key"]) > 20
        assert data(c.get("/api/v1/leads?limit=1", headers={"X-API-Key": issued["key"]}))["leads"]
        listed = data(c.get("/_sandbox/admin/keys", headers={"X-Admin-Key": "admin-secret"}))["keys"]
        assert listed == [{"keyPrefix": issued["key"][:8], "label": "acme"}]
        data(c.delete(f"/_sandbox/admin/keys/{issued['key']}", headers={"X-Admin-Key": "admin-secret"}))
        assert c.get("/api/v1/leads", headers={"X-API-Key": issued["key"]}).status_code == 401


def test_admin_endpoints_are_closed_when_no_admin_key_is_configured(app):
    with TestClient(app) as c:
        error(c.get("/_sandbox/admin/keys", headers={"X-Admin-Key": ""}), 401, "UNAUTHORIZED")
        error(c.get("/_sandbox/admin/keys", headers={"X-Admin-Key": "anything"}), 401, "UNAUTHORIZED")
