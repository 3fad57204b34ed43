"""What every benchmark shares: fresh databases, the migrated app, a real server, the machine.

Nothing here imports ``tests/``: the benchmark builds its own app the way the test harness does
(``create_app`` on a database URL, then the Alembic migrations), and talks to ``fieldsync serve``
(gunicorn) over HTTP like a phone.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import requests
from flask import Flask
from flask_migrate import upgrade

from fieldsync import create_app

BIN = Path(sys.executable).parent
ADMIN_POSTGRES_URL = os.environ.get(
    "FIELDSYNC_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
PASSWORD = "bench password 0123456789"

# The server and the in-process setup must agree on these (tokens, password hashes).
BENCH_SETTINGS: dict[str, Any] = {
    "SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
    # Cheap hashing: logins are not what is measured.
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_COST": 1024,
    "ARGON2_PARALLELISM": 1,
    "LOG_LEVEL": "WARNING",
    "LOGIN_LIMIT_PER_ACCOUNT": "1000 per minute",
    "LOGIN_LIMIT_PER_IP": "1000 per minute",
}


# --- databases and the app -------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(kind: str) -> Iterator[str]:
    """A new, empty database of ``kind`` (``sqlite`` or ``postgresql``), dropped afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="fieldsync_bench_") as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    if kind != "postgresql":
        raise ValueError(f"unknown database kind {kind!r}")
    name = f"fieldsync_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{ADMIN_POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(ADMIN_POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_app(database_url: str) -> Flask:
    """The app on ``database_url`` with the schema built by the migrations."""
    app = create_app({**BENCH_SETTINGS, "DATABASE_URL": database_url})
    with app.app_context():
        upgrade()
    return app


# --- the server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _status_kb(pid: int, key: str) -> int:
    """A ``/proc/<pid>/status`` memory line (``VmHWM``: peak RSS, ``VmRSS``: now), in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


@dataclass
class Server:
    """``fieldsync serve`` (gunicorn, gthread workers) on a free local port."""

    database_url: str
    workers: int = 2
    threads: int = 2
    process: subprocess.Popen[bytes] | None = None
    base: str = ""
    log_path: Path | None = None

    def __enter__(self) -> Server:
        port = free_port()
        env = {
            **os.environ,
            **{f"FIELDSYNC_{k}": str(v) for k, v in BENCH_SETTINGS.items()},
            "FIELDSYNC_DATABASE_URL": self.database_url,
        }
        handle, name = tempfile.mkstemp(prefix="fieldsync_bench_server_", suffix=".log")
        self.log_path = Path(name)
        self.process = subprocess.Popen(
            [
                str(BIN / "fieldsync"),
                "serve",
                "--port",
                str(port),
                "--workers",
                str(self.workers),
                "--threads",
                str(self.threads),
            ],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        os.close(handle)
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    break
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start in 60 s:\n{self.log()}")
            time.sleep(0.2)
        # Every worker up (gunicorn forks them after binding).
        while len(self.worker_pids()) < self.workers and time.monotonic() < deadline:
            time.sleep(0.1)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        return _children(self.process.pid)

    def peak_rss_mb(self) -> float:
        """Highest peak resident set size (VmHWM) of any worker, in MB."""
        return max((_status_kb(pid, "VmHWM") for pid in self.worker_pids()), default=0) / 1024

    def cpu_seconds(self) -> float:
        """User and system CPU time the workers have used so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.worker_pids():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks

    def rss_mb(self) -> float:
        return max((_status_kb(pid, "VmRSS") for pid in self.worker_pids()), default=0) / 1024

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)


# --- the phone -------------------------------------------------------------------------------


@dataclass
class Phone:
    """A device session over HTTP; responses gzip-compressed (``requests`` asks for it)."""

    base: str
    email: str
    http: requests.Session = field(default_factory=requests.Session)
    token: str = ""
    cursor: str | None = None
    store: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    wire_bytes: int = 0  # compressed response bytes of the pulls

    def login(self) -> Phone:
        response = self.http.post(
            f"{self.base}/api/v1/auth/login",
            json={"email": self.email, "password": PASSWORD, "device_name": "bench"},
            timeout=60,
        )
        response.raise_for_status()
        self.token = response.json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"
        self.http.headers["Accept-Encoding"] = "gzip"
        return self

    def push(
        self, mutations: list[dict[str, Any]], changeset_id: str | None = None
    ) -> dict[str, Any]:
        body = {
            "changeset_id": changeset_id or str(uuid.uuid4()),
            "device_time": datetime.now(UTC).isoformat(),
            "mutations": mutations,
        }
        response = self.http.post(f"{self.base}/api/v1/sync/push", json=body, timeout=600)
        if response.status_code != 200:
            raise RuntimeError(f"push answered {response.status_code}: {response.text[:500]}")
        result: dict[str, Any] = response.json()
        return result

    def pull_page(self, limit: int) -> tuple[dict[str, Any], int, str]:
        """One page: (payload, compressed bytes on the wire, Content-Encoding)."""
        params: dict[str, Any] = {"limit": limit}
        if self.cursor:
            params["cursor"] = self.cursor
        response = self.http.get(
            f"{self.base}/api/v1/sync/pull", params=params, timeout=600, stream=True
        )
        raw = response.raw.read(decode_content=False)
        if response.status_code != 200:
            raise RuntimeError(f"pull answered {response.status_code}: {raw[:500]!r}")
        encoding = response.headers.get("Content-Encoding", "identity")
        body = gzip.decompress(raw) if encoding == "gzip" else raw
        page: dict[str, Any] = json.loads(body)
        self.wire_bytes += len(raw)
        self.apply(page)
        self.cursor = page["cursor"]
        return page, len(raw), encoding

    def apply(self, page: dict[str, Any]) -> None:
        for entity, changes in page["changes"].items():
            bucket = self.store.setdefault(entity, {})
            for rid in changes["removed"]:
                bucket.pop(rid, None)
            for record in changes["upserted"]:
                bucket[record["id"]] = record


# --- reporting -------------------------------------------------------------------------------


def reference_cpu_ms() -> float:
    """Milliseconds of CPU a fixed pure-Python workload takes here, best of three.

    This machine is a virtual one whose CPU speed varies from one hour to the next (by up to
    half); the same code then takes longer. Reported next to the figures, so that runs can be
    compared: lower is a faster machine.
    """
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        records = {}
        for i in range(100_000):
            records[f"id-{i}"] = {"name": str(i), "version": i, "tags": [i, i * 2.0]}
        json.dumps(list(records.values()))
        sorted(records, key=lambda key: records[key]["version"] % 97)
        best = min(best, time.process_time() - started)
    return best * 1000


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _command(*args: str) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, check=False, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in _command("lscpu").splitlines()
            if line.startswith("Model name")
        ),
        platform.processor() or "unknown",
    )
    memory_kb = next(
        (
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    postgres = "unavailable"
    with (
        contextlib.suppress(psycopg.Error),
        psycopg.connect(ADMIN_POSTGRES_URL, connect_timeout=3) as conn,
    ):
        row = conn.execute("SHOW server_version").fetchone()
        postgres = str(row[0]) if row else "unknown"
    return {
        "cpus": _command("nproc").strip() or str(os.cpu_count()),
        "cpu": model,
        "memory": f"{memory_kb / 1024 / 1024:.1f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres,
    }


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A Markdown table (also readable on a terminal)."""
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join(
        [line(headers), "| " + " | ".join("-" * w for w in widths) + " |", *map(line, rows)]
    )
