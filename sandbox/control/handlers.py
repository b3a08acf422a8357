"""Control-plane handlers (function name = snake_case operationId of ``control.yaml``).

Thin like the public ones: parse, call one service, render.
"""

from __future__ import annotations

from connexion import request
from connexion.lifecycle import ConnexionResponse

from .. import __version__, metrics, scenarios, webhooks
from ..api.render import ok, tenant
from ..errors import ValidationFailed
from ..services import recordings, setup, tenant_admin, time_control
from ..tenancy import SCOPE_KEY


def _registry():
    """The app's tenant registry (admin and reset work above a single tenant)."""
    return request.scope[SCOPE_KEY]


async def reset_tenant():
    return ok(tenant_admin.reset(_registry(), tenant()))


async def export_state():
    return ok(tenant().export())


async def import_state(body):
    return ok(tenant_admin.import_state(tenant(), body))


async def get_clock():
    return ok(time_control.clock_view(tenant()))


async def set_clock(body):
    current = tenant()
    view = await time_control.set_clock_yielding(current, body.get("mode"), body.get("speed"), body.get("now"))
    await webhooks.settle(current, view["ran"])  # the webhooks the jump sent, and their retries
    return ok(dict(view, **time_control.clock_view(current)))


async def advance_clock(body):
    current = tenant()
    result = await time_control.advance_yielding(current, body.get("seconds"), body.get("to"))
    await webhooks.settle(current, result["ran"])  # the webhooks the advance sent, and their retries
    return ok(time_control.summarised(result) if body.get("summary") else result)


async def list_scenarios():
    return ok({"scenarios": scenarios.as_json()})


async def get_sandbox_info():
    strict = _registry().settings.strict
    return ok({"service": "leadsail-sandbox", "version": __version__, "mode": "strict" if strict else "open"})


async def get_journal(limit=50):
    return ok({"entries": list(tenant().journal)[:limit]})


async def get_settings():
    return ok(dict(tenant().state.settings))


async def patch_settings(body):
    return ok(setup.update_settings(tenant(), body))


async def list_sandbox_campaigns():
    current = tenant()
    return ok({"campaigns": [setup.campaign_view(current, code) for code in current.state.campaigns]})


async def get_sandbox_campaign(campaign_id):
    return ok(setup.campaign_view(tenant(), campaign_id))


async def put_campaign(campaign_id, body):
    return ok(setup.upsert_campaign(tenant(), campaign_id, body))


async def list_phone_numbers():
    return ok({"phoneNumbers": list(tenant().state.phone_numbers.values())})


async def put_phone_number(number, body):
    return ok(setup.upsert_phone_number(tenant(), number, body))


async def list_voice_agents():
    return ok({"voiceAgents": list(tenant().state.voice_agents.values())})


async def put_voice_agent(agent_id, body):
    return ok(setup.upsert_voice_agent(tenant(), agent_id, body))


async def list_sms_agents():
    return ok({"smsAgents": list(tenant().state.sms_agents.values())})


async def put_sms_agent(sms_agent_id, body):
    return ok(setup.upsert_sms_agent(tenant(), sms_agent_id, body))


async def get_dnc(lead_id):
    return ok(setup.get_dnc(tenant(), lead_id))


async def put_dnc(lead_id, body):
    return ok(setup.set_dnc(tenant(), lead_id, body["channels"], body.get("reason")))


async def delete_dnc(lead_id):
    setup.clear_dnc(tenant(), lead_id)
    return ok(None)


async def put_next_outcome(lead_id, body):
    return ok(setup.force_next_outcome(tenant(), lead_id, body["outcome"]))


async def list_keys():
    return ok({"keys": tenant_admin.list_keys(_registry())})


async def issue_key(body=None):
    return ok(tenant_admin.issue_key(_registry(), body or {}))


async def revoke_key(key):
    return ok(tenant_admin.revoke_key(_registry(), key))


async def get_metrics():
    served = metrics.current()
    if served is None:  # only when the app runs without its lifespan
        raise ValidationFailed(["metrics: this app was started without its lifespan"])
    # A response object: connexion would refuse a Content-Type with parameters the spec keys without.
    return ConnexionResponse(status_code=200, content_type=metrics.CONTENT_TYPE, body=served.exposition())


async def get_recording(file_name):
    return recordings.recording(_registry(), file_name), 200, {"Content-Type": "audio/wav"}
