"""What a run found, per operation and per journey; the report and the JUnit file read only this.

The one thing a reader might get wrong: a request the profile's guard refused was never sent, so it
is neither a pass nor a failure of the target — it is counted apart (``refused``) and does not change
the exit code.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Finding:
    check: str
    title: str
    message: str
    curl: str


@dataclass
class OperationResult:
    label: str
    operation_id: str
    checks_run: int = 0
    checks_passed: int = 0
    checks_failed: int = 0
    statuses: Counter = field(default_factory=Counter)
    findings: dict[tuple[str, str], Finding] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    refused: int = 0
    journey_statuses: Counter = field(default_factory=Counter)   # not checked by schemathesis

    @property
    def ok(self) -> bool:
        return self.checks_failed == 0 and not self.errors

    @property
    def answered_2xx(self) -> bool:
        return any(200 <= code < 300 for code in self.statuses)

    @property
    def answered_2xx_anywhere(self) -> bool:
        return self.answered_2xx or any(200 <= code < 300 for code in self.journey_statuses)


@dataclass
class JourneyResult:
    name: str
    status: str                       # passed | failed | skipped
    detail: str = ""
    requests: int = 0
    seconds: float = 0.0
    curl: str = ""                    # the request that showed the failure
    sandbox_only: bool = False


@dataclass
class RunResult:
    base_url: str
    profile: str
    seed: int
    max_examples: int
    sandbox: bool
    operations: dict[str, OperationResult] = field(default_factory=dict)
    journeys: list[JourneyResult] = field(default_factory=list)
    fatal: str | None = None
    warnings: list[str] = field(default_factory=list)
    skipped_checks: list[str] = field(default_factory=list)   # checks that cannot apply to this target, and why
    fuzz_seconds: float = 0.0
    journey_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return (self.fatal is None and all(op.ok for op in self.operations.values())
                and not any(j.status == "failed" for j in self.journeys))

    def totals(self) -> dict[str, int]:
        ops = self.operations.values()
        return {
            "operations": len(self.operations),
            "operations_failed": sum(not op.ok for op in ops),
            "requests": sum(sum(op.statuses.values()) for op in ops),
            "checks_run": sum(op.checks_run for op in ops),
            "checks_passed": sum(op.checks_passed for op in ops),
            "checks_failed": sum(op.checks_failed for op in ops),
            "refused": sum(op.refused for op in ops),
            "journeys_passed": sum(j.status == "passed" for j in self.journeys),
            "journeys_failed": sum(j.status == "failed" for j in self.journeys),
            "journeys_skipped": sum(j.status == "skipped" for j in self.journeys),
        }
