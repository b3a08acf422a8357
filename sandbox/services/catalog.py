"""Read use cases over a tenant's catalogue: campaigns, clients and the field library.

Campaigns and clients are paginated (page/limit, 1-based, G27/G28) through the one ``_paged``
helper; the field library is returned whole (docs §3.19). Lists keep the store's insertion order,
which is the order the world was seeded or records were created in, so a page walk is stable.
The one thing a reader might get wrong: archived campaigns (``archivedAt`` set) are left out
unless ``includeArchived`` is ``"true"`` — even when another filter (``search``, ``clientId``)
matches them; clients have no such filter and are listed archived or not.
"""

from __future__ import annotations


from ..domain.field_library import CATEGORIES
from ..domain.pagination import matches_search, paginate, read_choice, read_flag, read_paging
from ..errors import found, refuse_if
from ..store import Tenant


def _paged(records, keep, page, limit, problems: list[str]) -> tuple[list[dict], dict]:
    """Validate paging (with any filter problems already collected), filter, slice."""
    page_number, size = read_paging(page, limit, problems)
    refuse_if(problems)
    items, pagination = paginate([record for record in records if keep(record)], page_number, size)
    return items, pagination


def list_campaigns(tenant: Tenant, *, page=None, limit=None, active=None, client_id=None,
                   offer_id=None, include_archived=None, search=None) -> dict:
    problems: list[str] = []
    want_active = read_flag("active", active, problems)
    with_archived = read_flag("includeArchived", include_archived, problems)

    def keep(campaign: dict) -> bool:
        return ((with_archived or campaign.get("archivedAt") is None)
                and (want_active is None or campaign.get("active") is want_active)
                and (client_id is None or campaign.get("clientId") == client_id)
                and (offer_id is None or campaign.get("offerId") == offer_id)
                and matches_search(search, campaign.get("name"), campaign.get("campaignId"),
                                   campaign.get("clientName"), campaign.get("offerName")))

    campaigns, pagination = _paged(tenant.state.campaigns.values(), keep, page, limit, problems)
    return {"campaigns": campaigns, "pagination": pagination}


def list_clients(tenant: Tenant, *, page=None, limit=None, active=None, search=None) -> dict:
    problems: list[str] = []
    want_active = read_flag("active", active, problems)

    def keep(client: dict) -> bool:
        return ((want_active is None or client.get("active") is want_active)
                and matches_search(search, client.get("name"), client.get("abbrev")))

    clients, pagination = _paged(tenant.state.clients.values(), keep, page, limit, problems)
    return {"clients": clients, "pagination": pagination}


def get_client(tenant: Tenant, client_id: str) -> dict:
    return found(tenant.state.clients.get(client_id))


def list_field_library(tenant: Tenant, *, category=None, active=None, search=None) -> dict:
    problems: list[str] = []
    wanted_category = read_choice("category", category, CATEGORIES, problems)
    want_active = read_flag("active", active, problems)
    refuse_if(problems)
    fields = [entry for entry in tenant.state.field_library.values()
              if (wanted_category is None or entry.get("category") == wanted_category)
              and (want_active is None or entry.get("active") is want_active)
              and matches_search(search, entry.get("key"), entry.get("label"))]
    return {"fields": fields}


def get_field_entry(tenant: Tenant, key: str) -> dict:
    return found(tenant.state.field_library.get(key))
