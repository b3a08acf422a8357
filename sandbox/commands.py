"""``leadsail-sandbox <command>``: drive a running sandbox from CI scripts in any language.

    leadsail-sandbox clock advance 15m
    leadsail-sandbox trigger call.completed --lead lead_abc123 --json
    leadsail-sandbox state export > world.json

Every command is a few calls of ``sandbox.client``; ``sandbox.cli`` hands argv here when its first
word is a command name (``COMMANDS``) and starts the server otherwise. Options on every command:
``--url`` (env ``LEADSAIL_URL``), ``--key`` (env ``LEADSAIL_API_KEY``, default ``dev-key``),
``--admin-key`` (env ``SANDBOX_ADMIN_KEY``) and ``--json`` (the answer's ``data`` as JSON on stdout;
human output is one short line per item). Exit codes: 0 ok; 1 the sandbox refused (one line on
stderr: ``error CODE: message; details``), or a trigger's run ended without the event; 2 usage;
3 the sandbox cannot be reached.

The one thing a reader might get wrong: ``trigger`` fakes nothing. It makes the situation happen
through the real pipeline — a test call placed through the public API, a manual delivery or a
resubmission run by the submit engine, an inbound text — and advances the tenant clock job by
job until it has happened (and the webhooks it queued had their first attempt), so the clock
moves, exactly as it would have by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from .client import (
    DEFAULT_KEY, DEFAULT_URL, SandboxAPIError, SandboxClient, SandboxConnectionError, SandboxError, segment,
    unwrap,
)

PROG = "leadsail-sandbox"
COMMANDS = ("clock", "sms", "calls", "trigger", "webhooks", "state", "reset", "dialer", "keys", "info")
OK, REFUSED, USAGE, UNREACHABLE = 0, 1, 2, 3

# What ``trigger`` can make happen: every webhook event of services/events.py (EVENT_NAMES), and an
# inbound text, which LeadSail announces with no webhook but a test often needs as a starting point.
CALL_COMPLETED = "call.completed"
FIRST_ACTION = "lead.first_submission_action"
SMS_RECEIVED = "sms.received"
LEAD_EVENTS = ("lead.queued", "lead.processed", "lead.delivered", "lead.disqualified", "lead.failed", FIRST_ACTION)
TRIGGERS = (CALL_COMPLETED, *LEAD_EVENTS, SMS_RECEIVED)
# The lead.* events a submit-engine run fired, by the status it ended in (simulation/leads_pipeline.py).
RUNNING = ("pending", "processing", "qualified")
FIRED_BY_OUTCOME = {
    "error": ("lead.queued", "lead.failed"),
    "duplicate": ("lead.queued", "lead.processed"),
    "missing_data": ("lead.queued", "lead.processed"),
    "pending_action": ("lead.queued", FIRST_ACTION),
    "disqualified": ("lead.queued", "lead.processed", "lead.disqualified"),
    "delivered": ("lead.queued", "lead.processed", "lead.delivered"),
    "failed": ("lead.queued", "lead.processed", "lead.failed"),
    "rejected": ("lead.queued", "lead.processed", "lead.failed"),
}
DEFAULT_SMS_TEXT = "Yes, I'm still interested"
MAX_STEPS = 500  # clock steps a trigger may take; a call takes 2, a submit-engine run 3, a webhook 1


class UsageError(Exception):
    """A command line that parses but cannot be run (exit 2)."""


class EventNotReached(SandboxError):
    """The trigger's run ended without the event (exit 1); ``result`` says what did happen."""

    def __init__(self, message: str, result: dict):
        super().__init__(message)
        self.result = result


class CannotTrigger(SandboxError):
    """The trigger cannot happen for this lead as things stand; nothing was changed (exit 1)."""


@dataclass
class Output:
    data: Any                                        # printed with --json
    lines: list[str] = field(default_factory=list)   # printed otherwise
    raw_json: bool = False                           # the data is the output either way (state export)


# --- argument types ------------------------------------------------------------------------------

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> float:
    """``90s``, ``15m``, ``2h``, ``1d``, ``1h30m`` or plain seconds → seconds."""
    compact = text.strip().lower().replace(" ", "")
    parts = _DURATION.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact or (len(parts) > 1 and not all(u for _, u in parts)):
        raise argparse.ArgumentTypeError(f"'{text}' is not a duration such as 90s, 15m, 2h, 1d or 1h30m")
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


