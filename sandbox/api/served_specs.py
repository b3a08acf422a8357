"""``/openapi.json`` and ``/openapi.yaml`` (and their ``/_sandbox`` twins): the specs as written.

connexion serves the spec it routes with, in which every ``$ref`` is inlined: a client generator
fed that sees 542 anonymous models named after operations instead of ``Lead``, ``Envelope`` and
the rest. This layer answers those four paths with the documents as loaded — components intact,
the control plane's fragments merged — and passes everything else on. Swagger UI resolves
references itself, so it is unaffected.

The one thing a reader might get wrong: the document is rendered once, at start-up; the specs
cannot change under a running process.
"""

from __future__ import annotations

import orjson
import yaml


class ServedSpecs:
    def __init__(self, app, specs: dict[str, dict]):
        """``specs``: base path ("" or "/_sandbox") -> the spec document mounted there."""
        self.app = app
        self.documents: dict[str, tuple[bytes, bytes]] = {}
        for base, spec in specs.items():
            self.documents[f"{base}/openapi.json"] = (orjson.dumps(spec), b"application/json")
            self.documents[f"{base}/openapi.yaml"] = (
                yaml.safe_dump(spec, sort_keys=False, allow_unicode=True).encode(), b"text/yaml; charset=utf-8")

    async def __call__(self, scope, receive, send):
        document = self.documents.get(scope["path"]) if scope["type"] == "http" else None
        if document is None or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        body, media_type = document
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", media_type), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body if scope["method"] == "GET" else b""})
