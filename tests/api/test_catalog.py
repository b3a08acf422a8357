"""Campaigns, clients and the field library, read through the public API against the seed world.

The seed world has five campaigns (HXZ, U4D, SLR inactive, DRW, LGA archived and inactive) and four
clients (cli_delta inactive), in that order.
"""

from __future__ import annotations

import pytest

from sandbox.domain.field_library import CATEGORIES, STANDARD_FIELDS
from sandbox.domain.pagination import LIMIT_PROBLEM, PAGE_PROBLEM
from tests.conftest import data, error

NO_KEY = {"X-API-Key": ""}


def campaign_ids(client, **params) -> list[str]:
    return [c["campaignId"] for c in data(client.get("/api/v1/campaigns", params=params))["campaigns"]]


def client_ids(client, **params) -> list[str]:
    return [c["clientId"] for c in data(client.get("/api/v1/clients", params=params))["clients"]]


# --- campaigns -------------------------------------------------------------------------------

def test_campaigns_list_leaves_archived_out_by_default(client):
    body = data(client.get("/api/v1/campaigns"))
    assert [c["campaignId"] for c in body["campaigns"]] == ["HXZ", "U4D", "SLR", "DRW"]
    assert body["pagination"] == {"total": 4, "page": 1, "limit": 20}


def test_campaign_carries_client_and_offer_names(client):
    hxz = data(client.get("/api/v1/campaigns", params={"search": "HXZ"}))["campaigns"][0]
    assert hxz["name"] == "Auto Insurance Quotes"
    assert (hxz["clientId"], hxz["clientName"], hxz["clientAbbrev"]) == ("cli_acme", "Acme Insurance", "ACM")
    assert (hxz["offerId"], hxz["offerName"], hxz["offerAbbrev"]) == ("off_auto", "Auto Quote", "AQ")
    assert hxz["managerId"] == "mgr_jordan"
    assert hxz["active"] is True and hxz["archivedAt"] is None
    assert hxz["createdAt"] == "2026-01-15T15:00:00Z"


def test_include_archived_adds_archived_campaigns(client):
    assert campaign_ids(client, includeArchived="true") == ["HXZ", "U4D", "SLR", "DRW", "LGA"]
    assert campaign_ids(client, includeArchived="false") == ["HXZ", "U4D", "SLR", "DRW"]


@pytest.mark.parametrize("params, expected", [
    ({"active": "true"}, ["HXZ", "U4D", "DRW"]),
    ({"active": "false"}, ["SLR"]),
    ({"active": "false", "includeArchived": "true"}, ["SLR", "LGA"]),
    ({"clientId": "cli_acme"}, ["HXZ"]),
    ({"clientId": "cli_acme", "includeArchived": "true"}, ["HXZ", "LGA"]),
    ({"offerId": "off_solar"}, ["SLR"]),
    ({"clientId": "cli_nobody"}, []),
])
def test_campaign_filters(client, params, expected):
    assert campaign_ids(client, **params) == expected


@pytest.mark.parametrize("term, expected", [
    ("acme", ["HXZ"]),              # clientName
    ("hx", ["HXZ"]),                # campaignId, case-insensitive
    ("mass tort", ["U4D"]),         # name and offerName
    ("DEBT", ["DRW"]),              # name / offerName
    ("solar", ["SLR"]),
    ("nothing-like-this", []),
])
def test_campaign_search_matches_name_code_client_and_offer(client, term, expected):
    assert campaign_ids(client, search=term) == expected


def test_campaign_page_walk_covers_each_campaign_once(client):
    seen, pages = [], []
    for page in (1, 2, 3, 4):
        body = data(client.get("/api/v1/campaigns", params={"page": page, "limit": 2, "includeArchived": "true"}))
        pages.append(len(body["campaigns"]))
        assert body["pagination"] == {"total": 5, "page": page, "limit": 2}
        seen += [c["campaignId"] for c in body["campaigns"]]
    assert pages == [2, 2, 1, 0]
    assert seen == ["HXZ", "U4D", "SLR", "DRW", "LGA"]


@pytest.mark.parametrize("params, details", [
    ({"page": "0"}, [PAGE_PROBLEM]),
    ({"page": "first"}, [PAGE_PROBLEM]),
    ({"limit": "0"}, [LIMIT_PROBLEM]),
    ({"limit": "101"}, [LIMIT_PROBLEM]),
    ({"page": "0", "limit": "500"}, [PAGE_PROBLEM, LIMIT_PROBLEM]),
    ({"active": "yes"}, ["active: must be one of true, false"]),
    ({"includeArchived": "maybe"}, ["includeArchived: must be one of true, false"]),
])
def test_campaign_bad_query_is_400_naming_each_parameter(client, params, details):
    assert sorted(error(client.get("/api/v1/campaigns", params=params), 400, "VALIDATION_ERROR")["details"]) == \
        sorted(details)


def test_campaign_limit_100_is_allowed(client):
    assert data(client.get("/api/v1/campaigns", params={"limit": "100"}))["pagination"]["limit"] == 100


def test_campaigns_need_a_key(client):
    body = error(client.get("/api/v1/campaigns", headers=NO_KEY), 401, "UNAUTHORIZED")
    assert body == {"code": "UNAUTHORIZED", "message": "Authentication required"}


def test_a_campaign_created_in_one_tenant_is_invisible_to_another(client, other):
    created = client.put("/_sandbox/campaigns/ZZ9", json={"name": "Only Mine", "clientId": "cli_acme",
                                                          "offerId": "off_auto"})
    assert created.status_code == 200, created.text
    assert campaign_ids(client, search="ZZ9") == ["ZZ9"]
    assert campaign_ids(other, search="ZZ9") == []


