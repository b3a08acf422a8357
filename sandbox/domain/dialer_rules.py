"""Auto-dialer rules: may this lead be called at this instant, and if not, when next?

Each rule is a pure function of (lead, dialer config, attempt history, now, lead's time zone) that
returns a ``Verdict`` carrying the facts a refusal is worded from (README assumptions G52/G53).
``evaluate`` runs them in the documented order: operating hours, minimum gap, maximum attempts,
excluded status. The one thing a reader might get wrong: operating hours are read in the *lead's*
local time zone (lead timezone → the phone's area code → the campaign's zone), and "exactly at the
gap" is allowed — the gap is a minimum, not a strict inequality. Window ends are exclusive
(09:00–20:00 means a call may start at 19:59:59, not at 20:00).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..clock import iso, parse_instant

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_TIMEZONE = "America/New_York"

DEFAULT_CONFIG = {
    "active": True,
    "operatingHours": {"start": "09:00", "end": "20:00", "days": ["mon", "tue", "wed", "thu", "fri", "sat"]},
    "minGapMinutes": 60,
    "maxAttempts": 6,
    "retryDelaysMinutes": [60, 240, 1440],
    "excludedStatuses": ["delivered", "accepted", "dnc", "disqualified", "duplicate", "rejected", "no_contact"],
}

OPERATING_HOURS = "operatingHours"
MINIMUM_GAP = "minimumGap"
MAX_ATTEMPTS = "maxAttempts"
EXCLUDED_STATUS = "excludedStatus"
RULES = (OPERATING_HOURS, MINIMUM_GAP, MAX_ATTEMPTS, EXCLUDED_STATUS)

# Rules a later instant can satisfy; the others refuse for good (until someone changes the lead).
WAITABLE = (OPERATING_HOURS, MINIMUM_GAP)


@dataclass(frozen=True)
class Verdict:
    rule: str
    allowed: bool | None                   # None: not evaluated (an input it needs is missing)
    reason: str = ""                       # the facts, worded for a user (empty when allowed)
    allowed_at: datetime | None = None     # the earliest instant this rule allows (None: never)

    @property
    def detail(self) -> str:
        return f"{self.rule}: {self.reason}"


def config_of(campaign_config: dict | None) -> dict:
    """The campaign's dialer configuration with the G52 defaults filled in (a fresh copy)."""
    merged = {key: _copy(value) for key, value in DEFAULT_CONFIG.items()}
    given = (campaign_config or {}).get("autoDialer") or {}
    for key, value in given.items():
        if key == "operatingHours" and isinstance(value, dict):
            merged["operatingHours"].update(_copy(value))
        elif value is not None:
            merged[key] = _copy(value)
    return merged


def _copy(value):
    """A copy of one configuration value. The values are scalars, lists of scalars, or the hours
    object holding one such list, so C-level ``list``/``dict`` copies are a full deep copy —
    and several times faster than ``copy.deepcopy``, which matters: this runs for every attempt."""
    if isinstance(value, dict):
        return {key: list(item) if isinstance(item, list) else item for key, item in value.items()}
    if isinstance(value, list):
        return list(value)
    return value


def zone_for(lead_timezone: str | None, phone_timezone: str | None, campaign_timezone: str | None) -> str:
    """The first known IANA zone of: the lead's own, its phone's area code, the campaign's."""
    for name in (lead_timezone, phone_timezone, campaign_timezone):
        if name and valid_zone(name):
            return name
    return DEFAULT_TIMEZONE


def valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _hhmm(text: str) -> time:
    hours, minutes = text.split(":")[:2]
    return time(int(hours), int(minutes))


def _days(hours: dict) -> list[str]:
    """The allowed weekdays; an absent list means every day, an empty one means none."""
    days = hours.get("days")
    return list(DAYS) if days is None else list(days)


def _days_label(days: list[str]) -> str:
    return ",".join(day for day in DAYS if day in days) or "no day"


