"""A CI provider played by a local HTTP server: replies queued per path (per page with
PagedCI), every request kept, ETags and 304s as GitHub and GitLab send them."""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


class CI:
    """Replies queued per path (the last one repeats); every request is kept. Like GitHub
    and GitLab, a 200 carries an ETag of its body and a matching If-None-Match gets 304."""

    def __init__(self, *, etags: bool = True) -> None:
        self.etags = etags
        self.replies: dict[str, list[Reply]] = {}
        self.seen: list[Seen] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def reply(self, path: str, *replies: Reply) -> None:
        self.replies[path] = list(replies)

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]

    def close(self) -> None:
        if not self.thread.is_alive():
            return
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def _answer(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        self.seen.append(seen)
        queue = self.replies.get(seen.path)
        if not queue:
            return 404, {"Content-Type": "application/json"}, b'{"message": "Not Found"}'
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        body = json.dumps(reply.body).encode() if reply.body is not None else b""
        headers = {"Content-Type": "application/json; charset=utf-8", **reply.headers}
        if self.etags and reply.status == 200:
            headers["ETag"] = f'W/"{hashlib.sha256(body).hexdigest()[:32]}"'
            if seen.headers.get("if-none-match") == headers["ETag"]:
                return 304, {"ETag": headers["ETag"]}, b""
        return reply.status, headers, body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        ci = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                seen = Seen(
                    parts.path, parse_qs(parts.query), {k.lower(): v for k, v in self.headers.items()}
                )
                status, headers, body = ci._answer(seen)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


class PagedCI(CI):
    """Like CI, but a reply may be queued for one page: `reply(path + "?page=2", …)`."""

    def _answer(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        page = seen.query.get("page", ["1"])[0]
        paged = f"{seen.path}?page={page}"
        if paged in self.replies:
            original = seen.path
            seen.path = paged
            try:
                return super()._answer(seen)
            finally:
                seen.path = original
        return super()._answer(seen)
