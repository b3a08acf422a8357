"""The tenant export format: whether a document ``PUT /_sandbox/state`` received can become a tenant.

``check`` answers with the export inside the body (the body itself, or the ``data`` of the envelope
``GET /_sandbox/state`` answered) or with every problem, each worded ``"<path>: <reason>"``. Two
passes. The *schema* pass validates against ``TenantExport`` of the control spec, and each public
record (lead, submission, interaction, file, campaign, client, field) against the public contract's
schema its ``x-public-schema`` names, plus what the control spec adds to it: the public API serves
these records as they are stored, so one that breaks its contract would break every later read of
it. The export schemas require every field the sandbox always writes (a delivery's timeout, an
SMS thread's agent mode, a campaign's whole webhook settings ...): much of the code reads them
back without a default, and the control plane's answers require them all. The *consistency* pass
checks what a schema cannot say: records filed under their own ids, every id a record or a timeline
job refers to present, ``lead_order`` naming each lead once, the id counter not behind an id already
present, a usable RNG state, instants the simulation computes with inside the clock's range, and
campaign and webhook settings through the same rules their own endpoints apply.

The one thing a reader might get wrong: the consistency pass runs only on a document the schema pass
found nothing wrong with, because it reads records by the types only that pass guarantees. So a
refusal lists every shape problem or, once the shapes are right, every consistency problem. (And a
public record equal to the one the tenant holds under that key is not validated again: the tenant's
own records are valid already, and re-importing one's own export is the common case.)
"""

from __future__ import annotations

import copy
import functools
import itertools
import random
import re
from datetime import datetime, timezone
from types import SimpleNamespace

from ..api.validation import FORMATS, field_path, word_error
from ..clock import OutOfRange, check_clock_range, parse_instant
from ..domain.submissions import MODES
from ..ids import IdFactory, _state_from_json
from ..scenarios import CALL_OUTCOMES
from ..services import setup
from ..store import TenantState

MAX_DETAILS = 50        # problems listed in a refusal
MAX_COUNTED = 1_000     # problems looked for; beyond, a refusal says "at least"
# How far past the exported counter ids are compared with the ids present: the next ids the tenant
# hands out are derived from counter + 1, + 2 ..., so one of them equal to a present id means the
# counter was rewound and a new record would overwrite an existing one. Nearly every id a tenant
# hands out is kept in its state, so a rewound counter meets one within the first few steps.
ID_WINDOW = 2_000

_ID = re.compile(r"[a-z]+_([a-z2-7]{12})")
_MT_WORDS = 624  # random.Random's state: 624 words, then the position in them (0..624)

# collection → the field each record repeats its key in
_KEYED = {
    "leads": "leadId", "submissions": "submissionId", "interactions": "interactionId", "campaigns": "campaignId",
    "clients": "clientId", "offers": "offerId", "field_library": "key", "document_templates": "templateId",
    "voice_agents": "agentId", "sms_agents": "smsAgentId", "phone_numbers": "number",
    "sms_messages": "messageId", "deliveries": "deliveryId",
}


def check(body, tenant) -> tuple[dict | None, list[str]]:
    """(the export inside ``body``, []) when it can replace ``tenant``; else (None, its problems:
    the first ``MAX_DETAILS``, then a line saying how many more there are)."""
    document, prefix, problems = _unwrap(body)
    if problems:
        return None, problems
    shapes, public = _validators()
    found = _first(itertools.chain(_worded(shapes, document, prefix),
                                   _public_record_problems(document, prefix, public, tenant.state)))
    if not found:
        found = _first(_Consistency(document, prefix, tenant.ids.seed, tenant.key).problems())
    return (None, _capped(found)) if found else (document, [])


def _worded(validator, instance, prefix: str):
    for error in validator.iter_errors(instance):
        yield from word_error(error, prefix)


def _first(lines) -> list[str]:
    """The distinct problems, in the order found, up to ``MAX_COUNTED``: a document that is wrong
    everywhere costs no more than that to refuse."""
    found: dict[str, None] = {}
    for line in lines:
        found[line] = None
        if len(found) > MAX_COUNTED:
            break
    return list(found)


