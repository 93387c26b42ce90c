"""Processes for the fault suite: a throwaway PostgreSQL cluster, `lamba serve`, bootstrap and demo data.

Everything listens on 127.0.0.1 only, every wait is bounded, and every process started here is stopped
by its pid when the suite ends.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "Conformance", "common"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_postgres(argv: list[str]) -> list[str]:
    """The cluster's tools run as the postgres user when we are root (initdb refuses root)."""
    if os.getuid() == 0:
        return ["runuser", "-u", "postgres", "--", "env", "-C", "/"] + argv
    return argv


def pg_bindir() -> str:
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=10).stdout.strip()
        if out and os.path.exists(os.path.join(out, "initdb")):
            return out
    except (OSError, subprocess.SubprocessError):
        pass
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found")


class Postgres:
    """A cluster in `directory`, on a fixed port so that it can be stopped and started again."""

    def __init__(self, directory: str):
        self.bin = pg_bindir()
        self.dir = directory
        self.data = os.path.join(directory, "data")
        self.port = free_port()
        os.makedirs(os.path.join(directory, "sock"), exist_ok=True)
        if os.getuid() == 0:
            shutil.chown(directory, "postgres", "postgres")
            shutil.chown(os.path.join(directory, "sock"), "postgres", "postgres")
        subprocess.run(as_postgres([f"{self.bin}/initdb", "-D", self.data, "-U", "lamba", "--auth=trust", "-E", "UTF8",
                                    "--no-locale", "--no-sync"]), check=True, capture_output=True, timeout=120)
        self.start()
        subprocess.run([f"{self.bin}/createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "lamba", "lamba"],
                       check=True, capture_output=True, timeout=60)
        self.url = f"postgres://lamba@127.0.0.1:{self.port}/lamba"

    def start(self) -> None:
        subprocess.run(as_postgres([f"{self.bin}/pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "server.log"), "-w", "-t", "60",
                                    "-o", f"-p {self.port} -k {self.dir}/sock -c listen_addresses=127.0.0.1 -c max_connections=200"
                                          " -c fsync=on", "start"]),
                       check=True, capture_output=True, timeout=90)

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(as_postgres([f"{self.bin}/pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop"]),
                       capture_output=True, timeout=90)

    def psql(self, sql: str) -> list[list[str]]:
        out = subprocess.run([shutil.which("psql") or f"{self.bin}/psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "lamba",
                              "-d", "lamba", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"psql: {out.stderr.strip()}")
        return [line.split("\t") for line in out.stdout.splitlines() if line]

    def close(self) -> None:
        self.stop("fast")


class Store:
    """One database under test: a SQLite file or a PostgreSQL cluster, queried with plain SQL."""

    def __init__(self, kind: str, scratch: str, sqlite_path: str | None = None):
        self.kind = kind
        self.pg: Postgres | None = None
        if kind == "postgres":
            self.pg = Postgres(os.path.join(scratch, "pg"))
            self.url = self.pg.url
        else:
            self.path = sqlite_path or os.path.join(scratch, "lamba.sqlite")
            self.url = "sqlite://" + self.path

    def query(self, sql: str) -> list[list[str]]:
        if self.pg is not None:
            return self.pg.psql(sql)
        import sqlite3
        connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        try:
            return [["" if v is None else str(v) for v in row] for row in connection.execute(sql).fetchall()]
        finally:
            connection.close()

    def integrity_check(self) -> str:
        import sqlite3
        connection = sqlite3.connect(self.path, timeout=30)
        try:
            return ",".join(row[0] for row in connection.execute("PRAGMA integrity_check").fetchall())
        finally:
            connection.close()

    def close(self) -> None:
        if self.pg is not None:
            self.pg.close()


class Server:
    """`lamba serve` on a fixed port of 127.0.0.1 (kept across restarts)."""

    def __init__(self, lamba: str, store: Store, scratch: str, env: dict | None = None, name: str = "lamba"):
        self.lamba = lamba
        self.store = store
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.log_path = os.path.join(scratch, f"{name}-{self.port}.log")
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout: float = 120) -> None:
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([self.lamba, "serve", "--port", str(self.port), "--public-url", self.url,
                                         "--database", self.store.url], stdout=log, stderr=subprocess.STDOUT, env=self.env)
        log.close()
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"lamba serve exited with {self.process.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"lamba serve not healthy after {timeout} s; see {self.log_path}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill9(self) -> None:
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill9()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def rss_kib(self) -> int:
        with open(f"/proc/{self.pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1


def bootstrap(lamba: str, store: Store, env: dict) -> dict:
    out = subprocess.run([lamba, "bootstrap", "--database", store.url, "--email", "owner@demo.lamba.test", "--name", "Demo Owner",
                          "--workspace-slug", "demo", "--workspace-name", "Demo Workspace", "--json"],
                         capture_output=True, text=True, env=env, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"lamba bootstrap failed: {out.stderr.strip()[-500:]}")
    return json.loads(out.stdout)


def demo(lamba: str, store: Store, server: Server, env: dict) -> dict:
    # The harness needs the confidential client's secret, also when the demo data exists already.
    out = subprocess.run([lamba, "demo", "--json", "--rotate-secret", "--database", store.url, "--public-url", server.url],
                         capture_output=True, text=True, env=env, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"lamba demo failed: {out.stderr.strip()[-500:]}")
    return json.loads(out.stdout)
