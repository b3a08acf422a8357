"""uvicorn's HTTP protocol, answering a request it cannot parse in the API's error envelope.

Malformed HTTP — a request line past httptools' limits, a raw NUL in a header, both
``Content-Length`` and ``Transfer-Encoding`` — is refused by the server library before the app
sees it, as a plain-text 400. A client of this API reads every error as
``{"success": false, "error": {...}}``, so this protocol sends that body instead, with the same
status and ``Connection: close``.

The one thing a reader might get wrong: this is the only error the app cannot render itself, and
it has no route, key or tenant: it is not in any tenant's journal. What even this cannot reach —
a connection dropped mid-headers, or a client that never finishes its request line — gets no
answer at all, as with any server.
"""

from __future__ import annotations

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from . import errors

MALFORMED_BODY = orjson.dumps({"success": False, "error": {
    "code": errors.VALIDATION_ERROR, "message": errors.MSG_INVALID_INPUT,
    "details": ["request: is not well-formed HTTP/1.1 (request line, headers or framing); "
                "check for a NUL or newline in a header, an overlong URL, or both Content-Length "
                "and Transfer-Encoding"]}})


class EnvelopeHttpToolsProtocol(HttpToolsProtocol):
    def send_400_response(self, msg: str) -> None:  # noqa: ARG002 - uvicorn's text is replaced
        content = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend([b"content-type: application/json\r\n",
                        b"content-length: " + str(len(MALFORMED_BODY)).encode("ascii") + b"\r\n",
                        b"connection: close\r\n", b"\r\n", MALFORMED_BODY])
        self.transport.write(b"".join(content))
        self.transport.close()
