"""The first gate every request with a body passes: who is asking, and how much they send.

An ASGI layer in front of the direct route and connexion, for both specs. For a request that
carries a body (a ``Content-Length`` above 0, or ``Transfer-Encoding``) to one of the specs'
operations, before a byte of the body is read:

1. **The key**: an operation that needs ``X-API-Key`` (or ``X-Admin-Key``) and gets none, or one
   the sandbox will not admit (unissued in strict mode; too long; a new tenant past
   ``--max-tenants``), is answered 401 — so an unknown caller cannot make the sandbox hold a body.
2. **The size**: a declared length above the limit (``--max-body-bytes``; ``--max-import-bytes``
   for a state import) is answered 413; a chunked body is read up to the limit and refused past
   it, and otherwise replayed downstream with a ``Content-Length``, so the rest of the stack sees
   an ordinary body (connexion treats a body without one as missing).
3. **The type**: a body sent without a ``Content-Type`` to an operation that takes one is answered
   415, on every operation of both specs (connexion would guess JSON for validation, then hand the
   handler raw bytes).

It also refuses a path holding control characters (``%0A``...) with a 400: starlette's routing
cannot match one and would answer an undeclared 404.

A request replayed from a durable store's log (``REPLAYED_STATUS`` in its scope: the status it
was answered with) was judged once, by the process that took it: its size verdict is that answer
(413 or not), not this process's limit, which may differ (``--max-import-bytes``).

The one thing a reader might get wrong: everything else is left downstream. Requests without a
body pass with one header scan, and parsing — with its depth and number limits — happens once,
in ``validation`` through ``untrusted_json``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import errors
from ..tenancy import SCOPE_KEY
from . import envelope

REPLAYED_STATUS = "sandbox.replayed_status"   # scope key: a request replayed from the log, and its answer

METHODS = ("get", "put", "post", "patch", "delete")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")

# Operations whose real requests are far larger than the rest: a whole tenant's export.
LARGE_BODY_OPERATIONS = frozenset({"importState"})


@dataclass(frozen=True)
class GatedOperation:
    operation_id: str
    key_headers: tuple[tuple[bytes, str], ...]   # (header, scheme kind) alternatives; () = no key
    takes_body: bool
    large_body: bool


class RouteTable:
    """Method + path → the operation's key and body rules, most literal template first, as in
    routing (``/leads/bulk`` before ``/leads/{leadId}``)."""

    def __init__(self):
        self._routes: dict[str, list[tuple[str, re.Pattern, int, GatedOperation]]] = {}

    def add_spec(self, spec: dict, base_path: str = "") -> None:
        schemes = spec.get("components", {}).get("securitySchemes", {})
        for template, item in spec.get("paths", {}).items():
            full = base_path + template
            prefix = full.split("{", 1)[0]
            pattern = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(full)) + "/?$")
            for method in METHODS:
                operation = item.get(method)
                if operation is None:
                    continue
                security = operation.get("security", spec.get("security", []))
                headers = []
                for requirement in security:
                    for name in requirement:
                        scheme = schemes.get(name, {})
                        if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
                            kind = "admin" if "admin" in scheme.get("x-apikeyInfoFunc", "") else "tenant"
                            headers.append((scheme["name"].lower().encode("latin-1"), kind))
                if any(not requirement for requirement in security):
                    headers = []  # an empty requirement makes the key optional
                gated = GatedOperation(operation.get("operationId", ""), tuple(headers),
                                       "requestBody" in operation,
                                       operation.get("operationId") in LARGE_BODY_OPERATIONS)
                self._routes.setdefault(method.upper(), []).append((prefix, pattern, template.count("{"), gated))
        for routes in self._routes.values():
            routes.sort(key=lambda route: route[2])

    def match(self, method: str, path: str) -> GatedOperation | None:
        for prefix, pattern, _, operation in self._routes.get(method, ()):
            if path.startswith(prefix) and pattern.match(path):
                return operation
        return None


class RequestLimits:
    """ASGI middleware: refuses what must not be read, replays a chunked body it did read."""

    def __init__(self, app, routes: RouteTable, max_body_bytes: int, max_import_bytes: int):
        self.app = app
        self.routes = routes
        self.max_body_bytes = max_body_bytes
        self.max_import_bytes = max_import_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length, chunked, has_type = 0, False, False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = int(value) if value.isdigit() else 0
            elif name == b"transfer-encoding":
                chunked = True
            elif name == b"content-type":
                has_type = bool(value.strip())
        path = scope["path"]
        if _CONTROL_CHARS.search(path):
            await self._refuse(errors.invalid(
                "path: must not contain control characters (a newline, %0A, for one); remove them"),
                scope, receive, send)
            return
        if not length and not chunked:
            await self.app(scope, receive, send)
            return
        operation = self.routes.match(scope["method"], path)
        if operation is None:
            await self.app(scope, receive, send)  # 404/405 downstream; nobody reads the body
            return
        refusal = _key_refusal(operation, scope)
        if refusal is not None:
            await self._refuse(refusal, scope, receive, send)
            return
        limit = self.max_import_bytes if operation.large_body else self.max_body_bytes
        replayed = scope.get(REPLAYED_STATUS)
        if (length > limit) if replayed is None else replayed == 413:
            await self._refuse(_too_large(limit), scope, receive, send)
            return
        if operation.takes_body and not has_type:
            await self._refuse(errors.UnsupportedMediaType(
                ["Content-Type: is missing; send the body as application/json"]), scope, receive, send)
            return
        if chunked:
            body = await _read_up_to(receive, limit)
            if body is None:
                await self._refuse(_too_large(limit), scope, receive, send)
                return
            scope = dict(scope, headers=[(k, v) for k, v in scope["headers"]
                                         if k not in (b"transfer-encoding", b"content-length")]
                         + [(b"content-length", str(len(body)).encode())])
            receive = _replay(body, receive)
        await self.app(scope, receive, send)

    async def _refuse(self, exc: errors.SandboxError, scope, receive, send) -> None:
        # The body is never read: uvicorn discards it (and closes the connection if it must).
        response = envelope.error_response(exc, scope["path"])
        await envelope.send_response(response, scope, receive, send)


def _key_refusal(operation: GatedOperation, scope) -> errors.SandboxError | None:
    if not operation.key_headers:
        return None
    registry = scope.get(SCOPE_KEY)
    details: list[str] = []
    for header, kind in operation.key_headers:
        value = next((v for k, v in scope["headers"] if k == header), None)
        if value is None:
            continue
        key = value.decode("latin-1").strip()
        if kind == "admin":
            if registry is not None and registry.admin_key_matches(key):
                return None
            continue
        refusal = registry.refusal(key) if registry is not None else []
        if refusal is None:
            return None
        details.extend(refusal)
    return errors.Unauthorized(details)


def _too_large(limit: int) -> errors.SandboxError:
    return errors.PayloadTooLarge([f"body: is larger than this sandbox's limit of {limit} bytes"])


async def _read_up_to(receive, limit: int) -> bytes | None:
    """The whole body, or None once it passes ``limit`` (the rest is never read)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)  # the client went away; downstream sees what came
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive):
    sent = False

    async def replaying():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replaying