# --- clients ---------------------------------------------------------------------------------

def test_clients_list_pages_every_client(client):
    body = data(client.get("/api/v1/clients"))
    assert [c["clientId"] for c in body["clients"]] == ["cli_acme", "cli_brightside", "cli_cobalt", "cli_delta"]
    assert body["pagination"] == {"total": 4, "page": 1, "limit": 20}


def test_client_page_walk_covers_each_client_once(client):
    first = data(client.get("/api/v1/clients", params={"page": "1", "limit": "3"}))
    second = data(client.get("/api/v1/clients", params={"page": "2", "limit": "3"}))
    assert [c["clientId"] for c in first["clients"] + second["clients"]] == \
        ["cli_acme", "cli_brightside", "cli_cobalt", "cli_delta"]
    assert second["pagination"] == {"total": 4, "page": 2, "limit": 3}


@pytest.mark.parametrize("params, expected", [
    ({"active": "true"}, ["cli_acme", "cli_brightside", "cli_cobalt"]),
    ({"active": "false"}, ["cli_delta"]),
    ({"search": "bsl"}, ["cli_brightside"]),        # abbrev
    ({"search": "COBALT"}, ["cli_cobalt"]),         # name
    ({"search": "legal", "active": "false"}, []),
])
def test_client_filters(client, params, expected):
    assert client_ids(client, **params) == expected


@pytest.mark.parametrize("params, detail", [
    ({"limit": "500"}, LIMIT_PROBLEM),
    ({"page": "-2"}, PAGE_PROBLEM),
    ({"active": "1"}, "active: must be one of true, false"),
])
def test_client_bad_query_is_400(client, params, detail):
    assert error(client.get("/api/v1/clients", params=params), 400, "VALIDATION_ERROR")["details"] == [detail]


def test_get_client(client):
    acme = data(client.get("/api/v1/clients/cli_acme"))
    assert acme["clientId"] == "cli_acme"
    assert (acme["name"], acme["abbrev"], acme["active"]) == ("Acme Insurance", "ACM", True)
    assert acme["contactEmail"] == "dana@acme-insurance.example.com"
    assert acme["settings"]["defaultPostingUrl"] == "https://api.acme-insurance.example.com/leads"
    assert acme["settings"]["maxLeadsPerDay"] == 200


def test_get_unknown_client_is_404(client):
    body = error(client.get("/api/v1/clients/cli_nobody"), 404, "NOT_FOUND")
    assert body == {"code": "NOT_FOUND", "message": "Resource not found"}


def test_clients_need_a_key(client):
    error(client.get("/api/v1/clients", headers=NO_KEY), 401, "UNAUTHORIZED")
    error(client.get("/api/v1/clients/cli_acme", headers=NO_KEY), 401, "UNAUTHORIZED")


# --- field library ---------------------------------------------------------------------------

def test_field_library_lists_every_entry_unpaginated(client):
    fields = data(client.get("/api/v1/field-library"))["fields"]
    assert [f["key"] for f in fields] == [f["key"] for f in STANDARD_FIELDS]
    assert {f["category"] for f in fields} == set(CATEGORIES)


@pytest.mark.parametrize("category", CATEGORIES)
def test_field_library_category_filter(client, category):
    fields = data(client.get("/api/v1/field-library", params={"category": category}))["fields"]
    assert fields and {f["category"] for f in fields} == {category}


def test_field_library_active_filter(client):
    inactive = data(client.get("/api/v1/field-library", params={"active": "false"}))["fields"]
    assert [f["key"] for f in inactive] == ["legacy_lead_score"]
    active = data(client.get("/api/v1/field-library", params={"active": "true"}))["fields"]
    assert len(active) == len(STANDARD_FIELDS) - 1


def test_field_library_search_matches_key_and_label(client):
    by_label = data(client.get("/api/v1/field-library", params={"search": "NAME"}))["fields"]
    assert [f["key"] for f in by_label] == ["first_name", "last_name"]
    by_key = data(client.get("/api/v1/field-library", params={"search": "utm_", "category": "attribution"}))
    assert [f["key"] for f in by_key["fields"]] == ["utm_source", "utm_medium", "utm_campaign"]


@pytest.mark.parametrize("params, detail", [
    ({"category": "bogus"}, "category: must be one of " + ", ".join(CATEGORIES)),
    ({"active": "nope"}, "active: must be one of true, false"),
])
def test_field_library_bad_filter_is_400(client, params, detail):
    assert error(client.get("/api/v1/field-library", params=params), 400, "VALIDATION_ERROR")["details"] == [detail]


def test_get_field_library_entry(client):
    entry = data(client.get("/api/v1/field-library/first_name"))
    assert entry == {"key": "first_name", "label": "First Name", "category": "contact", "dataType": "string",
                     "validationRules": {"required": True, "minLength": 1, "maxLength": 100},
                     "isStandard": True, "active": True,
                     "createdAt": "2025-10-17T15:00:00Z", "updatedAt": "2025-10-17T15:00:00Z"}
    retainer = data(client.get("/api/v1/field-library/retainer_document"))
    assert (retainer["category"], retainer["dataType"], retainer["validationRules"]) == ("file", "file", {})


def test_get_unknown_field_library_entry_is_404(client):
    error(client.get("/api/v1/field-library/no_such_key"), 404, "NOT_FOUND")


def test_field_library_needs_a_key(client):
    error(client.get("/api/v1/field-library", headers=NO_KEY), 401, "UNAUTHORIZED")
    error(client.get("/api/v1/field-library/first_name", headers=NO_KEY), 401, "UNAUTHORIZED")
