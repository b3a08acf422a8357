"""The inspector: a web page at ``/_sandbox/inspector/`` where an integrator sees what their code did
to the sandbox and what the sandbox did back (docs/inspector.md).

The page is static files (``static/``: HTML, one JavaScript module, CSS, an icon; no build step, no
CDN) that read the public API and the control plane from the browser with the user's key in the
``X-API-Key`` header. This layer, placed just inside ``app.SandboxASGI``, does two things:

* serves those files (GET/HEAD, a fixed list — no path ever reaches the file system — with a
  Content-Security-Policy that allows no inline script and nothing from elsewhere); any other
  path under the prefix is the usual 404 envelope;
* feeds the request journal: for a request with a key it keeps the first ``BODY_EXCERPT``
  characters of the request and response bodies (whole sizes too) and hands them to the journal
  in ``scope[JOURNAL]``; for the page's own reads (marked ``X-Sandbox-Inspector: read``) it sets
  ``scope[JOURNAL] = False`` so polling every second does not push the integrator's own requests
  out of the journal (200 entries). The page's actions (advance the clock, text back, replay)
  are not marked: they are requests the user made and show in the journal like any other.

The one thing a reader might get wrong: the key is never part of what is kept — headers are not
journaled, and admin requests (``/_sandbox/admin/``, whose answers carry issued keys) keep no bodies.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .. import errors
from ..api.envelope import error_body
from ..api.render import encode

PREFIX = "/_sandbox/inspector"
STATIC = Path(__file__).resolve().parent / "static"
JOURNAL = "sandbox.journal"          # scope key: False (do not journal) or extra fields for the entry
MARK = b"x-sandbox-inspector"        # the page's reads carry it
BODY_EXCERPT = 1000                  # characters of each body kept per journal entry
_UNJOURNALED_BODIES = ("/_sandbox/admin/",)
_TEXT_TYPES = (b"application/json", b"text/", b"application/problem+json", b"application/x-www-form-urlencoded")

FILES = {
    "index.html": b"text/html; charset=utf-8",
    "inspector.js": b"text/javascript; charset=utf-8",
    "inspector.css": b"text/css; charset=utf-8",
    "favicon.svg": b"image/svg+xml",
}
# No inline script or style, nothing from another origin; recordings may live at the sandbox's
# public URL (``--public-url``), which need not be this origin.
CSP = (b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       b"media-src 'self' http: https:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
       b"frame-ancestors 'none'")


class Inspector:
    def __init__(self, inner):
        self.inner = inner
        self.files: dict[str, tuple[bytes, bytes, bytes]] = {}
        for name, media_type in FILES.items():
            body = (STATIC / name).read_bytes()
            etag = b'"' + hashlib.sha256(body).hexdigest()[:20].encode() + b'"'
            self.files[name] = (body, media_type, etag)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        path = scope["path"]
        if path == PREFIX or path.startswith(PREFIX + "/"):
            await self._serve(scope, send)
            return
        marked = key = False
        has_body = False
        for name, value in scope.get("headers", ()):
            if name == MARK:
                marked = True
            elif name == b"x-api-key":
                key = True
            elif name == b"content-length":
                has_body = value != b"0"
            elif name == b"transfer-encoding":
                has_body = True
        if marked:
            scope[JOURNAL] = False
            await self.inner(scope, receive, send)
        elif key and not path.startswith(_UNJOURNALED_BODIES):
            await self._journaled(scope, receive, send, has_body)
        else:
            await self.inner(scope, receive, send)

    async def _journaled(self, scope, receive, send, has_body: bool):
        # On the path of every keyed request: chunks are kept as they come (no copying) until the
        # excerpt is long enough, and a request without a body is not wrapped at all.
        request: list[bytes] = []
        response: list[bytes] = []
        sizes = [0, 0, False]  # request bytes, response bytes, response is text

        async def receive_():
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                if sizes[0] < BODY_EXCERPT:
                    request.append(chunk)
                sizes[0] += len(chunk)
            return message

        async def send_(message):
            if message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                if sizes[2] and sizes[1] < BODY_EXCERPT:
                    response.append(chunk)
                sizes[1] += len(chunk)
            elif message["type"] == "http.response.start":
                for name, value in message.get("headers", ()):
                    if name == b"content-type":
                        sizes[2] = value.lower().startswith(_TEXT_TYPES)
            await send(message)

        try:
            await self.inner(scope, receive_ if has_body else receive, send_)
        finally:
            scope[JOURNAL] = {
                "requestBody": _excerpt(request) if sizes[0] else None,
                "requestBytes": sizes[0],
                "responseBody": _excerpt(response) if sizes[2] and sizes[1] else None,
                "responseBytes": sizes[1],
            }

    async def _serve(self, scope, send):
        method, path = scope["method"], scope["path"]
        if path == PREFIX:
            target = (scope.get("root_path", "") + PREFIX + "/").encode()
            await _respond(send, 308, b"", [(b"location", target)])
            return
        name = path[len(PREFIX) + 1:] or "index.html"
        entry = self.files.get(name)
        if entry is None:
            await _error(send, 404, errors.NOT_FOUND, errors.MSG_NOT_FOUND)
            return
        if method not in ("GET", "HEAD"):
            await _error(send, 405, errors.METHOD_NOT_ALLOWED, errors.MSG_METHOD_NOT_ALLOWED,
                         [(b"allow", b"GET, HEAD")])
            return
        body, media_type, etag = entry
        headers = [(b"content-type", media_type), (b"etag", etag), (b"cache-control", b"no-cache"),
                   (b"content-security-policy", CSP), (b"x-content-type-options", b"nosniff"),
                   (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY")]
        for header, value in scope.get("headers", ()):
            if header == b"if-none-match" and etag in value:
                await _respond(send, 304, b"", headers)
                return
        await _respond(send, 200, body if method == "GET" else b"", headers, len(body))


def _excerpt(chunks: list[bytes]) -> str:
    return b"".join(chunks)[:BODY_EXCERPT].decode("utf-8", "replace")


async def _error(send, status: int, code: str, message: str, extra: list | None = None) -> None:
    body = encode(error_body(code, message))
    await _respond(send, status, body, [(b"content-type", b"application/json"), *(extra or [])])


async def _respond(send, status: int, body: bytes, headers: list, length: int | None = None) -> None:
    headers = [*headers, (b"content-length", str(len(body) if length is None else length).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
