"""The guard every request of a run passes through: what the profile forbids is never sent.

Three rules, checked before sending (``Guard.refusal``): an operation the profile excludes is not
called; a write's body satisfies the profile's pin for its operation (test flags, fictional phone
numbers, the marker e-mail domain); a write names no record the suite has *seen* in a response
without having created it. Records the suite created (under the pins) are learnt from responses
(``Guard.learn``), so the suite can go on to update, call or attach files to its own test leads.
The one thing a reader might get wrong: the guard sits in the transport, not in the generator —
schemathesis' probes (the missing/invalid-auth replays) bypass ``before_call`` hooks but not the
transport, so ``guarded_transport`` wraps schemathesis' one HTTP transport for the duration of a run.
A refused request raises ``Refused``; the report counts those separately from contract failures.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import jsonschema_rs

from .profiles import OWNERSHIP, RECORD_ID_FIELDS, Profile
from .spec import READ_METHODS, Operation

_ID_KEY = re.compile(r"(?:^|[a-z])Id$")


class Refused(Exception):
    """A request the profile forbids; it was not sent."""


class Guard:
    def __init__(self, profile: Profile, ops: list[Operation]):
        self.profile = profile
        self.by_label = {op.label: op for op in ops}
        self.by_id = {op.operation_id: op for op in ops}
        self.paths = {op.path for op in ops}
        self.validators = {op_id: jsonschema_rs.validator_for(pin) for op_id, pin in profile.pins.items()}
        self.owned: set[str] = set()
        self.seen: set[str] = set()
        self.refused: list[str] = []

    # -- before sending -------------------------------------------------------------------
    def refusal(self, method: str, path: str, path_parameters: dict | None, body: Any) -> str | None:
        """Why this request must not be sent, or None. ``path`` is the spec's template."""
        method = method.upper()
        if method in READ_METHODS:
            return None
        op = self.by_label.get(f"{method} {path}")
        if op is not None and op.operation_id in self.profile.excluded:
            return f"{op.operation_id} is excluded by the {self.profile.name} profile"
        if op is not None and op.operation_id in self.validators and isinstance(body, dict):
            if not self.validators[op.operation_id].is_valid(body):
                return f"{op.operation_id} body lacks the {self.profile.name} profile's test flags or markers"
        if op is not None and op.operation_id in self.validators and not isinstance(body, dict):
            if self.profile.pins[op.operation_id].get("required"):
                return f"{op.operation_id} without a JSON object body cannot carry the test flags"
        if op is None and not self._on_allowed_path(path):
            return f"{method} {path} is not on a path the {self.profile.name} profile calls"
        if self.profile.guard_records:
            for value in self._record_ids(path_parameters, body):
                if value in self.seen and value not in self.owned:
                    return f"{method} {path} would change {value}, a record this run did not create"
        return None

    def _on_allowed_path(self, path: str) -> bool:
        """Undocumented methods (the unsupported-method check) only where some operation is allowed."""
        return any(op.path == path and op.operation_id not in self.profile.excluded for op in self.by_id.values())

    @staticmethod
    def _record_ids(path_parameters: dict | None, body: Any) -> Iterator[str]:
        for value in (path_parameters or {}).values():
            if isinstance(value, str):
                yield value
        if isinstance(body, dict):
            for key in RECORD_ID_FIELDS:
                value = body.get(key)
                if isinstance(value, str):
                    yield value
                elif isinstance(value, list):
                    yield from (v for v in value if isinstance(v, str))

    def check(self, method: str, path: str, path_parameters: dict | None, body: Any) -> None:
        reason = self.refusal(method, path, path_parameters, body)
        if reason is not None:
            self.refused.append(reason)
            raise Refused(reason)

    # -- after the answer -----------------------------------------------------------------
    def learn(self, operation_id: str | None, status: int, payload: Any, sent: set[str] = frozenset()) -> None:
        """Remember ids in a response. ``sent``: ids the request itself carried — an echo of a
        random fuzz id proves nothing about the target's data, while every id the suite can learn
        about a real record first reaches it in a response to a request that did not name it."""
        if 200 <= status < 300 and operation_id in OWNERSHIP and isinstance(payload, dict):
            data = payload.get("data")
            if isinstance(data, dict):
                self.owned.update(str(data[k]) for k in OWNERSHIP[operation_id] if data.get(k) is not None)
        self.seen.update(self._ids(payload) - set(sent))

    def sent_ids(self, path_parameters: dict | None, body: Any) -> set[str]:
        return set(self._record_ids(path_parameters, body))

    @classmethod
    def _ids(cls, node: Any) -> set[str]:
        found: set[str] = set()
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and _ID_KEY.search(key):
                    found.add(value)
                else:
                    found |= cls._ids(value)
        elif isinstance(node, list):
            for item in node:
                found |= cls._ids(item)
        return found


def _json(response) -> Any:
    with contextlib.suppress(Exception):
        return response.json()
    return None


@contextlib.contextmanager
def guarded_transport(guard: Guard):
    """Route schemathesis' HTTP transport through ``guard`` while the block runs."""
    from schemathesis.transport.requests import REQUESTS_TRANSPORT

    original = REQUESTS_TRANSPORT.send

    def send(case, **kwargs):
        operation, body = case.operation, _body(case)
        guard.check(case.method, operation.path, case.path_parameters, body)
        response = original(case, **kwargs)
        op = guard.by_label.get(operation.label)
        guard.learn(op.operation_id if op else None, response.status_code, _json(response),
                    guard.sent_ids(case.path_parameters, body))
        return response

    REQUESTS_TRANSPORT.send = send  # instance attribute: shadows the method for this run only
    try:
        yield guard
    finally:
        del REQUESTS_TRANSPORT.send


def _body(case) -> Any:
    from schemathesis.core import NOT_SET

    return None if case.body is NOT_SET else case.body