def iso_instant(text: str) -> str:
    """An ISO 8601 date-time (``2026-01-16T15:00Z``; no offset means UTC), checked here so a typo is
    a usage error rather than a round trip."""
    try:
        datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an ISO 8601 date-time such as 2026-01-16T15:00Z") from None
    return text.strip()


# --- small formatting helpers --------------------------------------------------------------------

def _kinds(ran: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for job in ran:
        counts[job["job"]] = counts.get(job["job"], 0) + 1
    return counts


def _ran_line(now: str, count: int, by_kind: dict[str, int]) -> str:
    kinds = ", ".join(f"{kind} {n}" for kind, n in by_kind.items())
    return f"now {now}; ran {count} job{'' if count == 1 else 's'}" + (f" ({kinds})" if kinds else "")


def _clock_line(view: dict) -> str:
    speed = f" x{view['speed']:g}" if view.get("speed") not in (None, 1, 1.0) else ""
    return (f"now {view['now']} ({view['mode']}{speed}); {view['pendingJobs']} jobs pending, "
            f"next due {view['nextDueAt'] or 'none'}")


def _delivery_line(d: dict) -> str:
    last = d.get("lastAttempt")
    if last is None and d.get("attempts"):
        attempt = d["attempts"][-1]
        last = {"responseStatus": (attempt.get("response") or {}).get("status"), "error": attempt.get("error")}
    answer = "" if not last else f", last {last.get('responseStatus') or last.get('error') or 'no answer'}"
    count = d.get("attemptCount", 0)
    return (f"{d['deliveryId']} {d['status']} {d.get('event') or d.get('kind')} {d.get('leadId') or '-'} "
            f"-> {d['url']} ({count} attempt{'' if count == 1 else 's'}{answer})")


def _summary_line(verb: str, data: dict) -> str:
    return f"{verb}: tenant {data['tenant']}, now {data['now']}, {data['leads']} leads"


# --- commands ------------------------------------------------------------------------------------

def cmd_info(sb: SandboxClient, args) -> Output:
    info = sb.info()
    return Output(info, [f"{info['service']} {info['version']} at {sb.base_url} ({info['mode']} mode)"])


def cmd_reset(sb: SandboxClient, args) -> Output:
    data = sb.reset()
    return Output(data, [_summary_line("reset", data)])


def cmd_clock_show(sb: SandboxClient, args) -> Output:
    view = sb.clock.get()
    return Output(view, [_clock_line(view)])


def cmd_clock_advance(sb: SandboxClient, args) -> Output:
    if (args.duration is None) == (args.to is None):
        raise UsageError("give a duration (15m, 90s, 2h, 1d) or --to ISO, not both")
    kwargs = {"to": args.to} if args.to is not None else {"seconds": args.duration}
    data = sb.clock.advance(summary=not args.full, **kwargs)
    if args.full:
        return Output(data, [_ran_line(data["now"], len(data["ran"]), _kinds(data["ran"]))]
                      + [f"{job['at']} {job['job']}" for job in data["ran"]])
    return Output(data, [_ran_line(data["now"], data["ranCount"], data["byKind"])])


def cmd_clock_jump(sb: SandboxClient, args) -> Output:
    data = sb.clock.jump(args.to)
    return Output(data, [_ran_line(data["now"], len(data["ran"]), _kinds(data["ran"]))])


def cmd_clock_mode(sb: SandboxClient, args) -> Output:
    data = sb.clock.set_mode(args.mode, args.speed)
    return Output(data, [_clock_line(data)])


def cmd_sms_inbound(sb: SandboxClient, args) -> Output:
    data = sb.sms.inbound(from_=args.from_, to=args.to, text=args.text, provider_message_id=args.provider_message_id)
    if data.get("duplicate"):
        return Output(data, [f"duplicate: dropped (the provider sent it before as {data.get('messageId')})"])
    line = (f"{data['messageId']} received from {args.from_} at {args.to}: lead {data['leadId']}"
            f"{' (new placeholder)' if data.get('placeholderLead') else ''}, interaction {data['interactionId']}, "
            f"routed by {data['routedBy']}")
    if data.get("keyword"):
        line += f", keyword {data['keyword']}"
    if data.get("agentMode") and data.get("batchClosesAt"):
        line += f"; the SMS agent's batch closes at {data['batchClosesAt']}"
    return Output(data, [line])


def cmd_sms_messages(sb: SandboxClient, args) -> Output:
    messages = sb.sms.messages(lead_id=args.lead, number=args.number, direction=args.direction, status=args.status,
                               limit=args.limit)
    lines = [f"{m['messageId']} {m['direction']} {m['status']} {m['from']} -> {m['to']} {m['leadId']}: "
             f"{_short(m['text'])}" for m in messages]
    return Output(messages, lines or ["no messages"])


def _short(text: str, width: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 1] + "…"


def cmd_calls_inbound(sb: SandboxClient, args) -> Output:
    data = sb.calls.inbound(from_=args.from_, to=args.to)
    who = "" if data["matched"] else " (new placeholder lead)"
    return Output(data, [f"{data['interactionId']} answered by {data['agentId']}: lead {data['leadId']}{who}, "
                         f"campaign {data['campaignId']}; the call plays out on the clock"])


def cmd_dialer_check(sb: SandboxClient, args) -> Output:
    data = sb.dialer.check(args.lead)
    head = f"{data['leadId']} ({data['campaignId'] or 'no campaign'}, local {data['leadLocalTime']}): "
    if data["allowedNow"]:
        head += "may be called now"
    elif data["nextAllowedAt"]:
        head += f"not now; next allowed at {data['nextAllowedAt']}"
    else:
        head += "refused; waiting will not help"
    lines = [head] + [f"  {v['rule']}: {'not checked' if v['allowed'] is None else 'refused'}"
                      f"{' - ' + v['reason'] if v['reason'] else ''}"
                      for v in data["verdicts"] if v["allowed"] is not True]
    return Output(data, lines)


def cmd_dialer_queue(sb: SandboxClient, args) -> Output:
    data = sb.dialer.queue(limit=args.limit, campaign_id=args.campaign)
    lines = [f"{e['leadId']} {e['campaignId'] or '-'} at {e['nextCallTime']} "
             f"(attempts {e['attemptsUsed']}/{e['maxAttempts']})" for e in data["queue"]]
    if data["total"] > len(data["queue"]):
        lines.append(f"... {data['total'] - len(data['queue'])} more")
    return Output(data, lines or ["queue empty"])


def cmd_webhooks_list(sb: SandboxClient, args) -> Output:
    items = sb.webhooks.deliveries(event=args.event, lead_id=args.lead, status=args.status, kind=args.kind,
                                   campaign_id=args.campaign, limit=args.limit)
    return Output(items, [_delivery_line(d) for d in items] or ["no deliveries"])


def cmd_webhooks_show(sb: SandboxClient, args) -> Output:
    d = sb.webhooks.delivery(args.id)
    lines = [_delivery_line(d)] + [
        f"  attempt {a['attempt']} {a['trigger']} at {a['at']}: {a['status']}"
        f" ({(a.get('response') or {}).get('status') or a.get('error') or 'no answer'})"
        for a in d.get("attempts") or []]
    return Output(d, lines)


def cmd_webhooks_replay(sb: SandboxClient, args) -> Output:
    d = sb.webhooks.replay(args.id)
    return Output(d, [_delivery_line(d)])


def cmd_state_export(sb: SandboxClient, args) -> Output:
    doc = sb.state.export()
    if args.output:
        Path(args.output).write_text(json.dumps(doc), encoding="utf-8")
        summary = {"file": args.output, "tenant": doc["state"]["org_id"], "now": doc["clock"]["now"],
                   "leads": len(doc["state"]["leads"])}
        return Output(summary, [f"exported: tenant {summary['tenant']}, now {summary['now']}, "
                                f"{summary['leads']} leads to {args.output}"])
    return Output(doc, raw_json=True)


def cmd_state_import(sb: SandboxClient, args) -> Output:
    try:
        content = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    data = sb.state.load(content)
    return Output(data, [_summary_line("imported", data)])


def _need_admin(sb: SandboxClient) -> None:
    if not sb.admin_key:
        raise UsageError("keys needs the admin key: --admin-key or SANDBOX_ADMIN_KEY")


def cmd_keys_issue(sb: SandboxClient, args) -> Output:
    _need_admin(sb)
    data = sb.keys.issue(label=args.label, key=args.new_key)
    return Output(data, [data["key"]])  # bare, for KEY=$(leadsail-sandbox keys issue ...)


def cmd_keys_list(sb: SandboxClient, args) -> Output:
    _need_admin(sb)
    keys = sb.keys.list()
    return Output(keys, [f"{k['keyPrefix']}… {k['label'] or ''}".rstrip() for k in keys] or ["no keys issued"])


def cmd_keys_revoke(sb: SandboxClient, args) -> Output:
    _need_admin(sb)
    data = sb.keys.revoke(args.revoke_key)
    return Output(data, [f"revoked {args.revoke_key[:8]}… and dropped its tenant"])


# --- trigger -------------------------------------------------------------------------------------

def _public(sb: SandboxClient, method: str, path: str, body: dict | None = None) -> Any:
    """A public API call through ``sb.api``, unwrapped and its failures reported like the control plane's."""
    try:
        response = sb.api.request(method, path, json=body)
    except httpx.TransportError as exc:
        raise SandboxConnectionError(f"cannot reach {sb.base_url}: {exc or type(exc).__name__}") from exc
    return unwrap(response)


def _step_until(sb: SandboxClient, done: Callable[[], bool], budget: list[int]) -> None:
    """Advance to the next due job until ``done()``; ``budget`` is the steps left (shared)."""
    while not done():
        if budget[0] <= 0:
            raise SandboxError(f"gave up after {MAX_STEPS} clock steps")
        budget[0] -= 1
        if sb.clock.step(summary=True) is None:
            return  # nothing is due any more: done() will not change


def _settle_deliveries(sb: SandboxClient, event: str, lead_id: str, before: set[str], budget: list[int]) -> list:
    """Step the clock until every delivery of ``event`` queued since ``before`` had its first attempt."""
    def fresh():
        return [d for d in sb.webhooks.deliveries(event=event, lead_id=lead_id, limit=500)
                if d["deliveryId"] not in before]

    # A delivery to `leadsail-sandbox listen` (kind listen) is started by the listener's poll, not by
    # a job on the clock: stepping would not move it.
    _step_until(sb, lambda: all(d["attemptCount"] >= 1 or d.get("kind") == "listen" for d in fresh()), budget)
    return fresh()


def _delivery_ids(sb: SandboxClient, lead_id: str) -> set[str]:
    return {d["deliveryId"] for d in sb.webhooks.deliveries(lead_id=lead_id, limit=500)}


def trigger(sb: SandboxClient, event: str, lead_id: str, *, campaign_id: str | None = None,
            to: str | None = None, text: str | None = None) -> dict:
    """Make ``event`` happen for the lead through the real pipeline; what happened, as a dict
    (``happened`` false when the run ended elsewhere: the lead's data decides a submission's fate)."""
    if event not in TRIGGERS:
        raise UsageError(f"cannot trigger '{event}'; choose one of {', '.join(TRIGGERS)}")
    lead_path = f"/api/v1/leads/{segment(lead_id)}"
    lead = _public(sb, "GET", lead_path)
    campaign = campaign_id or (lead.get("campaign") or {}).get("campaignId")
    budget = [MAX_STEPS]
    result: dict[str, Any] = {"event": event, "leadId": lead_id, "campaignId": campaign}
    if event == SMS_RECEIVED:
        return _trigger_sms(sb, lead, campaign, to, text, result)
    if event == FIRST_ACTION:
        action = (sb.campaigns.get(campaign)["config"].get("firstSubmissionAction") or {}).get("type")
        if action in (None, "deliver_immediately"):
            raise CannotTrigger(f"CANNOT_TRIGGER: campaign {campaign} delivers immediately: it has no first "
                                "submission action to stop at (set its firstSubmissionAction, e.g. "
                                "{\"type\": \"human_review\"}, with PUT /_sandbox/campaigns/" + f"{campaign})")
    before = _delivery_ids(sb, lead_id)
    if event == CALL_COMPLETED:
        body = {"leadId": lead_id, "isTest": True, **({"campaignId": campaign_id} if campaign_id else {})}
        placed = _public(sb, "POST", "/api/v1/voice/calls/initiate", body)
        record: dict = {}

        def finished() -> bool:
            record.update(_public(sb, "GET", f"/api/v1/interactions/{segment(placed['interactionId'])}"))
            return record["status"] != "in_progress"

        _step_until(sb, finished, budget)
        result.update(via="a test call placed with POST /api/v1/voice/calls/initiate",
                      interactionId=placed["interactionId"], status=record["status"],
                      happened=record["status"] != "in_progress", fired=[CALL_COMPLETED])
    else:
        if event == FIRST_ACTION:  # only a submit runs the campaign's first submission action
            started = _public(sb, "POST", "/api/v1/leads/submit", {"campaignId": campaign, "leadId": lead_id})
            submission_id, via = started["submissionId"], "a resubmission (POST /api/v1/leads/submit)"
        else:
            started = _public(sb, "POST", f"{lead_path}/deliver", {"campaignId": campaign})
            submission_id, via = started["newSubmissionId"], f"a manual delivery (POST {lead_path}/deliver)"
        submission: dict = {}

        def ended() -> bool:
            listed = _public(sb, "GET", f"{lead_path}/submissions")["submissions"]
            submission.update(next(s for s in listed if s["submissionId"] == submission_id))
            return submission["status"] not in RUNNING

        _step_until(sb, ended, budget)
        fired = list(FIRED_BY_OUTCOME.get(submission["status"], ("lead.queued",)))
        result.update(via=via, submissionId=submission_id, status=submission["status"], happened=event in fired,
                      fired=fired)
    result["deliveries"] = _settle_deliveries(sb, event, lead_id, before, budget) if result["happened"] else []
    result["now"] = sb.clock.get()["now"]
    if not result["happened"]:
        raise EventNotReached(f"EVENT_NOT_REACHED: {event} did not happen: {result['via']} ended "
                              f"'{result['status']}' (fired {', '.join(result['fired'])}); the lead's data and "
                              f"its campaign decide the run", result)
    return result


def _trigger_sms(sb: SandboxClient, lead: dict, campaign: str | None, to: str | None, text: str | None,
                 result: dict) -> dict:
    if to is None:
        config = sb.campaigns.get(campaign)["config"] if campaign else {}
        to = config.get("phoneNumber")
        if not to and config.get("smsAgentId"):
            agents = sb.request("GET", "/sms-agents")["smsAgents"]
            to = next((a.get("phoneNumber") for a in agents if a.get("smsAgentId") == config["smsAgentId"]), None)
        if not to:
            raise CannotTrigger(f"CANNOT_TRIGGER: campaign {campaign} has no SMS number (its phoneNumber, or its "
                                "SMS agent's); pass --to")
    received = sb.sms.inbound(from_=lead["phone"], to=to, text=text or DEFAULT_SMS_TEXT)
    result.update(via=f"an inbound text from {lead['phone']} to {to} (POST /_sandbox/sms/inbound)",
                  messageId=received.get("messageId"), interactionId=received.get("interactionId"),
                  status="duplicate" if received.get("duplicate") else "received", happened=True,
                  fired=[SMS_RECEIVED], received=received, deliveries=[], now=sb.clock.get()["now"])
    return result


def cmd_trigger(sb: SandboxClient, args) -> Output:
    data = trigger(sb, args.event, args.lead, campaign_id=args.campaign, to=args.to, text=args.text)
    target = data.get("interactionId") if data["event"] == CALL_COMPLETED else \
        data.get("messageId") if data["event"] == SMS_RECEIVED else data.get("submissionId")
    lines = [f"{data['event']}: {data['leadId']} via {data['via']}: {target} {data['status']} at {data['now']}"]
    lines += [f"  {_delivery_line(d)}" for d in data["deliveries"]]
    if data["event"] == SMS_RECEIVED:
        lines.append("  (LeadSail sends no webhook for an inbound text; an SMS agent in agent mode gets its batch "
                     "when the window closes on the clock)")
    elif not data["deliveries"]:
        lines.append(f"  no webhook subscribes to {data['event']} for campaign {data['campaignId']} "
                     f"(PUT /_sandbox/campaigns/{data['campaignId']} webhooks, or PATCH /_sandbox/settings)")
    return Output(data, lines)


# --- the parser ----------------------------------------------------------------------------------

def build_parser(environ=os.environ) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("connection and output (every command)")
    group.add_argument("--url", default=environ.get("LEADSAIL_URL") or DEFAULT_URL,
                       help=f"the sandbox (env LEADSAIL_URL; default {DEFAULT_URL})")
    group.add_argument("--key", default=environ.get("LEADSAIL_API_KEY") or DEFAULT_KEY,
                       help=f"X-API-Key naming the tenant (env LEADSAIL_API_KEY; default {DEFAULT_KEY})")
    group.add_argument("--admin-key", dest="admin_key", default=environ.get("SANDBOX_ADMIN_KEY") or None,
                       help="X-Admin-Key for keys (env SANDBOX_ADMIN_KEY)")
    group.add_argument("--json", action="store_true", help="print the answer as JSON (machine output)")

    parser = argparse.ArgumentParser(
        prog=PROG, description="Drive a running sandbox. Without a command, leadsail-sandbox starts one.",
        epilog="Exit codes: 0 ok, 1 refused by the sandbox, 2 usage, 3 cannot connect.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def leaf(sub, name: str, run, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(run=run)
        return p

    def area(name: str, help_text: str):
        p = commands.add_parser(name, help=help_text, description=help_text)
        return p.add_subparsers(dest="action", metavar="ACTION", required=True)

    clock = area("clock", "the tenant clock")
    p = leaf(clock, "advance", cmd_clock_advance, "advance the clock, running the work due on the way")
    p.add_argument("duration", nargs="?", type=duration, help="90s, 15m, 2h, 1d, 1h30m (or seconds)")
    p.add_argument("--to", type=iso_instant, help="advance to this instant instead (ISO 8601)")
    p.add_argument("--full", action="store_true", help="list every job that ran (default: counts per kind)")
    p = leaf(clock, "jump", cmd_clock_jump, "move the clock to an instant (forward only), running due work")
    p.add_argument("to", type=iso_instant, help="ISO 8601, e.g. 2026-01-16T15:00Z (no offset: UTC)")
    leaf(clock, "show", cmd_clock_show, "mode, now, pending work")
    p = leaf(clock, "mode", cmd_clock_mode, "switch between manual and realtime")
    p.add_argument("mode", choices=("manual", "realtime"))
    p.add_argument("--speed", type=float, help="real-time speed-up")

    sms = area("sms", "texts")
    p = leaf(sms, "inbound", cmd_sms_inbound, "a lead texts one of your numbers")
    p.add_argument("--from", dest="from_", required=True, help="the lead's number (E.164)")
    p.add_argument("--to", required=True, help="one of your numbers (E.164)")
    p.add_argument("--text", required=True)
    p.add_argument("--provider-message-id", dest="provider_message_id")
    p = leaf(sms, "messages", cmd_sms_messages, "texts the sandbox handled, newest first")
    p.add_argument("--lead")
    p.add_argument("--number", help="either end of the text")
    p.add_argument("--direction", choices=("outbound", "inbound"))
    p.add_argument("--status", choices=("queued", "sent", "delivered", "failed", "received"))
    p.add_argument("--limit", type=int)

    calls = area("calls", "calls")
    p = leaf(calls, "inbound", cmd_calls_inbound, "a call arrives at one of your numbers; an inbound agent answers")
    p.add_argument("--from", dest="from_", required=True, help="the caller's number (E.164)")
    p.add_argument("--to", required=True, help="one of your numbers (E.164)")

    p = leaf(commands, "trigger", cmd_trigger,
             "make an event really happen for a lead, advancing the clock until it has (and its webhooks left)")
    p.add_argument("event", choices=TRIGGERS, metavar="EVENT", help="one of: " + ", ".join(TRIGGERS))
    p.add_argument("--lead", required=True, help="the lead's id")
    p.add_argument("--campaign", help="campaign to run for (default: the lead's)")
    p.add_argument("--to", help="sms.received: the number texted (default: the campaign's or its SMS agent's)")
    p.add_argument("--text", help=f"sms.received: the text (default: {DEFAULT_SMS_TEXT!r})")

    webhooks = area("webhooks", "outbound deliveries")
    p = leaf(webhooks, "list", cmd_webhooks_list, "deliveries, newest first")
    p.add_argument("--event")
    p.add_argument("--lead")
    p.add_argument("--status", choices=("pending", "delivering", "delivered", "failed"))
    p.add_argument("--kind", help="webhook, sms_agent, first_submission_action, test ...")
    p.add_argument("--campaign")
    p.add_argument("--limit", type=int)
    p = leaf(webhooks, "show", cmd_webhooks_show, "one delivery with every attempt")
    p.add_argument("id")
    p = leaf(webhooks, "replay", cmd_webhooks_replay, "send a delivered or failed delivery again, now")
    p.add_argument("id")

    state = area("state", "export and import the tenant")
    p = leaf(state, "export", cmd_state_export, "the whole tenant as JSON (stdout, or -o FILE)")
    p.add_argument("-o", "--output", help="write to this file")
    p = leaf(state, "import", cmd_state_import, "replace the tenant by an export")
    p.add_argument("file", help="an export (or the envelope GET /_sandbox/state answered); - for stdin")

    leaf(commands, "reset", cmd_reset, "replace the tenant by a freshly seeded one")

    dialer = area("dialer", "auto-dialer")
    p = leaf(dialer, "check", cmd_dialer_check, "may this lead be called now, and if not, when (changes nothing)")
    p.add_argument("lead")
    p = leaf(dialer, "queue", cmd_dialer_queue, "pending auto-dialer attempts, in due order")
    p.add_argument("--limit", type=int)
    p.add_argument("--campaign")

    keys = area("keys", "strict mode's tenant keys (admin)")
    p = leaf(keys, "issue", cmd_keys_issue, "issue a key (printed once)")
    p.add_argument("--label")
    p.add_argument("--new-key", dest="new_key", help="choose the key (8-256 visible ASCII characters)")
    leaf(keys, "list", cmd_keys_list, "issued keys (prefixes)")
    p = leaf(keys, "revoke", cmd_keys_revoke, "revoke a key and drop its tenant")
    p.add_argument("revoke_key", metavar="KEY")

    leaf(commands, "info", cmd_info, "what the sandbox is and its key mode")
    return parser


# --- running -------------------------------------------------------------------------------------

def _emit(output: Output, as_json: bool) -> None:
    if output.raw_json:
        print(json.dumps(output.data, indent=2 if as_json else None))
    elif as_json:
        print(json.dumps(output.data, indent=2))
    else:
        for line in output.lines:
            print(line)


def _failed(exc: Exception, name: str, as_json: bool) -> int:
    """Say on stderr, in one line, why a command failed, and return its exit code (first match wins)."""
    if isinstance(exc, EventNotReached) and as_json:
        print(json.dumps(exc.result, indent=2))  # how far the run got, for a script
    for kinds, code, prefix in ((UsageError, USAGE, f"{PROG} {name}: "),
                                (SandboxAPIError, REFUSED, "error "),
                                (SandboxConnectionError, UNREACHABLE, f"{PROG} {name}: "),
                                ((EventNotReached, CannotTrigger), REFUSED, "error "),
                                (SandboxError, REFUSED, f"{PROG} {name}: ")):
        if isinstance(exc, kinds):
            text = exc.one_line() if isinstance(exc, SandboxAPIError) else str(exc)
            print(prefix + text, file=sys.stderr)
            return code
    raise exc


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse: usage errors exit 2, --help 0
        return exc.code if isinstance(exc.code, int) else USAGE
    name = " ".join(filter(None, (args.command, getattr(args, "action", None))))
    url = urlsplit(args.url)
    if url.scheme not in ("http", "https") or not url.netloc:
        print(f"{PROG} {name}: --url must be an http:// or https:// URL such as {DEFAULT_URL} (got {args.url!r})",
              file=sys.stderr)
        return USAGE
    try:
        with SandboxClient(args.url, args.key, args.admin_key) as sb:
            output = args.run(sb, args)
    except BrokenPipeError:  # `... | head`
        return OK
    except (UsageError, SandboxError) as exc:
        return _failed(exc, name, args.json)
    try:
        _emit(output, args.json)
    except BrokenPipeError:
        pass
    return OK
