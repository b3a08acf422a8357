"""Interactions (a call, or an SMS thread): the public record in its documented field order.

Field order is the docs' example (§4.2): interactionId, leadId, campaignId, clientId, offerId,
type, status, phone, telephony, call | sms, summary, transcript, errorCode, errorMessage,
createdAt, updatedAt. The one thing a reader might get wrong: the ``call`` block exists only on
calls and the ``sms`` block only on SMS threads (G45) — never both, never a null placeholder —
and every "not known yet" value (summary, duration, recordingUrl ...) is null, not absent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import orjson

CALL = "call"
SMS = "sms"
IN_PROGRESS = "in_progress"
SMS_OPEN = "incomplete"           # an SMS thread is ``incomplete`` while open (G43)
SMS_SENT = "sent"


def transcript_entry(timestamp: str, role: str, message: str, source: str) -> dict:
    return {"timestamp": timestamp, "role": role, "message": message, "source": source}


def telephony(provider: str, message_id: str | None, our_number: str) -> dict:
    return {"provider": provider, "messageId": message_id, "phoneNumber": our_number}


def call_block(source: str, direction: str, agent_id: str, conversation_id: str) -> dict:
    return {
        "source": source,
        "direction": direction,
        "duration": None,
        "recordingUrl": None,
        "terminationReason": None,
        "voiceAI": {"provider": "elevenlabs", "agentId": agent_id, "conversationId": conversation_id},
        "spokenTo": None,
    }


def sms_block(agent_mode: bool, direction: str) -> dict:
    return {"agentMode": agent_mode, "direction": direction}


def _base(interaction_id: str, lead_id: str, campaign: dict, kind: str, status: str, phone: str,
          channel_telephony: dict) -> dict:
    return {
        "interactionId": interaction_id,
        "leadId": lead_id,
        "campaignId": campaign.get("campaignId"),
        "clientId": campaign.get("clientId"),
        "offerId": campaign.get("offerId"),
        "type": kind,
        "status": status,
        "phone": phone,
        "telephony": channel_telephony,
    }


def _tail(record: dict, transcript: list[dict], now: str) -> dict:
    record.update({
        "summary": None,
        "transcript": list(transcript),
        "errorCode": None,
        "errorMessage": None,
        "createdAt": now,
        "updatedAt": now,
    })
    return record


def new_call(interaction_id: str, lead_id: str, campaign: dict, now: str, *, phone: str,
             channel_telephony: dict, call: dict, transcript: list[dict]) -> dict:
    record = _base(interaction_id, lead_id, campaign, CALL, IN_PROGRESS, phone, channel_telephony)
    record["call"] = call
    return _tail(record, transcript, now)


def new_sms_thread(interaction_id: str, lead_id: str, campaign: dict, now: str, *, phone: str,
                   channel_telephony: dict, sms: dict) -> dict:
    record = _base(interaction_id, lead_id, campaign, SMS, SMS_OPEN, phone, channel_telephony)
    record["sms"] = sms
    return _tail(record, [], now)


class FrozenTranscript:
    """A finished conversation's transcript, kept as its JSON bytes.

    A finished call's transcript never changes again, and as bytes it takes about a third of the
    memory of a list of dicts (README "Performance": 300,000 calls). ``api.render.encode`` writes
    the bytes verbatim (as an ``orjson.Fragment``), so responses and exports are byte-for-byte what
    the list would have produced; an import turns it back into a list. Read it with
    ``transcript_entries``."""

    __slots__ = ("raw",)

    def __init__(self, raw: bytes):
        self.raw = raw


def frozen_transcript(entries: list[dict]) -> FrozenTranscript:
    # orjson's output buffer is over-allocated (about 4 KB held per call, measured with
    # tracemalloc); an exact-size copy keeps the 650 bytes the JSON needs.
    return FrozenTranscript(bytes(bytearray(orjson.dumps(entries))))


def transcript_entries(record: dict) -> list[dict]:
    transcript = record["transcript"]
    if isinstance(transcript, FrozenTranscript):
        return orjson.loads(transcript.raw)
    return transcript


def newest_first(records: list[dict]) -> list[dict]:
    """Most recent first: createdAt descending, then interactionId descending (G46)."""
    return sorted(records, key=lambda r: (r["createdAt"], r["interactionId"]), reverse=True)


def is_thread_of(record: dict, lead_id: str) -> bool:
    return record.get("type") == SMS and record.get("leadId") == lead_id


def same_pair(record: dict, lead_number: str, our_number: str) -> bool:
    """One conversation = one pair of numbers: the lead's and ours (docs §5.8)."""
    return record.get("phone") == lead_number and (record.get("telephony") or {}).get("phoneNumber") == our_number


def route_inbound(campaign_ids: list[str], leads_newest_first: Iterable[dict],
                  is_caller: Callable[[dict], bool]) -> tuple[str, dict | None]:
    """(campaign, matched lead or None) for a call to an agent with these inbound campaigns (docs §5.6).

    Priority order: a match in the first campaign that has one wins; index 0 is the primary
    campaign, returned with no lead for an unknown caller. Within one campaign the newest matching
    lead wins (the one the caller most likely means). One pass over the leads, whatever the list.
    """
    wanted = {code: rank for rank, code in reversed(list(enumerate(campaign_ids)))}
    best: tuple[int, dict] | None = None
    for lead in leads_newest_first:
        rank = wanted.get((lead.get("campaign") or {}).get("campaignId"))
        if rank is None or (best is not None and rank >= best[0]):
            continue
        if is_caller(lead):
            best = (rank, lead)
            if rank == 0:
                break
    if best is None:
        return campaign_ids[0], None
    return campaign_ids[best[0]], best[1]
