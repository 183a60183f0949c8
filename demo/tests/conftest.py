"""Fixtures: a server to run against, a fresh database per test, the API
under TestClient, and worker and API processes.

The tests start the ferrokey binary named by FERROKEY_BIN (default
target/release/ferrokey in the repository) on a free port, unless VALKEY_URL
is set, in which case they use that server instead. Either way, every test
begins with FLUSHDB on the server's database: never point VALKEY_URL at a
database whose contents matter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import valkey
from fastapi.testclient import TestClient

from app import valkey_client
from app.config import get_settings
from app.main import create_app

from .helpers import free_port, stop_process, wait_for

DEMO_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = DEMO_DIR.parent

# settings every test starts from; tests change them with the `configure` fixture
BASE_ENV = {
    "CACHE_TTL": "300",
    "SESSION_TTL": "3600",
    # high enough that only the rate-limit tests are ever throttled
    "RATE_LIMIT": "10000",
    "RATE_WINDOW": "60",
    "VISIBILITY_TIMEOUT": "30",
    "MAX_ATTEMPTS": "3",
    "TASK_RESULT_TTL": "600",
}


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """The URL of the server under test, started here unless VALKEY_URL is set."""
    url = os.environ.get("VALKEY_URL")
    if url:
        try:
            with valkey.Valkey.from_url(url, socket_connect_timeout=5) as client:
                client.ping()
        except valkey.ValkeyError as exc:
            pytest.exit(f"VALKEY_URL={url} does not answer PING: {exc}", 2)
        yield url
        return
    binary = Path(os.environ.get("FERROKEY_BIN", REPO_ROOT / "target/release/ferrokey"))
    if not binary.is_absolute():
        binary = REPO_ROOT / binary
    if not binary.exists():
        pytest.exit(f"{binary} not found: build it or set FERROKEY_BIN or VALKEY_URL", 2)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="ferrokey-demo-") as workdir:
        log_path = Path(workdir) / "server.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [str(binary), "--port", str(port), "--save", "", "--appendonly", "no"],
                cwd=workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        url = f"valkey://127.0.0.1:{port}/0"
        client = valkey.Valkey.from_url(url)

        def answers() -> bool:
            if proc.poll() is not None:
                raise AssertionError(
                    f"{binary} exited with status {proc.returncode}:\n{log_path.read_text()}"
                )
            try:
                return bool(client.ping())
            except valkey.ConnectionError:
                return False

        try:
            wait_for(answers, timeout=15, interval=0.05)
            yield url
        finally:
            client.close()
            stop_process(proc)


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Change settings for the rest of the test: ``configure(RATE_LIMIT=5)``."""

    def apply(**values: Any) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, str(value))
        get_settings.cache_clear()

    return apply


@pytest.fixture(autouse=True)
def environment(server_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the app at the server and a new database, with the base settings.

    The environment, not only the in-process settings, is changed, so the
    worker and API processes that tests start inherit the same configuration.
    """
    monkeypatch.setenv("VALKEY_URL", server_url)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "users.db"))
    for name, value in BASE_ENV.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    valkey_client.get_client().flushdb()
    yield
    valkey_client.close()
    get_settings.cache_clear()


@pytest.fixture
def db() -> valkey.Valkey:
    """A client for looking at the server directly."""
    return valkey_client.get_client()


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


class Users:
    """Registers users and logs them in through the API."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def register(self, username: str, password: str = "correct horse", **fields: str) -> None:
        body = {"username": username, "password": password, "name": username.title()}
        body["email"] = f"{username}@example.com"
        body.update(fields)
        response = self.client.post("/users", json=body)
        assert response.status_code == 201, response.text

    def login(self, username: str, password: str = "correct horse") -> dict[str, str]:
        """Log in and return the Authorization header of the new session."""
        response = self.client.post("/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    def signup(self, username: str) -> dict[str, str]:
        self.register(username)
        return self.login(username)


@pytest.fixture
def users(client: TestClient) -> Users:
    return Users(client)


@pytest.fixture
def spawn() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start a process of the demo (worker or API) with the test's environment;
    whatever is still running at the end of the test is stopped."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, *args], cwd=DEMO_DIR, env=dict(os.environ, LOG_LEVEL="WARNING")
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        stop_process(proc)


@pytest.fixture
def start_worker(
    spawn: Callable[..., subprocess.Popen[bytes]],
) -> Callable[[], subprocess.Popen[bytes]]:
    return lambda: spawn("-m", "app.worker")
