"""Fixtures for the `gonogo` CLI tests: a clean environment and the fake API server."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest

from tests.cli.fake_api import CI_VARIABLES, PROXY_VARIABLES, TOKEN, FakeApi, handler_for


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*CI_VARIABLES, *PROXY_VARIABLES, "GONOGO_URL", "GONOGO_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GONOGO_RETRY_BACKOFF", "0.01")
    monkeypatch.setenv("GONOGO_POLL_INTERVAL", "0.05")


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApi]:
    fake = FakeApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(fake))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("GONOGO_URL", fake.url + "/")  # the trailing slash is dropped
    monkeypatch.setenv("GONOGO_TOKEN", TOKEN)
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
