"""The PostgreSQL fixtures: each test gets a database of its own, empty, and gone afterwards."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import psycopg
import pytest

from . import postgres


def tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [name for (name,) in conn.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')")]


def test_the_server_is_the_shared_one_when_named(postgres_server):
    if os.environ.get(postgres.ENV):
        assert postgres_server == os.environ[postgres.ENV]
    else:
        assert urlsplit(postgres_server).hostname == "127.0.0.1"


def test_each_url_is_a_different_empty_database(postgres_url, postgres_url_factory):
    other = postgres_url_factory()
    assert other != postgres_url
    for url in (postgres_url, other):
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT current_database()").fetchone()[0] == urlsplit(url).path[1:]
            assert conn.execute("SHOW server_encoding").fetchone()[0] == "UTF8"
        assert tables(url) == []


def test_a_table_in_one_database_is_not_in_the_other(postgres_url, postgres_url_factory):
    other = postgres_url_factory()
    with psycopg.connect(postgres_url) as conn:
        conn.execute("CREATE TABLE events (seq bigint PRIMARY KEY, body jsonb NOT NULL)")
        conn.execute("INSERT INTO events VALUES (1, '{\"a\": 1}')")
    assert tables(postgres_url) == ["events"]
    assert tables(other) == []
    with psycopg.connect(other) as conn, pytest.raises(psycopg.errors.UndefinedTable):
        conn.execute("SELECT * FROM events")


def test_the_server_refuses_a_database_that_does_not_exist(postgres_url):
    wrong = urlsplit(postgres_url)._replace(path="/sbx_no_such_database").geturl()
    with pytest.raises(psycopg.OperationalError, match='database "sbx_no_such_database" does not exist'):
        psycopg.connect(wrong)


def test_the_database_is_dropped_afterwards_even_with_a_client_on_it(postgres_server):
    with postgres.database(postgres_server) as url:
        client = psycopg.connect(url)  # left open: DROP ... WITH (FORCE) ends its session
        client.execute("CREATE TABLE t (x int)")
        client.commit()
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        psycopg.connect(url)
    with client, pytest.raises(psycopg.OperationalError):
        client.execute("SELECT 1")
