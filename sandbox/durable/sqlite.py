"""The SQLite adapter of the store port (standard library ``sqlite3``, no ORM; SQL in ``sql.py``).

Durability: WAL journal with ``synchronous=FULL`` by default — every commit is fsynced, so an
acknowledged write survives a process crash *and* a power cut. ``?synchronous=normal`` trades the
power-cut guarantee for speed (WAL + NORMAL still survives ``kill -9``: the commit is in the OS's
page cache); docs/durable-state.md has the measured cost of each.

Several processes (``--workers N``) share one file. A tenant's cross-process lock is not SQLite's
writer lock (that would serialise every tenant for the length of a request) but one byte of a lock
file beside the database (``PATH.locks``), at an offset hashed from the key: ``fcntl`` byte-range
locks are per process and released by the kernel when a process dies, so a ``kill -9`` never
leaves a tenant locked. Each commit is its own short ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import sqlite3
import time
from pathlib import Path
from urllib.parse import parse_qs

from . import sql
from .port import StoreError

SYNCHRONOUS = ("full", "normal")


def lock_offset(key: str) -> int:
    """A tenant's byte in the lock file: 62 bits of hash, so two tenants share a byte (and then
    only wait on each other) with a chance of about 2^-62 per pair."""
    return sql.key_hash(key) >> 2


class SQLiteStore(sql.LogStore):

    def __init__(self, path: str, synchronous: str = "full", url: str | None = None):
        self.path = path
        self.url = url or f"sqlite://{path}"
        self.statements = 0
        try:
            # One connection per process, used from the serving loop only (check_same_thread off:
            # tests serve the app from a portal thread). Autocommit, with explicit transactions.
            self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA busy_timeout=10000")
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute(f"PRAGMA synchronous={synchronous.upper()}")
            self._migrate()
            self.lock_fd = os.open(f"{path}.locks", os.O_RDWR | os.O_CREAT, 0o600)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"--store {self.url}: cannot open the database: {exc}") from None
        self.db.set_trace_callback(self._count)

    def _count(self, _statement: str) -> None:
        self.statements += 1

    @classmethod
    def from_url(cls, url: str) -> "SQLiteStore":
        rest = url[len("sqlite:"):]
        if not rest.startswith("//"):
            raise StoreError(f"--store {url!r}: a SQLite URL is sqlite:///PATH (e.g. sqlite:///tmp/sandbox.db)")
        rest, _, query = rest[2:].partition("?")
        if not rest or rest.endswith("/"):
            raise StoreError(f"--store {url!r}: names no database file (sqlite:///PATH)")
        options = {k: v[-1].lower() for k, v in parse_qs(query, keep_blank_values=True).items()}
        unknown = set(options) - {"synchronous"}
        if unknown:
            raise StoreError(f"--store {url!r}: unknown option {sorted(unknown)[0]!r} (only synchronous=full|normal)")
        synchronous = options.get("synchronous", "full")
        if synchronous not in SYNCHRONOUS:
            raise StoreError(f"--store {url!r}: synchronous must be full or normal")
        path = Path(rest)
        if not path.parent.is_dir():
            raise StoreError(f"--store {url!r}: cannot open the database: directory {str(path.parent)!r} does not exist")
        return cls(str(path), synchronous, url)

    # --- schema ----------------------------------------------------------------------------------

    def _migrate(self) -> None:
        db = self.db
        db.execute(sql.CREATE_MIGRATIONS)
        db.execute("BEGIN IMMEDIATE")  # workers starting together: one migrates, the others wait and see it done
        try:
            done = {row[0] for row in db.execute(sql.APPLIED)}
            for version, script in sql.MIGRATIONS:
                if version not in done:
                    for statement in filter(str.strip, script.split(";")):
                        db.execute(statement)
                    db.execute(sql.RECORD_MIGRATION, (version, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        newest = max(done | {sql.NEWEST})
        if newest > sql.NEWEST:
            raise StoreError(f"--store {self.url}: the database has schema version {newest}, newer than "
                             f"this sandbox knows ({sql.NEWEST}); upgrade leadsail-sandbox")

    def schema_version(self) -> int:
        return self.db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]

    # --- the port ----------------------------------------------------------------------------------

    async def _run(self, statement: str, params: tuple = ()) -> list:
        # Synchronous on purpose: nothing else runs on the loop between a BEGIN and its COMMIT.
        try:
            return self.db.execute(statement, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.url}: {exc}") from exc

    @contextlib.asynccontextmanager
    async def _transaction(self):
        await self._run("BEGIN IMMEDIATE")
        try:
            yield self._run
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        await self._run("COMMIT")

    def load_keys_now(self) -> dict[str, dict]:
        return {key: json.loads(record) for key, record in self.db.execute(sql.LOAD_KEYS)}

    def close(self) -> None:
        self.db.close()
        os.close(self.lock_fd)

    async def release(self) -> None:
        return None  # one connection for the process, whatever loop serves it

    @contextlib.asynccontextmanager
    async def locked(self, key: str):
        """The tenant's byte of the lock file, held (across processes) for the session."""
        offset, wait = lock_offset(key), 0.0005
        while True:
            try:
                fcntl.lockf(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
                break
            except OSError:  # another process holds it: poll without blocking the loop
                await asyncio.sleep(wait)
                wait = min(wait * 2, 0.02)
        try:
            yield sql.LogSession(key, self._run, self._transaction)
        finally:
            fcntl.lockf(self.lock_fd, fcntl.LOCK_UN, 1, offset)
