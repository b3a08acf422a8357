"""Shared fixtures: an in-process app (manual clock, response validation on) and its clients, on the
store ``--store`` names (memory by default; CI runs the API suite again on sqlite and postgresql);
a PostgreSQL server and fresh databases on it."""

from __future__ import annotations

import contextlib

import pytest
from starlette.testclient import TestClient
from tests.durable import postgres

from sandbox.app import create_app
from sandbox.settings import Settings

API_KEY = "test-key"
OTHER_KEY = "other-tenant-key"


STORES = ("memory", "sqlite", "postgresql")


def pytest_addoption(parser):
    parser.addoption("--store", choices=STORES, default="memory",
                     help="the store of the in-process app the API tests use (default memory): sqlite is a "
                          "file per test, postgresql a fresh database per test")


def pytest_configure(config):
    config.addinivalue_line("markers", "memory_store_only(why): a property only the memory store has; "
                                       "skipped with why under --store sqlite|postgresql")


def pytest_collection_modifyitems(config, items):
    if config.getoption("store") == "memory":
        return
    for item in items:
        marker = item.get_closest_marker("memory_store_only")
        if marker is not None:
            item.add_marker(pytest.mark.skip(reason=f"memory store only: {marker.args[0]}"))


@pytest.fixture
def store_setting(request, tmp_path) -> str:
    """``--store`` as a Settings.store value, fresh for this test."""
    store = request.config.getoption("store")
    if store == "sqlite":
        # synchronous=normal: a test does not need its commits to survive a power cut, only to be there
        return f"sqlite://{tmp_path}/api.db?synchronous=normal"
    if store == "postgresql":
        return request.getfixturevalue("postgres_url")
    return "memory"


@pytest.fixture
def settings(store_setting) -> Settings:
    return Settings(validate_responses=True, store=store_setting)


@pytest.fixture
def app(settings):
    return create_app(settings)


@pytest.fixture
def client(app):
    with TestClient(app, raise_server_exceptions=False) as test_client:
        test_client.headers["X-API-Key"] = API_KEY
        yield test_client


@pytest.fixture
def other(app):
    """A second tenant on the same app, for isolation checks."""
    with TestClient(app, raise_server_exceptions=False) as test_client:
        test_client.headers["X-API-Key"] = OTHER_KEY
        yield test_client


def advance(client, seconds: float) -> dict:
    """Advance the caller's tenant clock and return what ran."""
    response = client.post("/_sandbox/clock/advance", json={"seconds": seconds})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def data(response, status: int = 200):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is (status < 400), body
    return body["data"] if status < 400 else body["error"]


def error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == code, body
    return body["error"]


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server's URL (database and user ``postgres``): SANDBOX_TEST_POSTGRES, else a
    throwaway cluster of this session's (tests/durable/postgres.py)."""
    with postgres.server() as url:
        yield url


@pytest.fixture
def postgres_url_factory(postgres_server):
    """Call it for the URL of one more fresh, empty database; all of them dropped after the test."""
    with contextlib.ExitStack() as stack:
        yield lambda: stack.enter_context(postgres.database(postgres_server))


@pytest.fixture
def postgres_url(postgres_url_factory) -> str:
    """The URL of a fresh, empty database of this test's own, dropped after it."""
    return postgres_url_factory()
