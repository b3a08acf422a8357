"""Durable state: ``--store memory | sqlite:///PATH`` (env ``SANDBOX_STORE``).

``open_store`` turns the setting into a store behind one small port (``port.Store``): the memory
store does nothing and adds nothing to the request path; a durable store (SQLite today) keeps a
per-tenant *command log* written by ``layer.DurableASGI`` and replayed on a tenant's first request
after a restart. docs/durable-state.md explains the design.
"""

from __future__ import annotations

from .port import MemoryStore, Store, StoreError, open_store

__all__ = ["MemoryStore", "Store", "StoreError", "open_store"]
