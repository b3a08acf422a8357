"""The store port: what the durable layer asks of a store, and the memory store that asks nothing.

A store keeps, per tenant, a *genesis* (how its clock started: the only input of a fresh tenant
that is not in the settings), an append-only log of entries (requests, real-time advances, webhook
results) and at most one snapshot (an export, ``Tenant.export``) with the log sequence it covers;
plus strict mode's issued keys.

Every write happens inside ``locked(key)``: a session that holds the tenant's *cross-process* lock
(PostgreSQL: ``pg_advisory_xact_lock`` in the session's transaction; SQLite: a byte-range lock on
a lock file beside the database) until it ends. Leaving the ``async with`` commits: only then may
an answer leave (*acknowledged means durable*). Sessions of different tenants never wait on each
other, in one process or many.

The one thing a reader might get wrong: ``MemoryStore`` is not an adapter the layer writes to, it
is the absence of the layer (``durable = False``): ``create_app`` adds no wrapper for it, so the
default store costs nothing per request.
"""

from __future__ import annotations

from typing import AsyncContextManager, Protocol


class StoreError(Exception):
    """A store that cannot be used: a malformed URL, a file that cannot be opened, a failed query.
    Its message is one line meant for a person (the CLI prints it without a traceback)."""


Snapshot = tuple[int, dict, dict]          # (seq it covers, export document, clock after it)


class Session(Protocol):
    """One tenant, locked across processes, one transaction (committed when the session ends)."""

    async def entries_after(self, seq: int) -> list[dict]: ...
    async def load(self) -> tuple[dict | None, Snapshot | None, list[dict]]: ...
    async def append(self, genesis: dict | None, entries: list[dict], wakes_at=...) -> None: ...
    async def snapshot(self, seq: int, document: str, clock_after: dict, keep: int) -> None: ...


class Store(Protocol):
    durable: bool
    url: str
    statements: int                  # round trips sent so far (tests count them per request)

    def load_keys_now(self) -> dict[str, dict]: ...               # at start-up, before any loop runs
    async def ping(self) -> None: ...                             # a trivial query; StoreError when it fails
    def close(self) -> None: ...      
    async def load_keys(self) -> dict[str, dict]: ...             # issued strict-mode keys
    async def get_key(self, key: str) -> dict | None: ...
    async def put_key(self, key: str, record: dict) -> None: ...
    async def delete_key(self, key: str) -> None: ...             # also drops the tenant's log and snapshot
    async def release(self) -> None: ...                          # the serving loop ends: its connections go
    def reader(self, key: str) -> Session: ...                    # unlocked reads: a committed prefix
    async def due_tenants(self, wall: float) -> list[str]: ...    # real-time tenants with work due by then
    def locked(self, key: str) -> AsyncContextManager[Session]: ...


class MemoryStore:
    """Today's behaviour: state lives in the process and dies with it."""

    durable = False
    url = "memory"
    statements = 0

    async def ping(self) -> None:
        return None

    def close(self) -> None:
        return None

    async def release(self) -> None:
        return None


def redact(url: str) -> str:
    """A store URL fit for a log line or an error: no password."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    userinfo, _, host = rest.partition("@")
    return f"{scheme}://{userinfo.split(':', 1)[0]}@{host}" if userinfo else f"{scheme}://{host}"


def open_store(url: str | None) -> "Store":
    """The store a ``--store`` value names; ``StoreError`` (one line) when it names none."""
    text = (url or "memory").strip()
    if text == "memory":
        return MemoryStore()
    if text.startswith("sqlite:"):
        from .sqlite import SQLiteStore

        return SQLiteStore.from_url(text)
    if text.startswith(("postgresql:", "postgres:")):
        from .postgres import PostgresStore

        return PostgresStore.from_url(text)
    raise StoreError(f"--store {redact(text)!r}: not a store URL; use memory, sqlite:///PATH "
                     "(e.g. sqlite:///tmp/sandbox.db) or postgresql://USER@HOST/DB")