def window_opens(hours: dict, zone: str, now: datetime) -> datetime | None:
    """The earliest instant at or after ``now`` inside the operating window (None: no open day)."""
    tz = ZoneInfo(zone)
    start, end = _hhmm(hours["start"]), _hhmm(hours["end"])
    days = set(_days(hours))
    if start >= end or not days & set(DAYS):
        return None
    local = now.astimezone(tz)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        if DAYS[day.weekday()] not in days:
            continue
        # Building the local wall time through the zone makes DST days come out right.
        opens = datetime.combine(day, start, tz).astimezone(timezone.utc)
        closes = datetime.combine(day, end, tz).astimezone(timezone.utc)
        if now < opens:
            return opens
        if now < closes:
            return now
    return None


def operating_hours(config: dict, zone: str, now: datetime) -> Verdict:
    hours = config["operatingHours"]
    opens = window_opens(hours, zone, now)
    if opens == now:
        return Verdict(OPERATING_HOURS, True, allowed_at=now)
    local = now.astimezone(ZoneInfo(zone))
    window = f"{hours['start']}–{hours['end']}"
    if DAYS[local.weekday()] not in _days(hours):
        window += f" on {_days_label(_days(hours))}"
    where = f"lead local time {local:%a %H:%M} ({zone}) is outside {window}"
    if opens is None:
        return Verdict(OPERATING_HOURS, False, f"{where}; the window never opens")
    return Verdict(OPERATING_HOURS, False, f"{where}; window opens at {iso(opens)}", opens)


def minimum_gap(config: dict, attempts: list[str], now: datetime) -> Verdict:
    if not attempts:
        return Verdict(MINIMUM_GAP, True, allowed_at=now)
    gap = int(config["minGapMinutes"])
    # Attempts are recorded oldest first (the clock never moves back), so the last is the latest;
    # looking through all of them made each initiate cost grow with the lead's history.
    last = parse_instant(attempts[-1])
    allowed_at = last + timedelta(minutes=gap)
    if now >= allowed_at:
        return Verdict(MINIMUM_GAP, True, allowed_at=now)
    since = int((now - last).total_seconds() // 60)
    return Verdict(MINIMUM_GAP, False,
                   f"last attempt at {iso(last)} was {since} minutes ago; minimum gap is {gap} minutes; "
                   f"next call allowed at {iso(allowed_at)}", allowed_at)


def max_attempts(config: dict, attempts: list[str]) -> Verdict:
    limit = int(config["maxAttempts"])
    if len(attempts) < limit:
        return Verdict(MAX_ATTEMPTS, True)
    return Verdict(MAX_ATTEMPTS, False, attempts_exhausted_reason(len(attempts), limit))


def attempts_exhausted_reason(made: int, limit: int) -> str:
    return f"maximum attempts reached ({made} of {limit})"


def excluded_status(config: dict, status: str | None) -> Verdict:
    if status not in (config.get("excludedStatuses") or []):
        return Verdict(EXCLUDED_STATUS, True)
    return Verdict(EXCLUDED_STATUS, False, excluded_reason(status))


def excluded_reason(status: str | None) -> str:
    return f"lead status '{status}' is excluded"


def evaluate(lead: dict, config: dict, attempts: list[str], now: datetime, zone: str) -> list[Verdict]:
    """Every rule's verdict, in the documented order."""
    return [
        operating_hours(config, zone, now),
        minimum_gap(config, attempts, now),
        max_attempts(config, attempts),
        excluded_status(config, lead.get("status")),
    ]


def first_refusal(verdicts: list[Verdict]) -> Verdict | None:
    return next((v for v in verdicts if not v.allowed), None)


def next_allowed(config: dict, attempts: list[str], now: datetime, zone: str) -> datetime | None:
    """The earliest instant at or after ``now`` when hours and gap both allow a call (None: never).

    Moving past the gap can leave the window and moving to the window never shortens the gap, so
    alternating the two converges in at most a couple of rounds.
    """
    moment = now
    for _ in range(4):
        gap = minimum_gap(config, attempts, moment)
        moment = gap.allowed_at or moment
        opens = window_opens(config["operatingHours"], zone, moment)
        if opens is None:
            return None
        if opens == moment:
            return moment
        moment = opens
    return moment


def retry_delay_minutes(config: dict, attempts_made: int) -> int:
    """The wait after the ``attempts_made``-th unanswered attempt (the last delay repeats)."""
    delays = config.get("retryDelaysMinutes") or [config["minGapMinutes"]]
    return int(delays[min(max(attempts_made, 1), len(delays)) - 1])
