"""A direct route to the public API's handlers, compiled from ``openapi.yaml``, in front of connexion.

connexion stays the reference path. Its per-request machinery — nine ASGI layers, three linear
route scans, a URI parser and parameter and body validators built anew per request — was two
thirds of a single-record GET and most of a POST (README "Performance"). For the requests this
module can be sure about, it takes the same steps once, with the *same pieces*: the security
function named by the spec's ``x-apikeyInfoFunc``, our ``AllErrorsParameterValidator`` and
``AllErrorsBodyValidator`` built once per operation, connexion's ``pythonic`` argument names and
spec defaults, the same handlers, and the same error renderer (``envelope.error_response``).

It is sure about a request when: the method and path match exactly one compiled public operation;
the API key opens a tenant; every query key appears once and is plain (no ``[``); the parameters
validate; and either the operation takes no body and none is sent (content type absent or JSON),
or it takes a JSON body and a non-empty UTF-8 ``application/json`` body with a Content-Length
arrives and validates. Anything else — no key, a refused key, any validation problem, an empty or
chunked body, another content type, the control plane — is passed to connexion untouched (a body
already read is replayed), so every 400/401/415 keeps coming from one place. An operation whose
parameters are anything but plain strings in path or query, or whose security is not one header
API key, is not compiled.

The one thing a reader might get wrong: this is not a second implementation of the API.
``tests/api/test_direct_route.py`` sends generated requests through both routes and compares
status, headers and body byte for byte. The app leaves this route out while response validation
is on (tests), because that check lives in connexion's stack.
"""

from __future__ import annotations

import copy
import inspect
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from connexion.context import _context, _receive, _scope
from connexion.decorators.parameter import pythonic
from connexion.json_schema import resolve_refs
from connexion.lifecycle import ConnexionRequest
from connexion.utils import get_function_from_name, inspect_function_arguments

from . import envelope
from .validation import AllErrorsBodyValidator, AllErrorsParameterValidator

METHODS = ("get", "post", "put", "patch", "delete")


@dataclass
class CompiledOperation:
    operation_id: str
    handler: object
    key_header: bytes                       # lower-case header carrying the API key
    key_check: object                       # the x-apikeyInfoFunc
    key_check_kwargs: frozenset[str]        # which of required_scopes / request it accepts
    parameters: AllErrorsParameterValidator  # built once, so its per-parameter cache lives on
    body: AllErrorsBodyValidator | None      # None: the operation takes no request body
    body_argument: str | None               # the handler's keyword for the body, if it takes one
    path_names: tuple[str, ...]             # spec names of the path parameters, in template order
    arguments: dict[str, str] = field(default_factory=dict)  # spec name -> handler keyword
    defaults: dict[str, str] = field(default_factory=dict)   # query defaults, as connexion passes them


@dataclass
class _RequestView:
    """What ``AllErrorsParameterValidator.validate_request`` reads of a request."""
    query_params: dict
    path_params: dict
    headers: dict


class DirectRoute:
    """ASGI middleware: answers what it is sure about, hands everything else to ``app``."""

    def __init__(self, app, spec: dict, resolve_handler):
        self.app = app
        # Per method, in spec order: connexion adds one route per operation in that order and the
        # first full match wins (``PATCH /leads/bulk`` is listed before ``/leads/{leadId}``).
        self.routes: dict[str, list[tuple[re.Pattern, CompiledOperation]]] = {}
        self.served = 0
        self.deferred = 0
        resolved = resolve_refs(copy.deepcopy(spec))
        for template, item in resolved.get("paths", {}).items():
            pattern = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "([^/]+)", re.escape(template)) + "$")
            for method in METHODS:
                if method not in item:
                    continue
                compiled = _compile(resolved, template, item, item[method], resolve_handler)
                self.routes.setdefault(method.upper(), []).append((pattern, compiled))

    @property
    def operation_ids(self) -> set[str]:
        return {op.operation_id for routes in self.routes.values() for _, op in routes if op is not None}

    def _match(self, method: str, path: str):
        for regex, operation in self.routes.get(method, ()):
            match = regex.match(path)
            if match is not None:
                return operation, match.groups()  # None: an operation left to connexion
        return None, ()

    async def __call__(self, scope, receive, send):
        # A newline in the path is left to connexion: starlette's mount pattern (``.*``) stops at it.
        if scope["type"] == "http" and not scope.get("root_path") and "\n" not in scope["path"]:
            operation, values = self._match(scope["method"], scope["path"])
            if operation is not None:
                answered, receive = await self._answer(operation, values, scope, receive, send)
                if answered:
                    self.served += 1
                    return
                self.deferred += 1
        await self.app(scope, receive, send)

    async def _answer(self, operation: CompiledOperation, values, scope, receive, send):
        """(True, _) having answered, or (False, receive) for connexion, the body still in ``receive``."""
        key, length, json_type = None, 0, None
        for name, value in scope["headers"]:
            if name == operation.key_header:
                key = value.decode("latin-1") if key is None else key
            elif name == b"content-length":
                length = int(value) if value.strip().isdigit() else -1
            elif name == b"transfer-encoding":
                length = -1
            elif name == b"content-type":
                media, _, charset = value.lower().partition(b";")
                # connexion parses a form even on a GET (and can refuse it); only JSON is plain here
                json_type = media.strip() == b"application/json" and charset.strip() in (b"", b"charset=utf-8")
        if key is None or json_type is False or length < 0 or (operation.body is None and length):
            return False, receive
        pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        query = dict(pairs)
        if len(query) != len(pairs) or any("[" in name for name in query):
            return False, receive  # connexion's rules for repeated keys and deepObject apply
        path_params = {name.replace("-", "_"): value for name, value in zip(operation.path_names, values)}
        try:
            operation.parameters.validate_request(_RequestView(query, path_params, {}))
        except Exception:  # noqa: BLE001 - whatever it is, connexion will say it in the envelope
            return False, receive
        body = None
        if operation.body is not None:
            if not length or not json_type:
                return False, receive  # connexion's rules for a missing or untyped body apply
            raw, receive = await _read_body(receive)
            if raw is None:
                return False, receive
            try:
                body = operation.body._validate(await operation.body._parse(_chunks(raw), scope))
            except Exception:  # noqa: BLE001 - as above
                return False, receive
            if body is None:
                return False, receive  # blank body: connexion's defaults for a missing body apply
        # called as connexion's security handler calls it; a coroutine function is not compiled
        extra = {"required_scopes": None, "request": ConnexionRequest(scope, receive)}
        try:
            token_info = operation.key_check(key, **{k: extra[k] for k in operation.key_check_kwargs})
        except Exception:  # noqa: BLE001 - a refusal with reasons: connexion renders it
            return False, receive
        if not isinstance(token_info, dict):
            return False, receive
        # what connexion's ContextMiddleware sets, except ``operation`` (no handler reads it)
        _context.set({"user": token_info.get("sub", token_info.get("uid")), "token_info": token_info})
        _scope.set(scope)
        _receive.set(receive)
        kwargs = {operation.arguments[name]: value for name, value in zip(operation.path_names, values)
                  if name in operation.arguments}
        for name, value in {**operation.defaults, **query}.items():
            if name in operation.arguments:
                kwargs[operation.arguments[name]] = value
        if operation.body_argument is not None:
            kwargs[operation.body_argument] = body
        try:
            response = await operation.handler(**kwargs)
        except Exception as exc:  # noqa: BLE001 - rendered exactly as connexion's error handler does
            response = envelope.error_response(exc, scope["path"])
        await envelope.send_response(response, scope, receive, send)
        return True, receive


