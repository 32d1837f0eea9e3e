"""core.outbound: a redirect is an answer, never followed (urllib would carry the
Authorization header, a provider's token, to whatever host the Location names)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from core.outbound import http_request


@pytest.fixture
def servers() -> Any:
    seen: list[dict[str, str]] = []

    class Elsewhere(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            seen.append({k.lower(): v for k, v in self.headers.items()})
            self.send_response(200)
            self.end_headers()

    other = ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)
    target = f"http://localhost:{other.server_address[1]}/stolen"

    class Redirecting(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_GET

    first = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    for server in (other, first):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{first.server_address[1]}/api", seen
    for server in (other, first):
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_redirect_is_not_followed_and_the_token_stays_home(servers: Any, method: str) -> None:
    url, seen = servers
    answer = http_request(
        method, url, headers={"Authorization": "Bearer SECRET"}, json_body={} if method == "POST" else None
    )
    assert answer.status == 302 and not answer.ok
    assert seen == []
