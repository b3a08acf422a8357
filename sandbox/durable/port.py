"""The store port: what the durable layer asks of a store, and the memory store that asks nothing.

A store keeps, per tenant, a *genesis* (how its clock started: the only input of a fresh tenant
that is not in the settings), an append-only log of entries (requests, real-time advances, webhook
results) and at most one snapshot (an export, ``Tenant.export``) with the log sequence it covers;
plus strict mode's issued keys. Every method is one transaction: ``append`` returning means the
entries are committed (``acknowledged means durable``).

The one thing a reader might get wrong: ``MemoryStore`` is not an adapter the layer writes to, it
is the absence of the layer (``durable = False``): ``create_app`` adds no wrapper for it, so the
default store costs nothing per request.
"""

from __future__ import annotations

from typing import Protocol


class StoreError(Exception):
    """A store that cannot be used: a malformed URL, a file that cannot be opened, a failed query.
    Its message is one line meant for a person (the CLI prints it without a traceback)."""


class Store(Protocol):
    durable: bool
    url: str

    def ping(self) -> None: ...                                   # a trivial query; StoreError when it fails
    def close(self) -> None: ...
    def load_keys(self) -> dict[str, dict]: ...                   # issued strict-mode keys
    def put_key(self, key: str, record: dict) -> None: ...
    def delete_key(self, key: str) -> None: ...                   # also drops the tenant's log and snapshot
    def tenant_keys(self) -> set[str]: ...                        # tenants with a genesis
    def append(self, key: str, genesis: dict | None, entries: list[dict]) -> None: ...
    def snapshot(self, key: str, seq: int, document: str, clock_after: dict) -> None: ...  # export as JSON
    def load(self, key: str) -> tuple[dict | None, tuple[int, dict, dict] | None, list[dict]]: ...


class MemoryStore:
    """Today's behaviour: state lives in the process and dies with it."""

    durable = False
    url = "memory"

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None


def open_store(url: str | None) -> "Store":
    """The store a ``--store`` value names; ``StoreError`` (one line) when it names none."""
    text = (url or "memory").strip()
    if text == "memory":
        return MemoryStore()
    if text.startswith("sqlite:"):
        from .sqlite import SQLiteStore

        return SQLiteStore.from_url(text)
    if text.startswith(("postgresql:", "postgres:")):
        raise StoreError(f"--store {text.split('@')[-1]!r}: PostgreSQL is not supported yet "
                         "(memory or sqlite:///PATH)")
    raise StoreError(f"--store {text!r}: not a store URL; use memory or sqlite:///PATH "
                     "(e.g. sqlite:///tmp/sandbox.db)")