async def _read_body(receive):
    """The whole body, and a receive that replays it first; (None, ...) if the client went away."""
    messages = []
    while True:
        messages.append(message := await receive())
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    replaying = AllErrorsBodyValidator._insert_messages(receive, messages=messages)  # connexion's own replay
    if message["type"] != "http.request":
        return None, replaying
    return b"".join(m.get("body", b"") for m in messages), replaying


async def _chunks(raw: bytes):
    yield raw


def _compile(spec: dict, template: str, item: dict, operation: dict, resolve_handler) -> CompiledOperation | None:
    security = operation.get("security", spec.get("security"))
    if not security or len(security) != 1 or len(security[0]) != 1:
        return None
    (scheme_name,) = security[0]
    scheme = spec.get("components", {}).get("securitySchemes", {}).get(scheme_name, {})
    if scheme.get("type") != "apiKey" or scheme.get("in") != "header" or "x-apikeyInfoFunc" not in scheme:
        return None
    parameters = {(p["name"], p["in"]): p for p in item.get("parameters", [])}
    parameters.update({(p["name"], p["in"]): p for p in operation.get("parameters", [])})
    for param in parameters.values():
        schema = param.get("schema", {})
        if param["in"] not in ("path", "query") or schema.get("type") != "string" \
                or schema.get("nullable") or schema.get("format") == "binary" \
                or {"style", "explode", "content"} & set(param):
            return None
    request_body = operation.get("requestBody")
    body = None
    if request_body is not None:
        content = request_body.get("content", {})
        if list(content) != ["application/json"]:
            return None
        schema = content["application/json"].get("schema", {})
        body = AllErrorsBodyValidator(schema=schema, required=request_body.get("required", False),
                                      nullable=bool(schema.get("nullable")), encoding="utf-8",
                                      strict_validation=False)
    key_check = get_function_from_name(scheme["x-apikeyInfoFunc"])
    if inspect.iscoroutinefunction(key_check):
        return None
    check_arguments, check_has_kwargs = inspect_function_arguments(key_check)
    handler = resolve_handler(operation["operationId"])
    if not inspect.iscoroutinefunction(handler):
        return None  # connexion runs a plain function in a thread pool; not done here
    arguments, has_kwargs = inspect_function_arguments(handler)
    body_argument = pythonic(request_body.get("x-body-name", "body")) if request_body is not None else None
    query_params = [p for (_, where), p in parameters.items() if where == "query"]
    return CompiledOperation(
        operation_id=operation["operationId"],
        handler=handler,
        key_header=scheme["name"].lower().encode("latin-1"),
        key_check=key_check,
        key_check_kwargs=frozenset(k for k in ("required_scopes", "request") if check_has_kwargs or k in check_arguments),
        parameters=AllErrorsParameterValidator(list(parameters.values()), uri_parser=None),
        body=body,
        body_argument=body_argument if body_argument is not None and (has_kwargs or body_argument in arguments) else None,
        path_names=tuple(re.findall(r"\{([^}]+)\}", template)),
        arguments={name: pythonic(name) for name, _ in parameters if has_kwargs or pythonic(name) in arguments},
        defaults={p["name"]: str(p["schema"]["default"]) for p in query_params if "default" in p["schema"]},
    )
