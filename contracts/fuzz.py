"""schemathesis over the contract, in process, through its engine; events folded into per-operation results.

Why the engine and not the ``schemathesis run`` CLI as a subprocess: the guard has to sit in the
transport of the very process that sends the requests (``safety.py``), the profile's variant of the
spec is a dict built here (no temporary file), and the engine's events carry every check result with
its case, so the per-operation report needs no parsing of another program's output. The price is a
dependency on schemathesis' engine API, which is why schemathesis is pinned exactly in pyproject.toml.

The one thing a reader might get wrong: determinism. The seed is always set (chosen and printed when
not given), the example database is off and one worker runs, so the same seed against a target in the
same state sends the same requests (stack-notes §6.5: a seed alone, with the database on, does not).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import schemathesis
from schemathesis.core import NOT_SET
from schemathesis.core.errors import NoLinksFound
from schemathesis.engine import events, from_schema

from . import checks, spec as spec_mod
from .profiles import Profile
from .results import Finding, OperationResult, RunResult
from .safety import Guard, Refused, guarded_transport

ALL_PHASES = ("examples", "coverage", "fuzzing", "stateful")
# This API answers some schema-valid requests with 400 (unknown id in a body, refused business rule);
# `positive_data_not_refused_for_shape` keeps that from hiding an over-strict validator.
POSITIVE_STATUSES = ["2xx", "400", "401", "404"]


@dataclass
class FuzzOptions:
    base_url: str
    api_key: str
    profile: Profile
    seed: int
    max_examples: int = 20
    rate_limit: str | None = None
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    phases: tuple[str, ...] = ALL_PHASES
    request_timeout: float = 10.0
    open_sandbox: bool = False          # a sandbox in open mode: ignored_auth gives way to missing_key_refused


class UnknownOperation(Exception):
    """An --include/--exclude name that is neither an operationId nor a label of the spec."""


def named(op: spec_mod.Operation, names: list[str]) -> bool:
    """``--include``/``--exclude`` take operationIds or ``"METHOD /path"`` labels."""
    return op.operation_id in names or op.label in names


def select(ops: list[spec_mod.Operation], profile: Profile, include: list[str], exclude: list[str]) -> set[str]:
    """operationIds to fuzz: the profile's, minus ``exclude``, within ``include`` when given."""
    known = {op.operation_id for op in ops} | {op.label for op in ops}
    unknown = sorted(set(include + exclude) - known)
    if unknown:
        raise UnknownOperation(f"unknown operation(s): {', '.join(unknown)}")
    return {op.operation_id for op in ops
            if op.operation_id not in profile.excluded and not named(op, exclude)
            and (not include or named(op, include))}


def build_config(options: FuzzOptions, raw: dict, selected: set[str]) -> schemathesis.Config:
    scheme, _header = spec_mod.api_key_scheme(raw)
    rate = options.rate_limit or options.profile.rate_limit
    data = {
        "base-url": options.base_url.rstrip("/"),
        "seed": options.seed,
        "workers": 1,
        # Health checks judge the generator (too slow, too much filtered by the pins), not the target;
        # on a loaded CI machine they would make the same seed pass one day and error the next.
        "suppress-health-check": ["all"],
        "request-timeout": options.request_timeout,
        "generation": {"max-examples": options.max_examples, "database": "none", "mode": "all"},
        "checks": {"positive_data_acceptance": {"expected-statuses": POSITIVE_STATUSES}},
        "phases": {name: {"enabled": name in options.phases} for name in ALL_PHASES},
        "auth": {"openapi": {scheme: {"api_key": options.api_key}}},
        "operations": [{"include-operation-id": op, "rate-limit": rate} for op in sorted(selected)] if rate else [],
    }
    if options.open_sandbox:
        # Every non-empty key opens a tenant there, by design: the invalid-key probe cannot pass.
        # checks.missing_key_refused runs the missing-key half instead.
        data["checks"]["ignored_auth"] = {"enabled": False}
    if options.profile.pins:
        # Negative steps of a sequence mostly break a pin and would be drawn only to be thrown away
        # (slow, and nothing is lost: the unit phases send the negative data the pins allow).
        data["phases"]["stateful"]["generation"] = {"mode": "positive"}
    return schemathesis.Config.from_dict(data)


