"""The schema and the SQL both durable adapters share, and the session that speaks it.

SQLite and PostgreSQL run the same statements: written with ``?`` placeholders and portable types,
the PostgreSQL adapter turns ``?`` into ``%s`` (``dialect``) and ``BLOB`` into ``BYTEA``. An adapter
gives ``LogSession`` one coroutine, ``run(sql, params) -> rows``, and a way to make several
statements atomic; everything else — how an entry is stored, what a snapshot drops, how a tenant
is loaded — is written once, here.

The one thing a reader might get wrong: a snapshot does not cut the log at its own seq. It keeps
the entries of the last ``keep`` before it, so a process that is behind (another worker serving
the same tenant) catches up by replaying them; only a process further behind finds a gap (the
first entry after its seq is not the next one) and reloads from the snapshot — measured at 139 ms
for a 1,000-lead tenant against 6 ms for a catch-up.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Awaitable, Callable

# Versioned schema: each migration runs once, in order, recorded in schema_migrations.
MIGRATIONS: list[tuple[int, str]] = [
    (1, """
        CREATE TABLE tenants (key TEXT PRIMARY KEY, genesis TEXT NOT NULL);
        CREATE TABLE entries (key TEXT NOT NULL, seq BIGINT NOT NULL, data TEXT NOT NULL, body BLOB,
                              PRIMARY KEY (key, seq));
        CREATE TABLE snapshots (key TEXT PRIMARY KEY, seq BIGINT NOT NULL, document TEXT NOT NULL,
                                clock_after TEXT NOT NULL);
        CREATE TABLE issued_keys (key TEXT PRIMARY KEY, record TEXT NOT NULL);
    """),
    # When a real-time tenant's next due work falls due, in wall-clock seconds (NULL: none, or a
    # manual clock): any process wakes a tenant no process holds in memory (``DUE_TENANTS``).
    (2, """
        ALTER TABLE tenants ADD COLUMN wakes_at DOUBLE PRECISION;
        CREATE INDEX tenants_wakes_at ON tenants (wakes_at);
    """),
]
NEWEST = MIGRATIONS[-1][0]
CREATE_MIGRATIONS = "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
APPLIED = "SELECT version FROM schema_migrations"
RECORD_MIGRATION = "INSERT INTO schema_migrations VALUES (?, ?)"

PUT_GENESIS = "INSERT INTO tenants (key, genesis) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET genesis = excluded.genesis"
PUT_ENTRY = "INSERT INTO entries (key, seq, data, body) VALUES (?, ?, ?, ?)"
PUT_SNAPSHOT = ("INSERT INTO snapshots (key, seq, document, clock_after) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                "seq = excluded.seq, document = excluded.document, clock_after = excluded.clock_after")
DROP_COVERED = "DELETE FROM entries WHERE key = ? AND seq < ?"
ENTRIES_AFTER = "SELECT data, body FROM entries WHERE key = ? AND seq > ? ORDER BY seq"
GENESIS = "SELECT genesis FROM tenants WHERE key = ?"
SNAPSHOT = "SELECT seq, document, clock_after FROM snapshots WHERE key = ?"
LOAD_KEYS = "SELECT key, record FROM issued_keys"
SET_WAKES = "UPDATE tenants SET wakes_at = ? WHERE key = ?"
DUE_TENANTS = "SELECT key FROM tenants WHERE wakes_at <= ?"
GET_KEY = "SELECT record FROM issued_keys WHERE key = ?"
PUT_KEY = "INSERT INTO issued_keys (key, record) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET record = excluded.record"
DROP_TENANT = [f"DELETE FROM {table} WHERE key = ?"  # noqa: S608 - fixed names
               for table in ("issued_keys", "tenants", "entries", "snapshots")]


def postgres(sql: str) -> str:
    """The PostgreSQL spelling of a statement above."""
    return sql.replace("?", "%s").replace(" BLOB", " BYTEA")


def key_hash(key: str) -> int:
    """64 bits of a tenant key, the same in every process: where its cross-process lock lives."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")


def dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def encode_entry(key: str, entry: dict) -> tuple:
    return key, entry["seq"], dumps({k: v for k, v in entry.items() if k != "body"}), entry.get("body")


def decode_entry(data: str, body) -> dict:
    entry = json.loads(data)
    entry["body"] = bytes(body) if body is not None else None
    return entry


Run = Callable[[str, tuple], Awaitable[list]]
UNCHANGED = object()


class LogSession:
    """One tenant's log through ``run``; ``atomic()`` groups statements that must land together
    (SQLite: a ``BEGIN IMMEDIATE`` of its own; PostgreSQL: already inside the session's transaction)."""

    def __init__(self, key: str, run: Run, atomic=contextlib.nullcontext):
        self.key, self.run, self.atomic = key, run, atomic

    async def entries_after(self, seq: int) -> list[dict]:
        return [decode_entry(data, body) for data, body in await self.run(ENTRIES_AFTER, (self.key, seq))]

    async def load(self):
        """(genesis, (seq, document, clock_after) or None, entries after the snapshot in order)."""
        rows = await self.run(GENESIS, (self.key,))
        if not rows:
            return None, None, []
        snap = await self.run(SNAPSHOT, (self.key,))
        snapshot = (snap[0][0], json.loads(snap[0][1]), json.loads(snap[0][2])) if snap else None
        return json.loads(rows[0][0]), snapshot, await self.entries_after(snapshot[0] if snapshot else 0)

    async def append(self, genesis: dict | None, entries: list[dict], wakes_at=UNCHANGED) -> None:
        """Entries (and the tenant's genesis, with its first); ``wakes_at`` when it changed."""
        async with self.atomic():
            if genesis is not None:
                await self.run(PUT_GENESIS, (self.key, dumps(genesis)))
            for entry in entries:
                await self.run(PUT_ENTRY, encode_entry(self.key, entry))
            if wakes_at is not UNCHANGED:
                await self.run(SET_WAKES, (wakes_at, self.key))

    async def snapshot(self, seq: int, document: str, clock_after: dict, keep: int) -> None:
        """Keep ``document`` (an export, as JSON text) as the tenant after entry ``seq``; drop the
        entries more than ``keep`` before it (those that stay let a process that is behind catch up
        by replaying a few, instead of reloading the whole tenant from the snapshot)."""
        async with self.atomic():
            await self.run(PUT_SNAPSHOT, (self.key, seq, document, dumps(clock_after)))
            await self.run(DROP_COVERED, (self.key, seq - keep))


class LogStore:
    """What both adapters do alike, through their ``_run(sql, params)`` (a statement on its own) and
    ``_transaction()`` (an ``async with`` giving a ``run`` whose statements commit together)."""

    durable = True

    async def ping(self) -> None:
        await self._run("SELECT 1", ())

    async def load_keys(self) -> dict[str, dict]:
        return {key: json.loads(record) for key, record in await self._run(LOAD_KEYS, ())}

    async def get_key(self, key: str) -> dict | None:
        rows = await self._run(GET_KEY, (key,))
        return json.loads(rows[0][0]) if rows else None

    async def put_key(self, key: str, record: dict) -> None:
        await self._run(PUT_KEY, (key, dumps(record)))

    async def delete_key(self, key: str) -> None:
        async with self._transaction() as run:
            for statement in DROP_TENANT:
                await run(statement, (key,))

    async def due_tenants(self, wall: float) -> list[str]:
        return [row[0] for row in await self._run(DUE_TENANTS, (wall,))]

    def reader(self, key: str) -> LogSession:
        return LogSession(key, self._run)

