"""Requests to outside systems (monitoring, alert channels): one small client with a
timeout, that never raises for an HTTP status and says plainly what went wrong otherwise.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

USER_AGENT = "gonogo/0.1"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A 3xx is an answer, never followed: urllib would carry the Authorization header
    (a token) to whatever host the Location names."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


class OutboundError(Exception):
    """No HTTP answer at all: refused, timed out, bad address. `code` is `timeout` or
    `unreachable`; the message says what happened, for a delivery log or a board."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not."""
        return json.loads(self.body.decode("utf-8"))

    def text(self, limit: int = 300) -> str:
        return self.body[:limit].decode("utf-8", "replace").strip()


def http_request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    json_body: Any = None,
    timeout: float = 10.0,
) -> Answer:
    """Send one request; every HTTP status is an `Answer` (a redirect too: it is not
    followed), no answer an `OutboundError`."""
    if not url.lower().startswith(("http://", "https://")):
        # Never the address itself: a webhook URL is a secret.
        raise OutboundError("unreachable", "the address is not an http or https URL")
    sent_headers = {"User-Agent": USER_AGENT, **(headers or {})}
    if json_body is not None:
        body = json.dumps(json_body, separators=(",", ":"), ensure_ascii=False).encode()
        sent_headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=body, headers=sent_headers, method=method)  # noqa: S310 (checked above)
    started = time.monotonic()
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            data = response.read()
            status, answer_headers = response.status, dict(response.headers.items())
    except urllib.error.HTTPError as exc:
        data = exc.read() if exc.fp else b""
        status, answer_headers = exc.code, dict(exc.headers.items()) if exc.headers else {}
    except TimeoutError as exc:
        raise OutboundError("timeout", f"no answer within {timeout:g} s") from exc
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            raise OutboundError("timeout", f"no answer within {timeout:g} s") from exc
        raise OutboundError("unreachable", f"could not connect: {reason}") from exc
    except (OSError, ValueError) as exc:
        raise OutboundError("unreachable", f"could not connect: {exc}") from exc
    return Answer(
        status=status,
        body=data,
        headers={k.lower(): v for k, v in answer_headers.items()},
        duration_ms=int((time.monotonic() - started) * 1000),
    )
