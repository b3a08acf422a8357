"""``/openapi.json`` and ``/openapi.yaml`` (and their ``/_sandbox`` twins): the specs as written.

connexion serves the spec it routes with, in which every ``$ref`` is inlined: a client generator
fed that sees 542 anonymous models named after operations instead of ``Lead``, ``Envelope`` and
the rest. This layer answers those four paths with the documents as loaded — components intact,
the control plane's fragments merged — and passes everything else on. Swagger UI resolves
references itself, so it is unaffected.

The one thing a reader might get wrong: each document is rendered once, on its first request, not
at start-up: rendering the YAML costs more than half a second, and most runs never ask for it.
The specs cannot change under a running process.
"""

from __future__ import annotations

import orjson
import yaml

_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's, where PyYAML was built with it


class ServedSpecs:
    def __init__(self, app, specs: dict[str, dict]):
        """``specs``: base path ("" or "/_sandbox") -> the spec document mounted there."""
        self.app = app
        self.specs = {f"{base}/openapi.{kind}": (spec, kind) for base, spec in specs.items() for kind in ("json", "yaml")}
        self.rendered: dict[str, tuple[bytes, bytes]] = {}

    def _render(self, path: str) -> tuple[bytes, bytes]:
        if path not in self.rendered:
            spec, kind = self.specs[path]
            self.rendered[path] = (orjson.dumps(spec), b"application/json") if kind == "json" else (
                yaml.dump(spec, Dumper=_DUMPER, sort_keys=False, allow_unicode=True).encode(),
                b"text/yaml; charset=utf-8")
        return self.rendered[path]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] not in self.specs or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        body, media_type = self._render(scope["path"])
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", media_type), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body if scope["method"] == "GET" else b""})
