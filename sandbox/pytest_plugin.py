"""pytest plugin: the ``leadsail_sandbox`` fixture, a fresh sandbox tenant for every test.

Installed with the package (``pytest11`` entry point), so any project with ``leadsail-sandbox``
installed can write::

    def test_a_lead_is_delivered(leadsail_sandbox):
        lead = leadsail_sandbox.api.post("/api/v1/leads/submit", json={...}).json()["data"]
        leadsail_sandbox.control.clock.advance(seconds=10)

``leadsail_sandbox`` has ``base_url``, ``api_key``, ``api`` (``httpx.Client``, key set) and
``control`` (``sandbox.client.SandboxClient``); see ``sandbox.testing``. Settings, strongest first:
``--leadsail-seed`` / ``--leadsail-url`` on the command line; the ini options ``leadsail_seed``,
``leadsail_start_time``, ``leadsail_url`` (test against a sandbox already running there: nothing is
started) and ``leadsail_admin_key`` (or ``SANDBOX_ADMIN_KEY``: issues keys on a strict one); and for
one test ``@pytest.mark.leadsail(fixture="worlds/w.yaml", clock="realtime", start_time=..., seed=...)``
— a relative fixture path is taken from pytest's rootdir, not from the test file.

The one thing a reader might get wrong: the server is started once per session (per xdist worker),
not per test — each test gets its own *tenant* (a key derived from its nodeid, so a rerun gets the
same ids) on that shared server. A marker asking for another seed, world, clock or start time gets
another server, started on first use and kept for the rest of the session for every test that asks
for the same; against ``leadsail_url`` such a test is skipped, since that server's settings are fixed.
"""

from __future__ import annotations

import os

import pytest

MARKER = ("leadsail(fixture=None, clock=None, start_time=None, seed=None, **settings): run this test on a "
          "LeadSail sandbox with these settings (a server of its own, shared with tests asking the same)")


def pytest_addoption(parser):
    group = parser.getgroup("leadsail", "LeadSail sandbox (fixture leadsail_sandbox)")
    group.addoption("--leadsail-seed", type=int, default=None, metavar="N",
                    help="seed of the sandbox world (default: ini leadsail_seed, else 42)")
    group.addoption("--leadsail-url", default=None, metavar="URL",
                    help="use the sandbox running at URL instead of starting one (default: ini leadsail_url)")
    parser.addini("leadsail_seed", "seed of the sandbox world (default 42)", default="42")
    parser.addini("leadsail_start_time", "where each test's tenant clock starts, ISO 8601 "
                  "(default 2026-01-15T15:00:00Z, a Thursday in calling hours)", default="")
    parser.addini("leadsail_url", "base URL of a running sandbox to use instead of starting one", default="")
    parser.addini("leadsail_admin_key", "admin key of the sandbox at leadsail_url, to issue keys on a "
                  "strict one (default: env SANDBOX_ADMIN_KEY)", default="")


def pytest_configure(config):
    config.addinivalue_line("markers", MARKER)


class SandboxServers:
    """The session's sandbox servers, one per ``ServerSpec``, each started on first use."""

    def __init__(self, config):
        from .testing import ServerSpec

        self.config = config
        seed = config.getoption("leadsail_seed")
        self.default = ServerSpec.of(seed=seed if seed is not None else int(config.getini("leadsail_seed")),
                                     start_time=config.getini("leadsail_start_time") or None)
        self.url = (config.getoption("leadsail_url") or config.getini("leadsail_url") or "").strip() or None
        self.admin_key = config.getini("leadsail_admin_key") or os.environ.get("SANDBOX_ADMIN_KEY") or None
        self._servers = {}

    def spec_for(self, marker):
        """The server a test needs: the session's default, changed by its ``leadsail`` marker."""
        from .testing import ServerSpec

        if marker is None:
            return self.default
        if marker.args:
            raise pytest.UsageError(f"@pytest.mark.leadsail takes keyword arguments only, not {marker.args!r}")
        asked = dict(marker.kwargs)
        fixture = asked.pop("fixture", None)
        if fixture is not None:
            fixture = self.config.rootpath / fixture  # an absolute path stays as it is
        try:
            return ServerSpec.of(seed=asked.pop("seed", self.default.seed),
                                 clock=asked.pop("clock", self.default.clock),
                                 start_time=asked.pop("start_time", None) or self.default.start_time,
                                 fixture=fixture, **asked)
        except ValueError as exc:
            raise pytest.UsageError(f"@pytest.mark.leadsail: {exc}") from None

    def get(self, spec=None):
        """The running server for ``spec`` (default: the session's), started if it is not yet."""
        from .testing import SandboxServer

        spec = spec or self.default
        server = self._servers.get(spec)
        if server is None:
            server = self._servers[spec] = SandboxServer(spec).start()
        return server

    def close(self) -> None:
        servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            server.stop()


@pytest.fixture(scope="session")
def leadsail_servers(pytestconfig):
    """Every sandbox server of this session (of this xdist worker); all stopped at its end."""
    servers = SandboxServers(pytestconfig)
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture(scope="session")
def leadsail_server(leadsail_servers):
    """The session's default sandbox server (``sandbox.testing.SandboxServer``), started on first use;
    None when ``leadsail_url`` points at one already running."""
    return None if leadsail_servers.url else leadsail_servers.get()


@pytest.fixture
def leadsail_sandbox(request, leadsail_servers):
    """A fresh tenant for this test: ``base_url``, ``api_key``, ``api`` (httpx) and ``control``."""
    from .testing import Sandbox, key_for

    spec = leadsail_servers.spec_for(request.node.get_closest_marker("leadsail"))
    key = key_for(request.node.nodeid)
    if leadsail_servers.url:
        if spec != leadsail_servers.default:
            pytest.skip(f"needs a sandbox with other settings than the one at {leadsail_servers.url} "
                        "(@pytest.mark.leadsail); run without leadsail_url to start one")
        sandbox = Sandbox.open(leadsail_servers.url, key, admin_key=leadsail_servers.admin_key)
    else:
        sandbox = leadsail_servers.get(spec).tenant(key)
    try:
        yield sandbox
    finally:
        sandbox.close()
