"""The one place where any failure becomes the documented error envelope.

Domain errors (``sandbox.errors``), connexion's problems (400 validation, 401 security, 415) and
starlette's HTTP errors (404 unknown route, 405) all come out as
``{"success": false, "error": {"code", "message", "details"?}}`` with ``application/json`` —
never problem+json, never a stack trace. The one thing a reader might get wrong: starlette picks
a handler by status code first, then by exception class, and connexion pre-registers its own for
``ProblemException`` and ``HTTPException``; so ``install`` registers ours on all three classes.
"""

from __future__ import annotations

import logging
import re

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response

from .. import errors
from .validation import InvalidRequest

log = logging.getLogger("sandbox.errors")

_BY_STATUS = {
    400: (errors.VALIDATION_ERROR, errors.MSG_INVALID_INPUT),
    401: (errors.UNAUTHORIZED, errors.MSG_AUTH_REQUIRED),
    403: (errors.UNAUTHORIZED, errors.MSG_AUTH_REQUIRED),
    404: (errors.NOT_FOUND, errors.MSG_NOT_FOUND),
    405: (errors.METHOD_NOT_ALLOWED, errors.MSG_METHOD_NOT_ALLOWED),
    415: (errors.UNSUPPORTED_MEDIA_TYPE, errors.MSG_UNSUPPORTED_MEDIA),
    429: (errors.RATE_LIMITED, errors.MSG_RATE_LIMITED),
}


def error_body(code: str, message: str, details: list[str] | None = None) -> dict:
    error = {"code": code, "message": message}
    # The documented 401/404 bodies carry no ``details``; validation errors always do.
    if details is not None:
        error["details"] = list(details)
    return {"success": False, "error": error}


def envelope_response(status: int, code: str, message: str, details: list[str] | None = None,
                      headers: dict | None = None) -> ConnexionResponse:
    # The success path's encoder (compact, UTF-8 as is), so an error body is formatted like any
    # other answer: no spaces after separators, no ``\u2013`` escapes for a dash in a detail.
    from .render import encode

    return ConnexionResponse(status_code=status, mimetype="application/json",
                             content_type="application/json",
                             body=encode(error_body(code, message, details)), headers=headers or {})


class AllowedMethods:
    """Rebuilds the ``Allow`` header of a 405 from the specs (connexion lists one method only)."""

    def __init__(self):
        self._routes: list[tuple[re.Pattern, set[str]]] = []

    def add_spec(self, spec: dict, base_path: str = "") -> None:
        for template, item in spec.get("paths", {}).items():
            methods = {m.upper() for m in item if m in ("get", "put", "post", "delete", "patch", "options", "head")}
            pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(base_path + template))
            self._routes.append((re.compile(f"^{pattern}/?$"), template.count("{"), methods))

    def for_path(self, path: str) -> list[str]:
        # The most literal template wins, as in routing: ``/leads/send-to-auto-dialer`` is that
        # path, not ``/leads/{leadId}``, so its Allow header must not list GET and PATCH.
        matches = [(params, methods) for regex, params, methods in self._routes if regex.match(path)]
        if not matches:
            return []
        fewest = min(params for params, _ in matches)
        return sorted(set().union(*(methods for params, methods in matches if params == fewest)))


def error_response(exc: Exception, path: str, allowed: AllowedMethods | None = None) -> ConnexionResponse:
    """The documented envelope for any exception, on either route to a handler (connexion's
    middleware, or ``direct_route``)."""
    if isinstance(exc, errors.SandboxError):
        # A 400 always lists its problems; other statuses carry details only when there is one to say.
        details = exc.details if exc.status in (400, 501) or exc.details else None
        return envelope_response(exc.status, exc.code, exc.message, details)
    if isinstance(exc, InvalidRequest):
        return envelope_response(400, errors.VALIDATION_ERROR, errors.MSG_INVALID_INPUT, exc.details)
    if isinstance(exc, (ProblemException, HTTPException)):
        status = getattr(exc, "status_code", None) or getattr(exc, "status", 500)
        if status == 400:
            detail = getattr(exc, "detail", None) or "request is malformed"
            return envelope_response(400, errors.VALIDATION_ERROR, errors.MSG_INVALID_INPUT,
                                     [f"body: {detail}" if ":" not in str(detail) else str(detail)])
        if status == 405:
            methods = allowed.for_path(path) if allowed is not None else []
            return envelope_response(405, errors.METHOD_NOT_ALLOWED, errors.MSG_METHOD_NOT_ALLOWED,
                                     headers={"Allow": ", ".join(methods)})
        if status in _BY_STATUS:
            code, message = _BY_STATUS[status]
            details = [str(exc.detail)] if status == 415 and getattr(exc, "detail", None) else None
            return envelope_response(status, code, message, details)
        if status >= 500:
            # Response validation (tests) lands here: say what did not conform.
            log.error("server error %s on %s: %s", status, path, getattr(exc, "detail", exc))
            return envelope_response(500, errors.INTERNAL_ERROR, errors.MSG_INTERNAL,
                                     [str(getattr(exc, "detail", "") or "")])
        return envelope_response(status, f"HTTP_{status}", str(getattr(exc, "detail", "")) or "Error")
    log.exception("unhandled error on %s", path, exc_info=exc)
    return envelope_response(500, errors.INTERNAL_ERROR, errors.MSG_INTERNAL)


async def send_response(response: ConnexionResponse, scope, receive, send) -> None:
    """Send a rendered response from a layer in front of connexion (connexion's
    ``Starlette.build_response``, minus the dict/list branch our handlers never take)."""
    await Response(content=response.body, status_code=response.status_code, media_type=response.content_type,
                   headers=response.headers)(scope, receive, send)


def install(app, allowed: AllowedMethods) -> None:
    def on_error(request, exc):
        return error_response(exc, request.url.path, allowed)

    for key in (ProblemException, HTTPException, Exception, errors.SandboxError):
        app.add_error_handler(key, on_error)
