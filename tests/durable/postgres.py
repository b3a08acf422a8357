"""A PostgreSQL server for the tests, and fresh databases on it.

The server is the one ``SANDBOX_TEST_POSTGRES`` names (``.ci/run`` starts it with ``.ci/postgres``
and all pytest workers share it), else a throwaway cluster started here, one per pytest session
(so one per xdist worker), the same way ``.ci/postgres`` does. Without PostgreSQL the tests skip,
except under CI, where they fail: CI must never skip them silently.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from glob import glob
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from tests.processes import free_port

ENV = "SANDBOX_TEST_POSTGRES"
MISSING = "PostgreSQL not installed (apt-get install postgresql); .ci/run installs it"

_names = itertools.count(1)


def bin_dir() -> Path | None:
    """Debian's newest /usr/lib/postgresql/N/bin, else the directory of ``initdb`` on PATH."""
    dirs = [Path(d) for d in glob("/usr/lib/postgresql/*/bin") if Path(d, "initdb").exists()]
    if dirs:
        return max(dirs, key=lambda d: [int(n) for n in re.findall(r"\d+", d.parent.name)])
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class Cluster:
    """initdb and pg_ctl in a temp dir, on a free port of 127.0.0.1, trust auth for user postgres.

    PostgreSQL refuses to run as root: as root, both run as the ``postgres`` user (Debian's package
    creates it) through runuser.
    """

    def __init__(self, bin: Path):
        self.bin, self.port = bin, free_port()
        # Not under pytest's tmp_path: its root (/tmp/pytest-of-USER) is 0700, closed to postgres.
        self.dir = Path(tempfile.mkdtemp(prefix="sbx-postgres-"))
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            shutil.chown(self.dir, "postgres")

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run([*self.as_postgres, str(self.bin / tool), *args], capture_output=True, text=True)
        if done.returncode:
            log = self.dir / "log"
            raise RuntimeError(f"{tool} failed: {done.stdout}{done.stderr}"
                               f"{log.read_text() if log.exists() else ''}")

    def start(self) -> None:
        d = str(self.dir)
        # UTF8 whatever the machine's locale; the server's output to a file, not to our pipes.
        self._run("initdb", "-D", d, "--auth=trust", "-U", "postgres", "-E", "UTF8", "--no-locale")
        self._run("pg_ctl", "-D", d, "-l", f"{d}/log", "-w", "-o",
                  f"-p {self.port} -k {d} -c listen_addresses=127.0.0.1 -c fsync=on", "start")

    def stop(self) -> None:
        try:
            if (self.dir / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.dir), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def server() -> Iterator[str]:
    """The URL of a PostgreSQL server's ``postgres`` database, as user ``postgres`` (see the module)."""
    if url := os.environ.get(ENV):
        try:
            with psycopg.connect(url, connect_timeout=10) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as error:
            pytest.fail(f"{ENV}={url} does not answer: {error}")
        yield url
        return
    bin = bin_dir()
    if bin is None:
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(f"{MISSING} (CI is set: failing, not skipping)")
        pytest.skip(MISSING)
    cluster = Cluster(bin)
    try:
        cluster.start()
        yield cluster.url
    finally:
        cluster.stop()


@contextlib.contextmanager
def database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server: its URL; dropped on exit, even with clients still on it."""
    # Worker and pid: unique among xdist workers and among test runs sharing one server.
    name = f"sbx_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}_{next(_names)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlsplit(server_url)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
