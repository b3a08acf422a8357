"""The suite's own check and failure filter, on top of schemathesis' built-in checks.

* ``positive_data_not_refused_for_shape``: this API answers some schema-valid requests with a 400 by
  design (an unknown id in a body, a refused business rule), so ``positive_data_acceptance`` has to
  accept 400. This check keeps it honest: a 400 to schema-valid data must not carry schema-level
  wording ("must be a string", "is required" ...), which is what an over-strict validator says.
* ``keep_failure``: schemathesis' ``ensure_resource_availability`` reads a 404 after a create as "the
  created record is gone", but here a 404 can also name *another* id of the request body (an unknown
  ``campaignId`` on deliver is a 404). The failure is dropped only when re-reading the created record
  itself answers 200 — the availability the check is about is still verified, by that re-read.

* ``missing_key_refused``: stands in for schemathesis' ``ignored_auth`` against a sandbox in *open*
  mode, where any non-empty key opens a tenant by design, so "an invalid key is refused" cannot apply.
  It runs the same probes and keeps only the half that can: a request *without* a key must be refused.

The one thing a reader might get wrong: ``schemathesis.check`` registers globally, for every schema in
the process (pytest included); the checks do nothing unless a run of this suite is active.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import schemathesis
from schemathesis.core.failures import Failure
from schemathesis.openapi.checks import AuthScenario, IgnoredAuth
from schemathesis.specs.openapi.checks import get_security_parameters, ignored_auth

# Wording of schema violations, as the LeadSail error details phrase them ("<field>: <reason>").
SCHEMA_WORDING = ("must be a", "must be an", "is required", "must match", "is not an allowed field",
                  "must be one of", "must be at least", "must be at most", "must have at", "must be a valid")

_active = {"on": False, "open_sandbox": False}
_confirmed: set[str] = set()     # operations whose missing-key probe was refused (one probe per operation)


class RefusedAsInvalid(Failure):
    code = "ST902"
    checks = ("positive_data_not_refused_for_shape",)
    kind_title = "Schema-valid request refused for its shape"


def activate(on: bool, open_sandbox: bool = False) -> None:
    _active["on"] = on
    _active["open_sandbox"] = on and open_sandbox
    _confirmed.clear()


@schemathesis.check
def positive_data_not_refused_for_shape(ctx, response, case):
    if not _active["on"] or response.status_code != 400 or case.meta is None:
        return None
    if case.meta.generation.mode.is_negative:
        return None
    try:
        details = response.json()["error"].get("details") or []
    except Exception:
        return None  # the envelope itself is response_schema_conformance's business
    # Values echoed in quotes are the caller's, not the validator's wording.
    reasons = {d: re.sub(r"'[^']*'", "''", d.split(": ", 1)[-1]) for d in details if isinstance(d, str)}
    shape = sorted(d for d, reason in reasons.items() if any(w in reason for w in SCHEMA_WORDING))
    if shape:
        raise RefusedAsInvalid(operation=case.operation.label,
                               message="A request valid against the schema was refused as invalid: " + "; ".join(shape))
    return None


@schemathesis.check
def missing_key_refused(ctx, response, case):
    """``ignored_auth`` without its invalid-key half, for an open-mode sandbox (enabled in its place).

    The built-in probes a 2xx case twice, without the key and then with an invalid one, and stops
    at the first that is not refused. Here only the first probe's failure counts; the second's
    (an invalid key accepted) is what open mode does by design. Once an operation refused the
    missing key it is not probed again, as ``ignored_auth`` does for a confirmed operation."""
    if not _active["open_sandbox"] or not 200 <= response.status_code < 300:
        return None
    label = case.operation.label
    enforced = ctx.auth_enforced_operations if ctx.auth_enforced_operations is not None else _confirmed
    if label in enforced or not get_security_parameters(case.operation):
        return None
    try:
        ignored_auth(ctx, response, case)
    except IgnoredAuth as failure:
        if failure.scenario == AuthScenario.NO_AUTH:
            raise
        if failure.scenario == AuthScenario.INVALID_AUTH:
            enforced.add(label)  # the missing-key probe came first and was refused
    return None


def resource_filter(read: Callable[[str], int]) -> Callable:
    """A ``filter_failure`` hook; ``read(path)`` GETs a concrete path and returns the status code."""

    def keep_failure(context, failure, case, response) -> bool:
        if "ensure_resource_availability" not in getattr(failure, "checks", ()):
            return True
        record_path = _record_path(case)
        return record_path is None or read(record_path) != 200

    return keep_failure


def _record_path(case) -> str | None:
    """``/api/v1/leads/{leadId}/deliver`` with leadId=X → ``/api/v1/leads/X``, if the spec has that GET."""
    template = case.operation.path
    schema = case.operation.schema
    paths = schema.raw_schema.get("paths", {})
    parts = template.split("/")
    while len(parts) > 1:
        candidate = "/".join(parts)
        if candidate != template and candidate.endswith("}") and "get" in paths.get(candidate, {}):
            concrete = candidate
            for name, value in (case.path_parameters or {}).items():
                concrete = concrete.replace("{" + name + "}", str(value))
            return concrete
        parts.pop()
    return None
