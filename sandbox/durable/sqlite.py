"""The SQLite adapter of the store port (standard library ``sqlite3``, no ORM: five tables).

Durability: WAL journal with ``synchronous=FULL`` by default — every commit is fsynced, so an
acknowledged write survives a process crash *and* a power cut. ``?synchronous=normal`` trades the
power-cut guarantee for speed (WAL + NORMAL still survives ``kill -9``: the commit is in the OS's
page cache); docs/durable-state.md has the measured cost of each.

The SQL is kept to what PostgreSQL accepts too (``INSERT ... ON CONFLICT``, plain types), so the
psycopg 3 adapter can share it; the dialect differences are the placeholders (``?`` vs ``%s``)
and ``BLOB`` vs ``BYTEA``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from urllib.parse import parse_qs

from .port import StoreError

# Versioned schema: each migration runs once, in order, recorded in schema_migrations.
MIGRATIONS: list[tuple[int, str]] = [
    (1, """
        CREATE TABLE tenants (key TEXT PRIMARY KEY, genesis TEXT NOT NULL);
        CREATE TABLE entries (key TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL, body BLOB,
                              PRIMARY KEY (key, seq));
        CREATE TABLE snapshots (key TEXT PRIMARY KEY, seq INTEGER NOT NULL, document TEXT NOT NULL,
                                clock_after TEXT NOT NULL);
        CREATE TABLE issued_keys (key TEXT PRIMARY KEY, record TEXT NOT NULL);
    """),
]
SYNCHRONOUS = ("full", "normal")


def _dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class SQLiteStore:
    durable = True

    def __init__(self, path: str, synchronous: str = "full", url: str | None = None):
        self.path = path
        self.url = url or f"sqlite://{path}"
        try:
            # One connection, used from the serving loop only (check_same_thread off: tests serve
            # the app from a portal thread). Autocommit mode, with explicit transactions.
            self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute(f"PRAGMA synchronous={synchronous.upper()}")
            self.db.execute("PRAGMA busy_timeout=5000")
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"--store {self.url}: cannot open the database: {exc}") from None

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
        db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
        done = {row[0] for row in db.execute("SELECT version FROM schema_migrations")}
        for version, sql in MIGRATIONS:
            if version in done:
                continue
            db.execute("BEGIN IMMEDIATE")
            try:
                for statement in filter(str.strip, sql.split(";")):
                    db.execute(statement)
                db.execute("INSERT INTO schema_migrations VALUES (?, ?)",
                           (version, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        newest = max(done | {v for v, _ in MIGRATIONS})
        if newest > MIGRATIONS[-1][0]:
            raise StoreError(f"--store {self.url}: the database has schema version {newest}, newer than "
                             f"this sandbox knows ({MIGRATIONS[-1][0]}); upgrade leadsail-sandbox")

    def schema_version(self) -> int:
        return self.db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]

    # --- the port ----------------------------------------------------------------------------------

    def _transaction(self, work) -> None:
        db = self.db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                work(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.url}: {exc}") from exc

    def ping(self) -> None:
        try:
            self.db.execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.url}: {exc}") from exc

    def close(self) -> None:
        self.db.close()

    def load_keys(self) -> dict[str, dict]:
        return {key: json.loads(record) for key, record in self.db.execute("SELECT key, record FROM issued_keys")}

    def put_key(self, key: str, record: dict) -> None:
        self._transaction(lambda db: db.execute(
            "INSERT INTO issued_keys VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET record = excluded.record",
            (key, _dumps(record))))

    def delete_key(self, key: str) -> None:
        def work(db):
            for table in ("issued_keys", "tenants", "entries", "snapshots"):
                db.execute(f"DELETE FROM {table} WHERE key = ?", (key,))  # noqa: S608 - fixed names
        self._transaction(work)

    def tenant_keys(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT key FROM tenants")}

    def append(self, key: str, genesis: dict | None, entries: list[dict]) -> None:
        def work(db):
            if genesis is not None:
                db.execute("INSERT INTO tenants VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET genesis = excluded.genesis",
                           (key, _dumps(genesis)))
            db.executemany("INSERT INTO entries VALUES (?, ?, ?, ?)",
                           [(key, e["seq"], _dumps({k: v for k, v in e.items() if k != "body"}), e.get("body"))
                            for e in entries])
        self._transaction(work)

    def snapshot(self, key: str, seq: int, document: str, clock_after: dict) -> None:
        """Keep ``document`` (an export, as JSON text) as the tenant after entry ``seq`` and drop the
        entries it covers."""
        def work(db):
            db.execute("INSERT INTO snapshots VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                       "seq = excluded.seq, document = excluded.document, clock_after = excluded.clock_after",
                       (key, seq, document, _dumps(clock_after)))
            db.execute("DELETE FROM entries WHERE key = ? AND seq <= ?", (key, seq))
        self._transaction(work)

    def load(self, key: str):
        """(genesis, (seq, document, clock_after) or None, entries after the snapshot in order)."""
        row = self.db.execute("SELECT genesis FROM tenants WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None, None, []
        snap = self.db.execute("SELECT seq, document, clock_after FROM snapshots WHERE key = ?", (key,)).fetchone()
        after = snap[0] if snap else 0
        entries = []
        for data, body in self.db.execute("SELECT data, body FROM entries WHERE key = ? AND seq > ? ORDER BY seq",
                                          (key, after)):
            entry = json.loads(data)
            entry["body"] = body
            entries.append(entry)
        snapshot = (snap[0], json.loads(snap[1]), json.loads(snap[2])) if snap else None
        return json.loads(row[0]), snapshot, entries