def _capped(problems: list[str]) -> list[str]:
    if len(problems) <= MAX_DETAILS:
        return problems
    more = len(problems) - MAX_DETAILS
    counted = f"at least {more}" if len(problems) > MAX_COUNTED else str(more)  # _first stopped looking
    return problems[:MAX_DETAILS] + [f"... and {counted} more"]


def _unwrap(body) -> tuple[dict | None, str, list[str]]:
    """(export, path prefix of its fields, problems): a body with ``data`` is the GET envelope."""
    if not isinstance(body, dict) or "data" not in body:
        return body, "", []
    problems = [f"{key}: is not an allowed field" for key in body if key not in ("success", "data")]
    if body.get("success") is not True:
        problems.append("success: must be true (the envelope GET /_sandbox/state answered)")
    if not isinstance(body["data"], dict):
        problems.append("data: must be an object (the export)")
    return body["data"], "data", problems


@functools.lru_cache(maxsize=1)
def _validators():
    """(TenantExport of the control spec, {collection: (nesting, validator of its records)}).

    A public record (its item schema names ``x-public-schema``) is checked by the second: against
    its public schema and whatever the item schema adds to it (an interaction's blocks, a
    campaign's webhook settings), one record at a time, so that a record equal to the one held is
    skipped; the first checks only that each is an object."""
    from connexion.json_schema import Draft4ResponseValidator, resolve_refs

    from ..app import CONTROL_SPEC, PUBLIC_SPEC, load_spec  # the composition root knows where the specs are

    control = resolve_refs({"components": load_spec(CONTROL_SPEC)["components"]})["components"]["schemas"]
    public = resolve_refs({"components": load_spec(PUBLIC_SPEC)["components"]})["components"]["schemas"]
    export = copy.deepcopy(control["TenantExport"])
    records = {}
    for name, collection in export["properties"]["state"]["properties"].items():
        nesting, holder = 1, collection
        while isinstance(holder.get("additionalProperties"), dict) \
                and "x-public-schema" not in holder["additionalProperties"] \
                and "additionalProperties" in holder["additionalProperties"]:
            nesting, holder = nesting + 1, holder["additionalProperties"]  # files: leadId → fileKey → File
        items = holder.get("additionalProperties")
        if isinstance(items, dict) and "x-public-schema" in items:
            # The response flavour: stored records are what reads answer (nullable, no writeOnly).
            added = {key: value for key, value in items.items() if key != "x-public-schema"}
            schema = {"allOf": [public[items["x-public-schema"]], added]}
            records[name] = (nesting, Draft4ResponseValidator(schema, format_checker=FORMATS))
            holder["additionalProperties"] = {"type": "object"}
    return Draft4ResponseValidator(export, format_checker=FORMATS), records


def _public_record_problems(document, prefix: str, public: dict, live: TenantState):
    """Each public record against its public schema (and what the export adds to it), except one
    equal to the record the tenant holds now under that key: the tenant's records are valid already
    (reads answer them), and re-importing a tenant's own export, the common case, then costs a
    comparison per record."""
    state = document.get("state") if isinstance(document, dict) else None
    if not isinstance(state, dict):
        return
    for name, (nesting, validator) in public.items():
        pending = [(["state", name], state.get(name), getattr(live, name, {}), nesting)]
        while pending:
            path, records, held, depth = pending.pop(0)
            if not isinstance(records, dict):
                continue  # the shape pass reports it
            held = held if isinstance(held, dict) else {}
            for key, record in records.items():
                if depth > 1:
                    pending.append((path + [key], record, held.get(key), depth - 1))
                elif isinstance(record, dict) and record != held.get(key):
                    yield from _worded(validator, record, field_path(path + [key], prefix))


@functools.lru_cache(maxsize=4)
def _next_id_suffixes(seed: int, tenant_key: str, counter: int) -> dict[str, int]:
    """The suffixes of the next ``ID_WINDOW`` ids after ``counter``, each with its counter (cached:
    re-importing one export, as tests and scripts do, hashes them once)."""
    factory = IdFactory(seed, tenant_key, counter)
    return {factory.new("x")[2:]: counter + step for step in range(1, ID_WINDOW + 1)}


