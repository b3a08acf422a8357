"""The store setting: URLs, start-up errors, schema and migrations, health and readiness, and the
memory store adding nothing."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest
from starlette.testclient import TestClient

from sandbox.app import SandboxASGI, create_app
from sandbox.durable import MemoryStore, StoreError, open_store
from sandbox.durable.layer import DurableASGI
from sandbox.durable.sql import MIGRATIONS
from sandbox.settings import Settings, from_sources

from .conftest import ROOT


def test_the_memory_store_adds_no_layer():
    app = create_app(Settings())
    assert type(app) is SandboxASGI and not isinstance(app, DurableASGI)
    assert isinstance(app.registry.durable_store, MemoryStore)
    assert "catch_up" not in vars(app)  # the real-time catch-up is SandboxASGI's own method, unwrapped


def test_a_sqlite_store_wraps_the_app_and_keeps_its_attributes(tmp_path):
    app = create_app(Settings(store=f"sqlite://{tmp_path}/s.db"))
    assert isinstance(app, DurableASGI) and isinstance(app.inner, SandboxASGI)
    assert app.settings.store.endswith("/s.db") and app.webhooks is app.inner.webhooks


def test_store_comes_from_the_flag_or_sandbox_store():
    assert Settings().store == "memory"
    assert from_sources({}, environ={"SANDBOX_STORE": "sqlite:///tmp/x.db"}).store == "sqlite:///tmp/x.db"


@pytest.mark.parametrize("url, says", [
    ("mysql://x", "not a store URL"),
    ("sqlite:/x.db", "sqlite:///PATH"),
    ("sqlite:///", "names no database file"),
    ("sqlite:///no/such/dir/x.db", "does not exist"),
    ("sqlite:///tmp/x.db?synchronous=off", "synchronous must be full or normal"),
    ("postgresql://u@nonexistent.invalid/db", "cannot use the database"),
    ("postgresql:///db", "postgresql://USER@HOST"),
    ("postgresql://u:secret@127.0.0.1:1/db?pool_size=0", "pool_size must be"),
    ("postgresql://u:secret@127.0.0.1:1/db", "cannot use the database"),
])
def test_a_bad_store_url_is_one_line(url, says):
    with pytest.raises(StoreError) as raised:
        open_store(url)
    assert says in str(raised.value) and "\n" not in str(raised.value) and "secret" not in str(raised.value)


def test_a_file_that_is_not_a_database_is_one_line(tmp_path):
    bad = tmp_path / "not.db"
    bad.write_bytes(b"this is not a database, " * 100)
    with pytest.raises(StoreError, match="cannot open the database"):
        open_store(f"sqlite://{bad}")


def test_the_cli_refuses_a_bad_store_without_a_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "sandbox", "--store", f"sqlite://{tmp_path}/missing/x.db"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("leadsail-sandbox: --store") and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_schema_and_migrations_table_are_created_once(tmp_path):
    url = f"sqlite://{tmp_path}/s.db"
    open_store(url).close()
    store = open_store(url)  # a second start applies nothing again
    assert store.schema_version() == MIGRATIONS[-1][0]
    rows = sqlite3.connect(tmp_path / "s.db").execute("SELECT version FROM schema_migrations").fetchall()
    assert rows == [(v,) for v, _ in MIGRATIONS]
    assert sqlite3.connect(tmp_path / "s.db").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_newer_schema_is_refused(tmp_path):
    open_store(f"sqlite://{tmp_path}/s.db").close()
    sqlite3.connect(tmp_path / "s.db", isolation_level=None).execute(
        "INSERT INTO schema_migrations VALUES (99, 'later')")
    with pytest.raises(StoreError, match="newer than this sandbox knows"):
        open_store(f"sqlite://{tmp_path}/s.db")


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_health_and_ready_need_no_key(tmp_path, store):
    url = "memory" if store == "memory" else f"sqlite://{tmp_path}/s.db"
    with TestClient(create_app(Settings(store=url, validate_responses=True))) as client:
        assert client.get("/_sandbox/health").json() == {"success": True, "data": {"status": "ok"}}
        assert client.get("/_sandbox/ready").json() == {"success": True, "data": {"status": "ready", "store": store}}


def test_ready_answers_503_when_the_store_fails(tmp_path):
    app = create_app(Settings(store=f"sqlite://{tmp_path}/s.db"))
    app.store.close()
    with TestClient(app) as client:
        response = client.get("/_sandbox/ready")
    assert response.status_code == 503 and response.json()["error"]["code"] == "STORE_UNAVAILABLE"


@pytest.mark.parametrize("argv, says", [
    (["--workers", "2"], "--workers needs a durable --store"),
    (["--workers", "0"], "--workers must be at least 1"),
    (["--workers", "2", "--store", "sqlite:///no/such/dir/x.db"], "does not exist"),
])
def test_the_cli_refuses_workers_it_cannot_run_in_one_line(argv, says):
    done = subprocess.run([sys.executable, "-m", "sandbox", *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and says in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
