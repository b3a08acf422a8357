"""schemathesis over openapi.yaml against the in-process app, every check on.

Response validation is on in the app as well, so a response that drifts from the spec fails twice.
The one thing a reader might get wrong: a fuzz run that only ever gets 401 or 400 passes while
testing nothing (stack-notes §7.10), so the last test asserts that every operation also answered
2xx at least once.
"""

from collections import Counter, defaultdict

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from sandbox.app import create_app
from sandbox.settings import Settings

KEY = {"X-API-Key": "schemathesis"}
APP = create_app(Settings(validate_responses=True))
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)
STATUSES: dict[str, Counter] = defaultdict(Counter)
FUZZ = settings(max_examples=100, derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


@SCHEMA.parametrize()
@FUZZ
def test_every_operation_honours_the_contract(case):
    response = case.call_and_validate(headers=KEY)
    STATUSES[case.operation.label][response.status_code] += 1


StatefulMachine = SCHEMA.as_state_machine()


class TestLinkedJourneys(StatefulMachine.TestCase):
    settings = settings(max_examples=40, stateful_step_count=6, derandomize=True, deadline=None,
                        database=None, suppress_health_check=list(HealthCheck))

    def get_call_kwargs(self, case):
        return {"headers": KEY}


def test_every_operation_was_also_exercised_successfully():
    if not STATUSES:
        pytest.skip("run together with the fuzz test")
    without_success = sorted(op for op, counts in STATUSES.items()
                             if not any(200 <= code < 300 for code in counts))
    assert without_success == [], {op: dict(STATUSES[op]) for op in without_success}
    server_errors = {op: dict(c) for op, c in STATUSES.items() if any(code >= 500 for code in c)}
    assert server_errors == {}
