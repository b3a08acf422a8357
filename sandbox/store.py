"""Tenant-partitioned in-memory state: one ``TenantState`` per API key.

Every collection a tenant owns is declared here, one line each, so a reader can see the whole
world of a tenant at a glance, and ``export``/``import`` stay exact by construction. Records are
stored as plain JSON-shaped dicts in their *public* shape (camelCase, documented field order), so
rendering is a copy and a JSON round trip is lossless. Sandbox-only configuration that the public
API must never show lives in separate collections (``campaign_config``, ``dnc`` ...), never inside
a public record. The one thing a reader might get wrong: ``lead_order`` is the creation order and
is what list pagination walks; it is not re-sorted by ``createdAt``.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field, fields

from .clock import Clock, Timeline, check_clock_range, parse_instant
from .ids import IdFactory


@dataclass
class TenantState:
    org_id: str = ""                                                 # the tenant's org_xxx id
    settings: dict = field(default_factory=dict)                     # tenant defaults: smsProvider, timezone, webhooks ...
    leads: dict = field(default_factory=dict)                        # maps leadId to Lead (public shape)
    lead_order: list = field(default_factory=list)                   # leadIds in creation order (pagination walks it backwards)
    submissions: dict = field(default_factory=dict)                  # maps submissionId to Submission (public shape)
    lead_submissions: dict = field(default_factory=dict)             # maps leadId to its submissionIds, oldest first
    interactions: dict = field(default_factory=dict)                 # maps interactionId to Interaction (public shape)
    lead_interactions: dict = field(default_factory=dict)            # maps leadId to its interactionIds, oldest first
    files: dict = field(default_factory=dict)                        # maps leadId to {fileKey: File}
    campaigns: dict = field(default_factory=dict)                    # maps campaign code to Campaign (public shape)
    campaign_config: dict = field(default_factory=dict)              # maps campaign code to sandbox-only config (agents, dialer, mix ...)
    clients: dict = field(default_factory=dict)                      # maps clientId to Client (public shape)
    offers: dict = field(default_factory=dict)                       # maps offerId to Offer {offerId, name, abbrev, clientId}
    field_library: dict = field(default_factory=dict)                # maps field key to FieldEntry (public shape)
    document_templates: dict = field(default_factory=dict)           # maps templateId to {templateId, name, fileKey, campaignIds}
    voice_agents: dict = field(default_factory=dict)                 # maps agentId to voice agent config
    sms_agents: dict = field(default_factory=dict)                   # maps smsagentId to SMS agent config
    phone_numbers: dict = field(default_factory=dict)                # maps E.164 number to {numberId, number, smsCapable, ...}
    dnc: dict = field(default_factory=dict)                          # maps leadId to DNC record {channels, reason, ...}
    dialer: dict = field(default_factory=dict)                       # maps leadId to {attempts: [iso], queuedAt, nextCallTime}
    forced_outcomes: dict = field(default_factory=dict)              # maps leadId to the next call outcome forced by the control plane
    sms_messages: dict = field(default_factory=dict)                 # maps messageId to an outbound/inbound SMS record
    sms_threads: dict = field(default_factory=dict)                  # maps "leadId|leadNumber|ourNumber" to that pair's thread (interactionId)
    pixel_events: list = field(default_factory=list)                 # fired pixel events, oldest first
    deliveries: dict = field(default_factory=dict)                   # maps deliveryId to a webhook delivery with its attempts
    webhook_faults: dict = field(default_factory=dict)               # outbound fault switches {duplicate, outOfOrder, extraDelaySeconds}

    # Inserts go through these so the secondary indexes (order, per-lead lists) never drift.
    def add_lead(self, lead: dict) -> dict:
        self.leads[lead["leadId"]] = lead
        self.lead_order.append(lead["leadId"])
        return lead

    def add_submission(self, submission: dict) -> dict:
        self.submissions[submission["submissionId"]] = submission
        self.lead_submissions.setdefault(submission["leadId"], []).append(submission["submissionId"])
        return submission

    def add_interaction(self, interaction: dict) -> dict:
        self.interactions[interaction["interactionId"]] = interaction
        self.lead_interactions.setdefault(interaction["leadId"], []).append(interaction["interactionId"])
        return interaction

    def to_json(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, data: dict) -> "TenantState":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown state collections: {sorted(unknown)}")
        # A deep copy through JSON keeps an imported state from aliasing the caller's document.
        return cls(**json.loads(json.dumps(data)))


class Tenant:
    """Everything one API key owns: its state, its clock and timeline, its id factory, its journal."""

    def __init__(self, key: str, state: TenantState, clock: Clock, ids: IdFactory,
                 timeline: Timeline | None = None, journal_size: int = 200):
        self.key = key
        self.state = state
        self.clock = clock
        self.ids = ids
        self.timeline = timeline or Timeline()
        self.journal: deque = deque(maxlen=journal_size)
        self.base_url = ""  # where this sandbox is reached, for absolute links (recordings)
        # A clock advance or jump of this tenant in progress (``simulation.Busy``), else None: then
        # nothing else may touch the tenant (``simulation.exclusive``, ``simulation.wait_idle``).
        self.busy = None

    @property
    def rng(self):
        return self.ids.rng

    def now(self):
        return self.clock.now()

    def schedule(self, due, kind: str, payload: dict):
        """Queue due work; ``due`` is a datetime."""
        return self.timeline.schedule(due.timestamp(), kind, payload)

    def export(self) -> dict:
        return {
            "version": 1,
            "clock": self.clock.export(),
            "ids": self.ids.export(),
            "timeline": self.timeline.export(),
            "state": self.state.to_json(),
        }

    def import_(self, document: dict) -> None:
        """Replace this tenant's world by an exported one, checked first (``world.tenant_export``).

        Every part is built aside and swapped in only once all are built, so a ValueError (a
        malformed document the checks let through) leaves the tenant exactly as it was."""
        try:
            state = TenantState.from_json(document["state"])
            ids = IdFactory(self.ids.seed, self.key, document["ids"]["counter"], document["ids"]["rng"])
            timeline = Timeline.from_export(document.get("timeline", {}))
            moment = check_clock_range(parse_instant(document["clock"]["now"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not an exported tenant state: {exc}") from exc
        self.state, self.ids, self.timeline = state, ids, timeline
        self.clock.set_time(moment)
