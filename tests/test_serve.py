"""The real server: `fieldsync serve` (gunicorn) answering HTTP on a local port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
import requests

from tests.conftest import PASSWORD, TEST_SETTINGS, World

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(database_url: str, *options: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``fieldsync serve`` on a free port, until the block ends: (the process, its base URL)."""
    port = _free_port()
    env = {
        **os.environ,
        **{f"FIELDSYNC_{k}": str(v) for k, v in TEST_SETTINGS.items()},
        "FIELDSYNC_DATABASE_URL": database_url,
    }
    server = subprocess.Popen(
        [str(BIN / "fieldsync"), "serve", "--port", str(port), *options],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
            assert time.monotonic() < deadline, "server did not start within 30 s"
            time.sleep(0.2)
        yield server, base
    finally:
        server.terminate()
        server.wait(timeout=20)
        if server.stdout:
            server.stdout.close()


def test_fieldsync_serve_answers_http(database_url: str, world: World) -> None:
    with serving(database_url, "--workers", "1") as (_, base):
        assert "gunicorn" in requests.get(f"{base}/healthz", timeout=5).headers.get("Server", "")
        login = requests.post(
            f"{base}/api/v1/auth/login",
            json={"email": world.manager.email, "password": PASSWORD},
            timeout=10,
        )
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        created = requests.post(
            f"{base}/api/v1/accounts",
            json={"kind": "company", "status": "lead", "name": "Over the wire"},
            headers=headers,
            timeout=10,
        )
        assert created.status_code == 201, created.text
        listed = requests.get(f"{base}/api/v1/accounts", headers=headers, timeout=10)
        assert [a["name"] for a in listed.json()["items"]] == ["Over the wire"]
        assert requests.get(f"{base}/docs", timeout=10).status_code == 200


def _workers(server_pid: int) -> list[int]:
    return [
        int(child)
        for task in Path(f"/proc/{server_pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]


def _connections_held(pid: int, port: int) -> int:
    """Established TCP connections to ``port`` that the process ``pid`` holds open."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    held = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01" and fields[9] in inodes:  # ESTABLISHED
                held += 1
    return held


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")
def test_phones_that_connect_at_once_are_spread_over_the_workers(database_url: str) -> None:
    """A worker takes no more connections than it has threads and keeps none alive: phones
    that connect together cannot all stay with one worker while another idles."""
    with serving(database_url, "--workers", "2", "--threads", "1") as (server, base):
        answer = requests.get(f"{base}/healthz", timeout=10)
        assert answer.headers["Connection"] == "close"  # no connection stays on a worker
        workers = _workers(server.pid)
        deadline = time.monotonic() + 30
        while len(workers) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
            workers = _workers(server.pid)
        assert len(workers) == 2, workers
        port = int(base.rsplit(":", 1)[1])
        # Two phones connect and are slow to send their request: each worker holds one.
        phones = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        try:
            held: list[int] = []
            while time.monotonic() < deadline:
                held = sorted(_connections_held(pid, port) for pid in workers)
                if sum(held) == 2:
                    break
                time.sleep(0.05)
            assert held == [1, 1]
        finally:
            for phone in phones:
                phone.close()
