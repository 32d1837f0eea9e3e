"""Talking to the API: requests with the bearer token, retries, and problem documents
(RFC 9457) printed in plain lines."""

from __future__ import annotations

import email.utils
import http
import http.client
import json
import re
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

from gonogo_cli.errors import CliError, Unreachable

USER_AGENT = "gonogo-cli/1"
REQUEST_TIMEOUT = 30.0
ATTEMPTS = 4  # one try and three retries
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_AFTER_CAP = 30.0
DEFAULT_RETRY_BACKOFF = 1.0
MAX_REPLY_BYTES = 1 << 20

Json = dict[str, object]


@dataclass(frozen=True)
class Reply:
    status: int
    body: Json | None  # the JSON object, when the reply was one
    text: str


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect would drop the body of a POST (or send the token elsewhere): report it.
    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: object,
        code: int,
        msg: str,
        headers: object,
        newurl: str,
    ) -> None:
        return None


def env_seconds(environ: Mapping[str, str], name: str, default: float, *, zero: bool = True) -> float:
    """Seconds from the environment variable `name`; `default` when it is unset or empty."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise CliError(f"{name} must be a number of seconds, not {raw!r}.") from None
    if not (value >= 0 if zero else value > 0) or value == float("inf"):  # NaN fails both
        raise CliError(f"{name} must be {'zero or more' if zero else 'more than zero'} seconds, not {raw!r}.")
    return value


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), RETRY_AFTER_CAP)
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return min(max(email.utils.mktime_tz(parsed) - time.time(), 0.0), RETRY_AFTER_CAP)


def _decode(raw: bytes) -> tuple[Json | None, str]:
    text = raw.decode("utf-8", errors="replace")
    try:
        parsed: object = json.loads(text)
    except ValueError:
        return None, text
    return (parsed if isinstance(parsed, dict) else None), text


@dataclass(frozen=True)
class Client:
    """Talks to the API with the bearer token; retries what is worth retrying."""

    base_url: str
    token: str
    backoff: float = DEFAULT_RETRY_BACKOFF
    timeout: float = REQUEST_TIMEOUT

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Client:
        base_url = environ.get("GONOGO_URL", "").strip().rstrip("/")
        token = environ.get("GONOGO_TOKEN", "").strip()
        if not base_url:
            raise CliError(
                "GONOGO_URL is not set: set it to the server's address, e.g. https://gonogo.example.com"
            )
        if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
            raise CliError(f"GONOGO_URL must start with http:// or https:// (it is {base_url!r}).")
        if not token:
            raise CliError(
                "GONOGO_TOKEN is not set: issue one with "
                "`python manage.py issue_token NAME --product SLUG --scope results,verdict`."
            )
        backoff = env_seconds(environ, "GONOGO_RETRY_BACKOFF", DEFAULT_RETRY_BACKOFF)
        return cls(base_url=base_url, token=token, backoff=backoff)

    def call(self, method: str, path: str, payload: Json | None = None) -> Reply:
        """Send one request and return the server's 2xx or 4xx reply. Connection errors,
        timeouts, 5xx and 429 are retried with a growing pause (Retry-After honoured, up
        to a cap); when they persist, raises `Unreachable`. A redirect raises `CliError`."""
        url = self.base_url + path
        data = None if payload is None else json.dumps(payload).encode()
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json, application/problem+json",
            "User-Agent": USER_AGENT,
        }
        if data is not None:
            headers["Content-Type"] = "application/json"
        opener = urllib.request.build_opener(_NoRedirect)
        problem = ""
        for attempt in range(1, ATTEMPTS + 1):
            pause = self.backoff * 2.0 ** (attempt - 1)
            request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 (scheme checked in from_env)
            try:
                response: http.client.HTTPResponse = opener.open(request, timeout=self.timeout)
                with response:
                    body, text = _decode(response.read(MAX_REPLY_BYTES))
                    return Reply(status=response.status, body=body, text=text)
            except urllib.error.HTTPError as error:
                try:
                    body, text = _decode(error.read(MAX_REPLY_BYTES))
                finally:
                    error.close()
                reply = Reply(status=error.code, body=body, text=text)
                if 300 <= error.code < 400:
                    location = error.headers.get("Location", "?")
                    raise CliError(
                        f"{method} {url} was redirected ({error.code}) to {location}: "
                        "set GONOGO_URL to the server's final address."
                    ) from None
                if error.code not in RETRY_STATUSES:
                    return reply
                problem = f"the server answered {_status_words(error.code)}"
                detail = _problem_text(reply)
                if detail:
                    problem += f": {detail}"
                asked = _retry_after(error.headers.get("Retry-After"))
                if asked is not None:
                    pause = asked
            except urllib.error.URLError as error:
                problem = f"could not reach {self.base_url}: {error.reason}"
                if isinstance(error.reason, ssl.SSLError):
                    break  # a certificate problem does not fix itself
            except (http.client.HTTPException, OSError) as error:  # timeouts, resets, bad replies
                problem = f"could not reach {self.base_url}: {error or type(error).__name__}"
            if attempt < ATTEMPTS:
                print(f"gonogo: {problem}; retrying in {pause:g} s", file=sys.stderr)
                time.sleep(pause)
        raise Unreachable(problem)


def _status_words(status: int) -> str:
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def text_of(value: object) -> str:
    """A JSON value as one line of text: a string stripped, a number, a person's name."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return ""
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        for key in ("display_name", "name", "username"):
            if isinstance(value.get(key), str):
                return str(value[key]).strip()
    return ""


def _problem_text(reply: Reply) -> str:
    if reply.body is None:
        text = " ".join(reply.text.split())
        return "" if text.startswith("<") else text[:200]  # a proxy's HTML page says nothing useful
    return text_of(reply.body.get("detail")) or text_of(reply.body.get("title"))


def _problem_code(type_uri: str) -> str:
    if not type_uri or type_uri == "about:blank":
        return ""
    return re.split(r"[/#:]", type_uri.rstrip("/"))[-1]


HINTS = {
    401: "Check GONOGO_TOKEN: it is missing, mistyped or revoked.",
    403: "The token belongs to another product, or lacks the scope this needs "
    "(results for `report`, verdict for `verdict`).",
    413: "The request body is over 1 MiB.",
}


def _problem_lines(reply: Reply) -> list[str]:
    """An RFC 9457 problem in plain lines: title, detail, each field error, a hint."""
    body = reply.body
    if body is None:
        text = _problem_text(reply)
        lines = [f"refused ({_status_words(reply.status)})" + (f": {text}" if text else "")]
    else:
        title = text_of(body.get("title")) or _status_words(reply.status).split(" ", 1)[-1]
        code = text_of(body.get("code")) or _problem_code(text_of(body.get("type")))
        lines = [f"refused ({reply.status}): {title}" + (f" [{code}]" if code else "")]
        detail = text_of(body.get("detail"))
        if detail and detail != title:
            lines.append(detail)
        errors = body.get("errors")
        if isinstance(errors, list):
            for item in errors:
                if isinstance(item, dict):
                    field, message = text_of(item.get("field")), text_of(item.get("message"))
                    lines.append(f"  {field or '(request)'}: {message}")
    if reply.status in HINTS:
        lines.append(HINTS[reply.status])
    return lines


def print_problem(reply: Reply) -> None:
    """Print a refusal to stderr, one `gonogo: ` line each."""
    for line in _problem_lines(reply):
        print(f"gonogo: {line}", file=sys.stderr)
