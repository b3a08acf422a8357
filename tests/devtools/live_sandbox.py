"""A sandbox on a real loopback port for the devtools tests (client, commands).

``serve(**settings)`` starts the sandbox (``sandbox.testing.SandboxServer``: manual clock, open mode
unless told, any other ``Settings`` field as given) under uvicorn in a background thread and yields
its base URL; the lifespan runs, so webhooks really leave (to the built-in sink on the same port).
The one thing a reader might get wrong: one server is shared by a whole test module, so each test
isolates itself with its own ``X-API-Key`` (a fresh tenant in open mode) and its own sink name, not
with a reset.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sandbox.testing import SandboxServer, ServerSpec

ADMIN_KEY = "devtools-admin-key"


@contextlib.contextmanager
def serve(**settings) -> Iterator[str]:
    with SandboxServer(ServerSpec.of(**settings), admin_key=ADMIN_KEY) as server:
        yield server.base_url