class _Consistency:
    """What the schema cannot say. Reads the document only through the types the schema checked."""

    def __init__(self, document: dict, prefix: str, seed: int, tenant_key: str):
        self.doc = document
        self.state = document["state"]
        self.prefix = prefix
        self.seed, self.tenant_key = seed, tenant_key
        self.found: list[str] = []

    def add(self, path: list, reason: str) -> None:
        self.found.append(f"{field_path(path, self.prefix) or 'body'}: {reason}")

    def problems(self) -> list[str]:
        self._clock()
        self._ids()
        self._keys()
        self._lead_indexes()
        self._references()
        self._world_config()
        self._timeline()
        return self.found

    # --- clock, ids ------------------------------------------------------------------------------

    def _clock(self) -> None:
        try:
            check_clock_range(parse_instant(self.doc["clock"]["now"]))
        except OutOfRange as exc:
            self.add(["clock", "now"], str(exc))

    def _ids(self) -> None:
        version, words, gauss = self.doc["ids"]["rng"]
        if version != 3 or not isinstance(words, list) or len(words) != _MT_WORDS + 1 \
                or not all(isinstance(w, int) and not isinstance(w, bool) for w in words) \
                or not all(0 <= w < 2 ** 32 for w in words[:-1]) or not 0 <= words[-1] <= _MT_WORDS \
                or not any(words[:-1]) or not (gauss is None or isinstance(gauss, float)):
            self.add(["ids", "rng"], "is not a random.Random state: [3, 624 words of 0..4294967295 (not all 0) "
                                     "and a position of 0..624, null]")
        else:
            try:
                random.Random().setstate(_state_from_json(self.doc["ids"]["rng"]))
            except (TypeError, ValueError) as exc:
                self.add(["ids", "rng"], f"is not a random.Random state ({exc})")
        counter = self.doc["ids"]["counter"]
        upcoming = _next_id_suffixes(self.seed, self.tenant_key, counter)
        clashes = sorted((upcoming[m.group(1)], m.group(0)) for m in _ids_in(self.doc) if m.group(1) in upcoming)
        if clashes:
            step, example = clashes[0]
            self.add(["ids", "counter"], f"{counter} is behind the ids already present: id number {step} of this "
                                         f"tenant is {example}, so new records would overwrite existing ones")

    # --- records filed under their own ids --------------------------------------------------------

    def _keys(self) -> None:
        for collection, id_field in _KEYED.items():
            for key, record in self.state[collection].items():
                if record.get(id_field) != key:
                    self.add(["state", collection, key, id_field],
                             f"is {record.get(id_field)!r} but the record is filed under {key!r}")
        for lead_id, by_key in self.state["files"].items():
            self._need(["state", "files", lead_id], lead_id, "leads")
            for file_key, record in by_key.items():
                if record["fileKey"] != file_key:
                    self.add(["state", "files", lead_id, file_key, "fileKey"],
                             f"is {record['fileKey']!r} but the file is filed under {file_key!r}")
                if record.get("leadId") != lead_id:
                    self.add(["state", "files", lead_id, file_key, "leadId"],
                             f"is {record.get('leadId')!r} but the file is filed under lead {lead_id!r}")

    def _need(self, path: list, value, collection: str, nullable: bool = False) -> None:
        if value is None and nullable:
            return
        if not isinstance(value, str) or value not in self.state[collection]:
            self.add(path, f"names no record of {collection} ({value!r})")

    # --- the per-lead indexes ---------------------------------------------------------------------

    def _lead_indexes(self) -> None:
        seen: set = set()
        for index, lead_id in enumerate(self.state["lead_order"]):
            if lead_id in seen:
                self.add(["state", "lead_order", index], f"lists lead {lead_id!r} a second time")
            elif lead_id not in self.state["leads"]:
                self.add(["state", "lead_order", index], f"names no record of leads ({lead_id!r})")
            seen.add(lead_id)
        for lead_id in self.state["leads"]:
            if lead_id not in seen:
                self.add(["state", "lead_order"], f"does not list lead {lead_id!r}")
        self._index("lead_submissions", "submissions")
        self._index("lead_interactions", "interactions")

    def _index(self, index_name: str, collection: str) -> None:
        listed: set = set()
        for lead_id, record_ids in self.state[index_name].items():
            self._need(["state", index_name, lead_id], lead_id, "leads")
            for position, record_id in enumerate(record_ids):
                path = ["state", index_name, lead_id, position]
                record = self.state[collection].get(record_id)
                if record_id in listed:
                    self.add(path, f"lists {record_id!r} a second time")
                elif record is None:
                    self.add(path, f"names no record of {collection} ({record_id!r})")
                elif record.get("leadId") != lead_id:
                    self.add(path, f"{record_id!r} belongs to lead {record.get('leadId')!r}")
                listed.add(record_id)
        for record_id in self.state[collection]:
            if record_id not in listed:
                self.add(["state", index_name], f"does not list {record_id!r} under its lead")

    # --- references between records --------------------------------------------------------------

    def _references(self) -> None:
        s = self.state
        for lead_id, lead in s["leads"].items():
            self._need(["state", "leads", lead_id, "campaign", "campaignId"],
                       (lead.get("campaign") or {}).get("campaignId"), "campaigns")
        for sub_id, sub in s["submissions"].items():
            self._need(["state", "submissions", sub_id, "leadId"], sub.get("leadId"), "leads")
        for int_id, record in s["interactions"].items():
            path = ["state", "interactions", int_id]
            self._need(path + ["leadId"], record.get("leadId"), "leads")
            self._need(path + ["campaignId"], record.get("campaignId"), "campaigns")
            # The public shape leaves the blocks optional; the simulation reads a call's on every call
            # and a thread's on every text (the schema pass checked the fields of one that is present).
            block = record.get("type")
            if block in ("call", "sms") and not isinstance(record.get(block), dict):
                self.add(path + [block], f"is required on a {block} interaction")
        for code, campaign in s["campaigns"].items():
            self._need(["state", "campaigns", code, "clientId"], campaign.get("clientId"), "clients", nullable=True)
            self._need(["state", "campaigns", code, "offerId"], campaign.get("offerId"), "offers", nullable=True)
        for offer_id, offer in s["offers"].items():
            self._need(["state", "offers", offer_id, "clientId"], offer["clientId"], "clients", nullable=True)
        for template_id, template in s["document_templates"].items():
            for i, code in enumerate(template["campaignIds"]):
                self._need(["state", "document_templates", template_id, "campaignIds", i], code, "campaigns")
        for kind in ("voice_agents", "sms_agents"):
            for agent_id, agent in s[kind].items():
                path = ["state", kind, agent_id]
                self._need(path + ["phoneNumber"], agent["phoneNumber"], "phone_numbers", nullable=True)
                for i, code in enumerate(agent["inbound"]["campaignIds"]):
                    self._need(path + ["inbound", "campaignIds", i], code, "campaigns")
        for number, record in s["phone_numbers"].items():
            self._need(["state", "phone_numbers", number, "campaignId"], record["campaignId"], "campaigns",
                       nullable=True)
            if record["agentId"] is not None and record["agentId"] not in s["voice_agents"] \
                    and record["agentId"] not in s["sms_agents"]:
                self.add(["state", "phone_numbers", number, "agentId"],
                         f"names no record of voice_agents or sms_agents ({record['agentId']!r})")
        for collection in ("dnc", "dialer", "forced_outcomes"):
            for lead_id in s[collection]:
                self._need(["state", collection, lead_id], lead_id, "leads")
        for lead_id, entry in s["dialer"].items():
            self._dialer_entry(["state", "dialer", lead_id], entry)
        for lead_id, outcome in s["forced_outcomes"].items():
            if outcome not in CALL_OUTCOMES:
                self.add(["state", "forced_outcomes", lead_id], "must be one of " + ", ".join(CALL_OUTCOMES))
        for message_id, message in s["sms_messages"].items():
            self._need(["state", "sms_messages", message_id, "interactionId"], message["interactionId"],
                       "interactions")
            self._need(["state", "sms_messages", message_id, "leadId"], message["leadId"], "leads")
        for key, interaction_id in s["sms_threads"].items():
            self._need(["state", "sms_threads", key], interaction_id, "interactions")
            if key.count("|") != 2 or key.split("|")[0] not in s["leads"]:
                self.add(["state", "sms_threads", key], "must be keyed 'leadId|leadNumber|ourNumber' of a known lead")
        for i, event in enumerate(s["pixel_events"]):
            self._need(["state", "pixel_events", i, "leadId"], event["leadId"], "leads")
        for delivery_id, delivery in s["deliveries"].items():
            path = ["state", "deliveries", delivery_id]
            self._need(path + ["leadId"], delivery.get("leadId"), "leads", nullable=True)
            self._need(path + ["campaignId"], delivery.get("campaignId"), "campaigns", nullable=True)

    def _dialer_entry(self, path: list, entry: dict) -> None:
        # The dialer adds its gap and delays to these instants, so they must leave that headroom;
        # and it reads only the last attempt as the latest one.
        instants = [(path + ["attempts", i], text) for i, text in enumerate(entry["attempts"])]
        instants += [(path + [key], entry[key]) for key in ("queuedAt", "nextCallTime") if entry[key] is not None]
        for where, text in instants:
            try:
                check_clock_range(parse_instant(text))
            except OutOfRange as exc:
                self.add(where, str(exc))
        attempts = [parse_instant(text) for text in entry["attempts"]]
        if attempts != sorted(attempts):
            self.add(path + ["attempts"], "must be in the order they were made, oldest first")

    # --- configuration, through the rules its own endpoints apply ---------------------------------

    def _world_config(self) -> None:
        s = self.state
        scratch = SimpleNamespace(state=TenantState())
        try:
            setup.update_settings(scratch, s["settings"])
        except setup.ValidationFailed as exc:
            self.found += [f"{field_path(['state', 'settings'], self.prefix)}.{d}" for d in exc.details]
        # Reads of the stored world only (no copy): the same checks PUT /_sandbox/campaigns applies.
        world = SimpleNamespace(state=TenantState(**s))
        for code in s["campaigns"]:
            if code not in s["campaign_config"]:
                self.add(["state", "campaign_config"], f"has no configuration for campaign {code!r}")
            hooks = s["campaigns"][code].get("webhooks")
            if hooks is not None:
                where = field_path(["state", "campaigns", code, "webhooks"], self.prefix)
                self.found += setup._webhook_problems(hooks, where)
        for code, config in s["campaign_config"].items():
            if code not in s["campaigns"]:
                self.add(["state", "campaign_config", code], "configures no campaign of state.campaigns")
                continue
            where = field_path(["state", "campaign_config", code], self.prefix)
            self.found += [f"{where}.{d}" for d in setup._campaign_problems(world, code, {}, config)]

    # --- the timeline -----------------------------------------------------------------------------

    def _timeline(self) -> None:
        timeline = self.doc["timeline"]
        seqs: set = set()
        for i, job in enumerate(timeline["jobs"]):
            path = ["timeline", "jobs", i]
            if job["seq"] > timeline["seq"]:
                self.add(path + ["seq"], f"is ahead of timeline.seq ({timeline['seq']}): a job scheduled "
                                         "after the import would take the same number")
            elif job["seq"] in seqs:
                self.add(path + ["seq"], f"{job['seq']} is used by an earlier job")
            seqs.add(job["seq"])
            self._due(path + ["due"], job["due"])
            self._payload(path + ["payload"], job["kind"], job["payload"])

    def _due(self, path: list, due: float) -> None:
        try:
            check_clock_range(datetime.fromtimestamp(due, timezone.utc))
        except (OverflowError, OSError, ValueError):
            self.add(path, "is outside the range a sandbox clock can show")

    def _payload(self, path: list, kind: str, payload: dict) -> None:
        fields = _PAYLOADS[kind]
        for name in payload:
            if name not in fields:
                self.add(path + [name], f"is not a field of a {kind} payload")
        for name, (required, test) in fields.items():
            if name not in payload:
                if required:
                    self.add(path + [name], "is required")
                continue
            reason = test(self.state, payload[name], payload)
            if reason:
                self.add(path + [name], reason)


