"""The sandbox as a test double: a server on a background thread, and one fresh tenant per test.

``running(seed=..., clock="manual")`` starts the sandbox in this process (uvicorn on a thread, a
free loopback port) and yields a :class:`Sandbox` — ``base_url``, ``api_key``, ``api`` (an
``httpx.Client`` for the public API with the key set) and ``control`` (``sandbox.client``'s
control-plane client for the same tenant). ``running(base_url=..., api_key=...)`` starts nothing
and points the same handle at a sandbox that is already running. The pytest plugin
(``sandbox.pytest_plugin``) is built on :class:`SandboxServer` and :meth:`SandboxServer.tenant`.

The one thing a reader might get wrong: isolation comes from the key, not from the server. Many
tests share one server; each handle names its own tenant, fresh from the seed world (its own
leads, clock, webhooks). What belongs to the server — seed, fixture world, clock mode, start time —
every tenant on it shares, so a test that needs other values needs another server. It follows that
a handle on a sandbox already running *resets* the tenant its key names: never pass it a key whose
data you want to keep.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
import secrets
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .settings import DEFAULT_START

__all__ = ["Sandbox", "SandboxServer", "ServerSpec", "key_for", "running"]

START_TIMEOUT = 30.0       # seconds the server may take to start (a 2-core CI box under xdist)
HTTP_TIMEOUT = 60.0        # an advance awaits the webhooks it sends, each up to 30 s (as sandbox.client)


@functools.lru_cache(maxsize=1)
def _tls():
    """One TLS context for every client made here: httpx builds (and loads CA certificates into) a
    new one per client otherwise, 25-50 ms each — more than a whole test on a shared server."""
    import httpx

    return httpx.create_ssl_context()


def _client(base_url: str, **kwargs):
    import httpx

    return httpx.Client(base_url=base_url, timeout=HTTP_TIMEOUT, verify=_tls(), **kwargs)


def key_for(name: str, prefix: str = "pytest") -> str:
    """A tenant key derived from ``name`` (a test's nodeid): the same name gives the same key, so a
    rerun gets the same tenant ids (they are drawn from seed and key). Visible ASCII, 8-256
    characters, as strict mode's key issuance requires; the readable part is for journals and logs."""
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", name.rsplit("::", 1)[-1]).strip("_")[:60]
    return f"{prefix}-{readable}-{digest}" if readable else f"{prefix}-{digest}"


@dataclass(frozen=True)
class ServerSpec:
    """What makes two servers different: tenants of one server share all of it."""

    seed: int = 42
    clock: str = "manual"
    start_time: datetime | None = None       # None: DEFAULT_START (a Thursday in calling hours)
    fixture: Path | None = None
    settings: tuple = ()                     # other Settings fields, as sorted (name, value) pairs

    @classmethod
    def of(cls, seed: int = 42, clock: str = "manual", start_time: datetime | str | None = None,
           fixture: str | Path | None = None, **settings) -> "ServerSpec":
        from .clock import MODES, parse_clock_instant, parse_instant

        clock = settings.pop("clock_mode", clock)  # the Settings name of the same thing
        chosen = sorted({"host", "port", "admin_key"} & set(settings))
        if chosen:
            raise TypeError(f"{', '.join(chosen)}: chosen by SandboxServer (a free loopback port, its admin key)")
        if clock not in MODES:
            raise ValueError(f"clock: must be one of {', '.join(MODES)}, not {clock!r}")
        if isinstance(start_time, str):
            start_time = parse_clock_instant(start_time)
        start_time = start_time or parse_instant(DEFAULT_START)
        fixture = Path(fixture).resolve() if fixture is not None else None
        return cls(int(seed), clock, start_time, fixture, tuple(sorted(settings.items())))

    def settings_for(self, port: int, admin_key: str):
        from .settings import Settings

        return Settings(host="127.0.0.1", port=port, seed=self.seed, fixture=self.fixture,
                        clock_mode=self.clock, start_time=self.start_time, admin_key=admin_key,
                        validate_specs=False, **dict(self.settings))


class SandboxServer:
    """One sandbox app served by uvicorn on a daemon thread, on a loopback port of its own.

    The socket is bound (port 0) before the app is built, so the port is known to the settings
    (links the sandbox hands out name it) and no other process can take it in between. An admin key
    of its own lets it drop a finished test's tenant (``DELETE /_sandbox/admin/keys/{key}``), so a
    long session does not reach ``max_tenants``.
    """

    def __init__(self, spec: ServerSpec | None = None, admin_key: str | None = None):
        self.spec = spec or ServerSpec.of()
        self.admin_key = admin_key or "testing-admin-" + secrets.token_hex(8)
        self.base_url: str | None = None
        self.settings = None
        self._server = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    def start(self) -> "SandboxServer":
        import uvicorn

        # The sandbox's own dependencies warn while they are imported (connexion of jsonschema's
        # RefResolver, starlette of its test client, see cli.main): not the user's to act on, so not
        # in their test run's warning summary.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette\.testclient` is deprecated")
            from .app import create_app
        from .http_protocol import EnvelopeHttpToolsProtocol

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        try:
            self.settings = self.spec.settings_for(port, self.admin_key)
            app = create_app(self.settings)  # a broken fixture world raises here, in the caller's thread
            config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                    timeout_graceful_shutdown=1, http=EnvelopeHttpToolsProtocol)
            self._server = uvicorn.Server(config)
            self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                            name=f"leadsail-sandbox:{port}", daemon=True)
            self._thread.start()
            deadline = time.monotonic() + START_TIMEOUT
            while not self._server.started:
                if not self._thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError(f"the sandbox on port {port} did not start within {START_TIMEOUT:g} s")
                time.sleep(0.01)
        except BaseException:
            self.stop()
            sock.close()
            raise
        self._socket = sock
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        """Stop serving and join the thread (idempotent)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            if self._thread.is_alive():
                raise RuntimeError(f"the sandbox thread {self._thread.name} did not stop within 10 s")
            self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def tenant(self, api_key: str) -> "Sandbox":
        """A handle on the tenant ``api_key`` names, fresh from the seed world (dropped on close)."""
        return Sandbox.open(self.base_url, api_key, admin_key=self.admin_key, server=self)

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass
class Sandbox:
    """One tenant of a sandbox: where it is, its key, and clients bound to both."""

    base_url: str
    api_key: str
    admin_key: str | None = None
    server: SandboxServer | None = None          # None: a sandbox this process did not start
    drop_on_close: bool = True                   # False: a key the caller chose on a sandbox already running
    _api: object = field(default=None, init=False, repr=False)
    _control: object = field(default=None, init=False, repr=False)

    @classmethod
    def open(cls, base_url: str, api_key: str, admin_key: str | None = None,
             server: SandboxServer | None = None) -> "Sandbox":
        """Make the tenant ``api_key`` names fresh: issue the key where an admin key is known (a strict
        sandbox admits only issued keys; "already issued" is fine), then reset it (a sandbox that was
        already running may hold the tenant from an earlier run)."""
        handle = cls(base_url.rstrip("/"), api_key, admin_key, server)
        if server is not None and not server.settings.strict:
            return handle  # a tenant of our own open server is new: its key was never used there
        with _client(handle.base_url) as http:
            if admin_key:
                http.post("/_sandbox/admin/keys", headers={"X-Admin-Key": admin_key},
                          json={"key": api_key, "label": "sandbox.testing"})
            if server is None:
                answer = http.post("/_sandbox/reset", headers={"X-API-Key": api_key})
                if answer.status_code != 200:
                    hint = " (a strict sandbox: pass its admin_key, or a key it issued)" \
                        if answer.status_code == 401 else ""
                    raise RuntimeError(f"POST {handle.base_url}/_sandbox/reset answered "
                                       f"{answer.status_code}{hint}: {answer.text[:300]}")
        return handle

    @property
    def api(self):
        """An ``httpx.Client`` on ``base_url`` with ``X-API-Key`` set: ``sb.api.get("/api/v1/leads")``."""
        if self._api is None:
            self._api = _client(self.base_url, headers={"X-API-Key": self.api_key})
        return self._api

    @property
    def control(self):
        """``sandbox.client.SandboxClient`` for this tenant (clock, SMS, webhooks, state ...)."""
        if self._control is None:
            import httpx

            from .client import SandboxClient  # imported on first use, as the plugin loads on every pytest run

            self._control = SandboxClient(self.base_url, self.api_key, admin_key=self.admin_key, timeout=HTTP_TIMEOUT,
                                          transport=httpx.HTTPTransport(verify=_tls()))
        return self._control

    def close(self) -> None:
        """Close the clients; with ``drop_on_close`` and an admin key, drop the tenant (its memory) too."""
        for client in (self._api, self._control):
            close = getattr(client, "close", None)
            if close is not None:
                close()
        self._api = self._control = None
        if self.drop_on_close and self.admin_key and (self.server is None or self.server.running):
            import httpx

            with contextlib.suppress(httpx.HTTPError), _client(self.base_url) as http:
                http.delete(f"/_sandbox/admin/keys/{self.api_key}", headers={"X-Admin-Key": self.admin_key})

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@contextlib.contextmanager
def running(*, base_url: str | None = None, api_key: str | None = None, admin_key: str | None = None,
            seed: int = 42, clock: str = "manual", start_time: datetime | str | None = None,
            fixture: str | Path | None = None, **settings) -> Iterator[Sandbox]:
    """A sandbox tenant for code outside pytest.

    Without ``base_url``: start a sandbox in this process (``seed``, ``clock``, ``start_time``
    — default 2026-01-15T15:00:00Z, in calling hours —, ``fixture`` and any other ``Settings``
    field), yield a tenant of it (``api_key``, default ``"testing-key"``), stop it on exit.
    With ``base_url``: start nothing; yield a fresh tenant of that sandbox (``api_key`` is reset;
    default a new random key; ``admin_key`` issues it on a strict sandbox), and leave it running.
    With an admin key, the tenant of a generated key is dropped on exit; a key you passed is kept.
    """
    if base_url is not None:
        if seed != 42 or clock != "manual" or start_time is not None or fixture is not None or settings:
            raise TypeError("running(base_url=...) starts no server: seed, clock, start_time, fixture "
                            "and settings belong to the sandbox already running there")
        sandbox = Sandbox.open(base_url, api_key or f"testing-{secrets.token_hex(16)}", admin_key=admin_key)
        sandbox.drop_on_close = api_key is None  # a key of the caller's stays issued, its tenant kept
        with sandbox:
            yield sandbox
        return
    spec = ServerSpec.of(seed=seed, clock=clock, start_time=start_time, fixture=fixture, **settings)
    with SandboxServer(spec) as server, server.tenant(api_key or "testing-key") as sandbox:
        yield sandbox