def run(raw: dict, options: FuzzOptions, guard: Guard, result: RunResult,
        read: Callable[[str], int], progress: Callable[[str], None] = lambda _line: None) -> None:
    """Fuzz the selected operations; fills ``result.operations`` (and ``result.fatal``)."""
    ops = spec_mod.operations(raw)
    selected = select(ops, options.profile, options.include, options.exclude)
    for op in ops:
        if op.operation_id in selected:
            result.operations[op.label] = OperationResult(op.label, op.operation_id)
    variant = spec_mod.for_profile(raw, options.profile, selected)
    schema = schemathesis.openapi.from_dict(variant, config=build_config(options, raw, selected))
    # `include` would be OR-ed with the config's own include filter (which matches everything).
    unselected = sorted(op.operation_id for op in ops if op.operation_id not in selected)
    if unselected:
        schema = schema.exclude(operation_id=unselected)

    @schema.hook("filter_case")
    def steer(context, case):
        # Generation-time twin of the transport guard: forbidden cases are never even drawn.
        body = None if case.body is NOT_SET else case.body
        return guard.refusal(case.method, case.operation.path, case.path_parameters, body) is None

    schema.hook("filter_failure")(checks.resource_filter(read))

    started = time.monotonic()
    checks.activate(True, open_sandbox=options.open_sandbox)
    try:
        with guarded_transport(guard):
            for event in from_schema(schema).execute():
                _fold(event, result, progress)
    finally:
        checks.activate(False)
        result.fuzz_seconds = time.monotonic() - started


def _fold(event, result: RunResult, progress: Callable[[str], None]) -> None:
    if isinstance(event, events.ScenarioFinished):
        _fold_recorder(event.recorder, result)
    elif isinstance(event, events.PhaseStarted) and event.phase.is_enabled:
        progress(f"phase {event.phase.name.value} ...")
    elif isinstance(event, events.NonFatalError):
        target = result.operations.get(event.label)
        if isinstance(event.value, NoLinksFound):
            return  # the selected operations have no links between them: nothing stateful to test
        if _is_refusal(event.value):
            if target is not None:
                target.refused += 1
            return
        message = f"{event.info.title}: {event.info.message}".strip()
        if target is not None:
            if message not in target.errors:
                target.errors.append(message)
        else:
            result.warnings.append(f"{event.label}: {message}")
    elif isinstance(event, events.FatalError):
        result.fatal = f"{type(event.exception).__name__}: {event.exception}"
    elif isinstance(event, events.Interrupted):
        result.fatal = "interrupted"


def _is_refusal(error: BaseException | None) -> bool:
    while error is not None:
        if isinstance(error, Refused):
            return True
        error = error.__cause__ or error.__context__
    return False


def _fold_recorder(recorder, result: RunResult) -> None:
    for case_id, nodes in recorder.checks.items():
        node = recorder.cases.get(case_id)
        label = node.value.operation.label if node is not None else recorder.label
        target = result.operations.get(label)
        if target is None:
            continue
        for check in nodes:
            target.checks_run += 1
            status = check.status.value
            if status == "success":
                target.checks_passed += 1
            elif status == "failure":
                target.checks_failed += 1
                failure = check.failure_info.failure
                key = (check.name, failure.title)
                target.findings.setdefault(key, Finding(check.name, failure.title, failure.message,
                                                         check.failure_info.code_sample))
            else:
                target.errors.append(f"check {check.name} crashed")
    for case_id, interaction in recorder.interactions.items():
        node = recorder.cases.get(case_id)
        if interaction.response is None or node is None:
            continue
        target = result.operations.get(node.value.operation.label)
        if target is not None:
            target.statuses[interaction.response.status_code] += 1