def _ids_in(document: dict):
    """Every id-shaped string of the document (keys and values), as regex matches."""
    stack = [document["state"], document["timeline"]["jobs"]]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                match = _ID.fullmatch(key)
                if match:
                    yield match
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str):
            match = _ID.fullmatch(node)
            if match:
                yield match


# --- job payloads: field → (required, test(state, value, payload) → reason or None) -------------

def _record_of(collection: str):
    def test(state, value, _payload):
        if not isinstance(value, str) or value not in state[collection]:
            return f"names no record of {collection} ({value!r})"
        return None
    return test


def _one_of(values, what: str):
    return lambda _s, value, _p: None if value in values else f"must be one of {', '.join(values)} ({what})"


def _is(kind, what: str, minimum=None):
    def test(_state, value, _payload):
        if isinstance(value, bool) is not (kind is bool) or not isinstance(value, kind) \
                or (minimum is not None and value < minimum):
            return f"must be {what}"
        return None
    return test


def _instant(_state, value, _payload):
    try:
        check_clock_range(parse_instant(value))
    except (TypeError, AttributeError, ValueError):
        return "must be a date-time inside the clock's range"
    return None


def _message_ids(_state, value, _payload):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return "must be an array of messageIds"
    return None


def _file_of_lead(state, value, payload):
    if not isinstance(value, str) or value not in state["files"].get(payload.get("leadId"), {}):
        return f"names no file of lead {payload.get('leadId')!r} ({value!r})"
    return None


