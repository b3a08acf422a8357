"""Shared fixtures: an in-process app (manual clock, response validation on) and its clients."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from sandbox.app import create_app
from sandbox.settings import Settings

API_KEY = "test-key"
OTHER_KEY = "other-tenant-key"


@pytest.fixture
def settings() -> Settings:
    return Settings(validate_responses=True)


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
