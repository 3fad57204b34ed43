"""The real server: `fieldsync serve` (gunicorn) answering HTTP on a local port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.conftest import PASSWORD, TEST_SETTINGS, World

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_fieldsync_serve_answers_http(database_url: str, world: World) -> None:
    port = _free_port()
    env = {
        **os.environ,
        **{f"FIELDSYNC_{k}": str(v) for k, v in TEST_SETTINGS.items()},
        "FIELDSYNC_DATABASE_URL": database_url,
    }
    server = subprocess.Popen(
        [str(BIN / "fieldsync"), "serve", "--port", str(port), "--workers", "1"],
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
    finally:
        server.terminate()
        server.wait(timeout=20)
        if server.stdout:
            server.stdout.close()