def _object(_state, value, _payload):
    return None if isinstance(value, dict) else "must be an object"


_STRING = _is(str, "a string")
_CALL = {"interactionId": (True, _record_of("interactions")), "outcome": (True, _one_of(CALL_OUTCOMES, "call outcome")),
         "ringSeconds": (True, _is(int, "an integer of at least 0", 0)),
         "agentId": (True, _record_of("voice_agents")), "answeredAt": (False, _instant),
         "unknownCaller": (False, _is(bool, "a boolean (true or false)"))}
_SUBMISSION = {"leadId": (True, _record_of("leads")), "submissionId": (True, _record_of("submissions")),
               "mode": (True, _one_of(tuple(MODES), "submit engine mode")), "deliveryInfo": (False, _object)}
_THREAD_BATCH = {"interactionId": (True, _record_of("interactions")), "messageIds": (True, _message_ids)}
_PAYLOADS = {
    "call.answer": _CALL,
    "call.end": _CALL,
    "dialer.attempt": {"leadId": (True, _record_of("leads"))},
    "document.advance": {"leadId": (True, _record_of("leads")), "fileKey": (True, _file_of_lead),
                         "providerDocumentId": (True, _STRING)},
    "sms.deliver": {"messageId": (True, _record_of("sms_messages"))},
    "sms.persona_reply": {"interactionId": (True, _record_of("interactions")), "persona": (True, _STRING)},
    "sms.batch": _THREAD_BATCH,
    "sms.agent_reply": _THREAD_BATCH,
    "submission.process": _SUBMISSION,
    "submission.evaluate": _SUBMISSION,
    "submission.deliver": _SUBMISSION,
    # Not checked against state.deliveries: finished deliveries are trimmed (outbox.MAX_DELIVERIES)
    # while a duplicate attempt may still be queued, and the job skips a delivery that is gone.
    "webhook.attempt": {"deliveryId": (True, _STRING), "attempt": (True, _is(int, "an integer of at least 1", 1)),
                        "trigger": (True, _one_of(("initial", "retry", "duplicate"), "attempt trigger"))},
}
JOB_KINDS = tuple(_PAYLOADS)
