"""The PostgreSQL adapter of the store port (psycopg 3, one async connection pool per serving loop).

Same schema and statements as SQLite (``sql.py``). What PostgreSQL adds is the point of it: many
processes on many machines share one database, and a tenant's lock is
``pg_advisory_xact_lock`` taken in the session's own transaction — held until COMMIT, released by
the server if the process holding it dies, and different tenants never wait on each other.

Round trips are counted (``statements``) because they are the cost: a locked session is
``BEGIN`` + the lock in one round trip, the catch-up query, the append, ``COMMIT``; an unlocked
read is one query. Connections run in autocommit so that every ``BEGIN``/``COMMIT`` is explicit
and counted (psycopg would otherwise send an implicit ``BEGIN`` of its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from . import sql
from .port import StoreError, redact

CONNECT_TIMEOUT = 5          # seconds: an unreachable server fails start-up quickly
POOL_SIZE = 10               # connections per serving process (a request holds one only while it writes)
MIGRATION_LOCK = 7_302_741_120_913   # pg_advisory_lock id: one process migrates at a time


def lock_id(key: str) -> int:
    """The tenant's advisory-lock id: a signed 64-bit hash of the key (computed here, so the
    lock can share a round trip with ``BEGIN`` as a literal)."""
    return sql.key_hash(key) - (1 << 63)


class PostgresStore(sql.LogStore):

    def __init__(self, conninfo: str, url: str, pool_size: int = POOL_SIZE):
        import psycopg

        self.conninfo, self.url, self.pool_size = conninfo, redact(url), pool_size
        self.statements = 0
        self._pools: dict[object, object] = {}
        self._psycopg = psycopg
        try:
            with psycopg.connect(conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT) as conn:
                self._migrate(conn)
        except psycopg.Error as exc:
            raise StoreError(f"--store {self.url}: cannot use the database: {_first_line(exc)}") from None

    @classmethod
    def from_url(cls, url: str) -> "PostgresStore":
        parts = urlsplit(url)
        if not parts.hostname and "host=" not in parts.query:
            raise StoreError(f"--store {redact(url)!r}: a PostgreSQL URL is postgresql://USER@HOST[:PORT]/DB")
        options = parse_qsl(parts.query, keep_blank_values=True)
        pool_size = POOL_SIZE
        kept = []
        for name, value in options:
            if name == "pool_size":  # ours, not libpq's
                if not value.isdigit() or not 1 <= int(value) <= 1000:
                    raise StoreError(f"--store {redact(url)!r}: pool_size must be a whole number from 1 to 1000")
                pool_size = int(value)
            else:
                kept.append((name, value))
        conninfo = urlunsplit(parts._replace(scheme="postgresql", query=urlencode(kept)))
        return cls(conninfo, url, pool_size)

    def _migrate(self, conn) -> None:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        try:
            conn.execute(sql.CREATE_MIGRATIONS)
            done = {row[0] for row in conn.execute(sql.APPLIED)}
            for version, script in sql.MIGRATIONS:
                if version in done:
                    continue
                with conn.transaction():
                    conn.execute(sql.postgres(script))
                    conn.execute(sql.postgres(sql.RECORD_MIGRATION),
                                 (version, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
        newest = max(done | {sql.NEWEST})
        if newest > sql.NEWEST:
            raise StoreError(f"--store {self.url}: the database has schema version {newest}, newer than "
                             f"this sandbox knows ({sql.NEWEST}); upgrade leadsail-sandbox")

    def schema_version(self) -> int:
        with self._psycopg.connect(self.conninfo, autocommit=True) as conn:
            return conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]

    def load_keys_now(self) -> dict[str, dict]:
        try:
            with self._psycopg.connect(self.conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT) as conn:
                return {key: json.loads(record) for key, record in conn.execute(sql.LOAD_KEYS)}
        except self._psycopg.Error as exc:
            raise StoreError(f"--store {self.url}: {_first_line(exc)}") from None

    # --- connections -------------------------------------------------------------------------------

    async def _pool(self):
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            from psycopg_pool import AsyncConnectionPool

            pool = AsyncConnectionPool(self.conninfo, min_size=1, max_size=self.pool_size, open=False,
                                       kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
                                       timeout=CONNECT_TIMEOUT * 2)
            self._pools[loop] = pool
            await pool.open()
        return pool

    @contextlib.asynccontextmanager
    async def _connection(self):
        from psycopg_pool import PoolTimeout

        try:
            async with (await self._pool()).connection() as conn:
                yield conn
        except (self._psycopg.Error, PoolTimeout) as exc:
            raise StoreError(f"store {self.url}: {_first_line(exc)}") from exc

    async def _run_on(self, conn, statement: str, params: tuple = ()) -> list:
        self.statements += 1
        cursor = await conn.execute(sql.postgres(statement), params or None)
        return await cursor.fetchall() if cursor.description is not None else []

    async def _run(self, statement: str, params: tuple = ()) -> list:
        async with self._connection() as conn:
            return await self._run_on(conn, statement, params)

    # --- the port ----------------------------------------------------------------------------------

    async def release(self) -> None:
        pool = self._pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            await pool.close()

    def close(self) -> None:
        return None  # pools belong to their serving loops and close with them (``release``)

    @contextlib.asynccontextmanager
    async def _transaction(self, begin: str = "BEGIN"):
        """One pooled connection in one transaction: a ``run`` for its statements, COMMIT at the end
        (ROLLBACK if the body raises)."""
        async with self._connection() as conn:
            await self._run_on(conn, begin)
            try:
                yield lambda statement, params: self._run_on(conn, statement, params)
            except BaseException:
                with contextlib.suppress(self._psycopg.Error):
                    await conn.execute("ROLLBACK")
                raise
            await self._run_on(conn, "COMMIT")

    @contextlib.asynccontextmanager
    async def locked(self, key: str):
        """A transaction holding the tenant's advisory lock (taken with BEGIN, one round trip)."""
        async with self._transaction(f"BEGIN; SELECT pg_advisory_xact_lock({lock_id(key)})") as run:
            yield sql.LogSession(key, run)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
