"""A direct route for plain GET requests of the public API, compiled from ``openapi.yaml``.

connexion stays the reference path for every request. Its per-request machinery — nine ASGI
layers, three route scans, a parameter validator and a URI parser built per request — was two
thirds of a single-record GET (README "Performance"). For the requests this module can be sure
about, it takes the same steps once, with the *same pieces*: the security function named by the
spec's ``x-apikeyInfoFunc``, our ``AllErrorsParameterValidator`` over the operation's parameters,
connexion's ``pythonic`` argument names and spec defaults, the same handlers and the same error
renderer (``envelope.error_response``).

It is sure about a request when: the method is GET; the path matches exactly one compiled public
operation; there is no request body and no content type but JSON; the API key opens a tenant; every query key appears once and
is plain (no ``[``); and the parameters validate. Anything else — no key, a refused key, a
parameter problem, a body, the control plane, any other method — returns ``False`` untouched and
connexion answers, so every 400/401 keeps coming from one place. An operation whose parameters are
anything but plain strings in path or query, or whose security is not one header API key, is
simply not compiled.

The one thing a reader might get wrong: this is not a second implementation of the API.
``tests/api/test_fast_reads.py`` sends generated requests through both routes and compares status,
headers and body byte for byte; the app turns this route off when response validation is on (tests),
because that check lives in connexion's stack.
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
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.utils import get_function_from_name, inspect_function_arguments
from starlette.responses import Response

from . import envelope
from .validation import AllErrorsParameterValidator

@dataclass
class ReadOperation:
    operation_id: str
    handler: object
    key_header: bytes                       # lower-case header carrying the API key
    key_check: object                       # the x-apikeyInfoFunc
    validator: AllErrorsParameterValidator  # built once, so its per-parameter cache lives on
    path_names: tuple[str, ...]             # spec names of the path parameters, in template order
    arguments: dict[str, str] = field(default_factory=dict)  # spec name -> handler keyword
    defaults: dict[str, str] = field(default_factory=dict)   # query defaults, as connexion passes them
    key_check_kwargs: frozenset[str] = frozenset()            # which of required_scopes/request it takes


@dataclass
class _RequestView:
    """What ``AllErrorsParameterValidator.validate_request`` reads of a request."""
    query_params: dict
    path_params: dict
    headers: dict


class FastReads:
    def __init__(self, spec: dict, resolve_handler):
        self.static: dict[str, ReadOperation] = {}
        self.templated: list[tuple[re.Pattern, ReadOperation]] = []
        self.served = 0
        self.deferred = 0
        resolved = resolve_refs(copy.deepcopy(spec))
        for template, item in resolved.get("paths", {}).items():
            operation = item.get("get")
            if operation is None:
                continue
            compiled = _compile(resolved, template, item, operation, resolve_handler)
            if compiled is None:
                continue
            if "{" in template:
                pattern = re.sub(r"\\\{[^/]+?\\\}", "([^/]+)", re.escape(template))
                self.templated.append((re.compile(f"^{pattern}$"), compiled))
            else:
                self.static[template] = compiled

    @property
    def operation_ids(self) -> set[str]:
        return {op.operation_id for op in self.static.values()} | {op.operation_id for _, op in self.templated}

    def _match(self, path: str):
        operation = self.static.get(path)
        if operation is not None:
            return operation, ()
        found = None
        for regex, candidate in self.templated:
            match = regex.match(path)
            if match is not None:
                if found is not None:
                    return None, ()  # two templates fit: connexion's route order decides
                found = candidate, match.groups()
        return found or (None, ())

    async def __call__(self, scope, receive, send) -> bool:
        """Answer the request and return True, or return False having done nothing."""
        if scope["method"] != "GET" or scope.get("root_path"):
            return False
        operation, values = self._match(scope["path"])
        if operation is None:
            return False
        key = None
        for name, value in scope["headers"]:
            if name == operation.key_header and key is None:
                key = value.decode("latin-1")
            elif name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
                return self._defer()
            elif name == b"content-type" and value.split(b";", 1)[0].strip().lower() != b"application/json":
                return self._defer()  # connexion parses a form body even on a GET (a multipart one can fail)
        if key is None:
            return self._defer()
        pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        query = dict(pairs)
        if len(query) != len(pairs) or any("[" in name for name in query):
            return self._defer()  # connexion's duplicate and deepObject rules apply
        path_params = {name.replace("-", "_"): value for name, value in zip(operation.path_names, values)}
        try:
            operation.validator.validate_request(_RequestView(query, path_params, {}))
        except Exception:  # noqa: BLE001 - whatever it is, connexion will say it in the envelope
            return self._defer()
        # called as connexion's security handler calls it; a coroutine function is not compiled
        extra = {"required_scopes": None, "request": ConnexionRequest(scope, receive)}
        token_info = operation.key_check(key, **{k: extra[k] for k in operation.key_check_kwargs})
        if not isinstance(token_info, dict):
            return self._defer()
        _context.set({"user": token_info.get("sub", token_info.get("uid")), "token_info": token_info})
        _scope.set(scope)
        _receive.set(receive)
        kwargs = {operation.arguments[name]: value for name, value in zip(operation.path_names, values)
                  if name in operation.arguments}
        for name, value in {**operation.defaults, **query}.items():
            if name in operation.arguments:
                kwargs[operation.arguments[name]] = value
        try:
            response = await operation.handler(**kwargs)
        except Exception as exc:  # noqa: BLE001 - rendered exactly as connexion's error handler does
            response = envelope.error_response(exc, scope["path"])
        self.served += 1
        await _send(response, scope, receive, send)
        return True

    def _defer(self) -> bool:
        self.deferred += 1
        return False


async def _send(response: ConnexionResponse, scope, receive, send) -> None:
    # connexion's Starlette.build_response, minus the dict/list branch our handlers never take
    await Response(content=response.body, status_code=response.status_code, media_type=response.content_type,
                   headers=response.headers)(scope, receive, send)


def _compile(spec: dict, template: str, item: dict, operation: dict, resolve_handler) -> ReadOperation | None:
    if "requestBody" in operation:
        return None
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
    handler = resolve_handler(operation["operationId"])
    arguments, has_kwargs = inspect_function_arguments(handler)
    names = [name for name, _ in parameters]
    path_names = tuple(re.findall(r"\{([^}]+)\}", template))
    query_params = [p for (_, where), p in parameters.items() if where == "query"]
    key_check = get_function_from_name(scheme["x-apikeyInfoFunc"])
    if inspect.iscoroutinefunction(key_check):
        return None
    check_arguments, check_has_kwargs = inspect_function_arguments(key_check)
    return ReadOperation(
        operation_id=operation["operationId"],
        handler=handler,
        key_header=scheme["name"].lower().encode("latin-1"),
        key_check=key_check,
        validator=AllErrorsParameterValidator(list(parameters.values()), uri_parser=None),
        path_names=path_names,
        arguments={name: pythonic(name) for name in names if has_kwargs or pythonic(name) in arguments},
        defaults={p["name"]: str(p["schema"]["default"]) for p in query_params if "default" in p["schema"]},
        key_check_kwargs=frozenset(k for k in ("required_scopes", "request") if check_has_kwargs or k in check_arguments),
    )
