"""The two commands: `gonogo report` sends one gate result, `gonogo verdict` asks whether
a release may ship."""

from __future__ import annotations

import argparse
import sys
import time
import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gonogo_cli.client import Client, Json, Reply, env_seconds, print_problem, text_of
from gonogo_cli.errors import EXIT_OK, EXIT_PENDING, EXIT_REFUSED, EXIT_USAGE, CliError, Unreachable
from gonogo_cli.junit import junit_tally

DEFAULT_POLL_INTERVAL = 5.0


def default_run_id(environ: Mapping[str, str]) -> str:
    """A run id from the CI's own variables, so a retried step is a harmless duplicate:
    GitHub Actions `github-<GITHUB_RUN_ID>-<GITHUB_RUN_ATTEMPT>`, GitLab CI
    `gitlab-<CI_JOB_ID>`, Jenkins `<BUILD_TAG>`; elsewhere one id for this invocation, so
    the command's own retries never record a result twice."""
    if run := environ.get("GITHUB_RUN_ID", "").strip():
        return f"github-{run}-{environ.get('GITHUB_RUN_ATTEMPT', '').strip() or '1'}"
    if job := environ.get("CI_JOB_ID", "").strip():
        return f"gitlab-{job}"
    return environ.get("BUILD_TAG", "").strip() or f"cli-{uuid.uuid4().hex}"


def _option(args: argparse.Namespace, name: str) -> str | None:
    value: object = getattr(args, name, None)
    return value if isinstance(value, str) else None


def _required(args: argparse.Namespace, name: str) -> str:
    value = _option(args, name)
    if value is None:  # argparse already insists; this keeps the types honest
        raise CliError(f"--{name.replace('_', '-')} is required.")
    return value


def report(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """`gonogo report`: send one gate result."""
    gate = _required(args, "gate")
    junit = _option(args, "junit")
    summary = _option(args, "summary")
    client = Client.from_env(environ)
    if junit is not None:
        tally = junit_tally(Path(junit))
        status = tally.status
        if summary is None:
            summary = tally.summary()
        print(f"{junit}: {tally.summary()} → {status}")
    else:
        status = _required(args, "status")

    payload: Json = {
        "product": _required(args, "product"),
        "version": _required(args, "version"),
        "gate": gate,
        "status": status,
    }
    run_id = _option(args, "run_id")
    if run_id is None:
        run_id = default_run_id(environ)
    optional = {
        "build": _option(args, "build"),
        "commit": _option(args, "commit"),
        "run_id": run_id,
        "url": _option(args, "url"),
        "summary": summary,
        "finished_at": _option(args, "finished_at"),
    }
    payload.update({key: value for key, value in optional.items() if value})

    reply = client.call("POST", "/api/v1/results", payload)
    if reply.status >= 400:
        print_problem(reply)
        return EXIT_REFUSED
    body = reply.body
    if body is None or not isinstance(body.get("duplicate"), bool):
        # A 2xx that is not our answer (a proxy's or login page): nothing is known to be recorded.
        print(
            f"gonogo: the server answered {reply.status} without a result; is GONOGO_URL the Go/No-Go server?",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if body.get("duplicate") is True:
        print(f"duplicate: nothing changed ({gate} → {status} was already recorded for this run)")
    else:
        gate_status = text_of(body.get("gate_status"))
        print(f"accepted: {gate} → {status}" + (f" (gate now {gate_status})" if gate_status else ""))
    return EXIT_OK


@dataclass(frozen=True)
class Blocker:
    message: str
    url: str


@dataclass(frozen=True)
class Verdict:
    decision: str
    ready: bool
    blockers: tuple[Blocker, ...]
    decided_by: str
    decided_at: str
    reason: str

    @classmethod
    def from_reply(cls, reply: Reply, base_url: str) -> Verdict:
        body = reply.body
        decision = text_of(body.get("decision")) if body else ""
        if body is None or decision not in ("go", "no_go", "pending"):
            raise CliError(f"the server's verdict is not one this tool understands: {reply.text[:300]!r}")
        blockers: list[Blocker] = []
        raw = body.get("blockers")
        items: list[object] = raw if isinstance(raw, list) else []
        for item in items:
            if isinstance(item, dict):
                url = text_of(item.get("url"))
                if url.startswith("/"):
                    url = base_url + url  # a link the reader can open from the CI log
                message = text_of(item.get("message")) or text_of(item.get("code")) or "(no reason given)"
                blockers.append(Blocker(message=message, url=url))
        return cls(
            decision=decision,
            ready=body.get("ready") is True,
            blockers=tuple(blockers),
            decided_by=text_of(body.get("decided_by")),
            decided_at=text_of(body.get("decided_at")),
            reason=text_of(body.get("reason")) or text_of(body.get("rationale")),
        )

    def called(self) -> str:
        parts = [
            f"by {self.decided_by}" if self.decided_by else "",
            f"at {self.decided_at}" if self.decided_at else "",
        ]
        said = " ".join(part for part in parts if part)
        return f" (called {said})" if said else ""

    def blocker_lines(self) -> list[str]:
        return [f"- {b.message} ({b.url})" if b.url else f"- {b.message}" for b in self.blockers]


def _settle(verdict: Verdict, release: str) -> int:
    """Print what a pending verdict means when no more waiting is allowed."""
    if not verdict.ready:
        count = len(verdict.blockers)
        if count:
            print(f"blocked: {release} has {count} blocker{'s' if count != 1 else ''}:")
            for line in verdict.blocker_lines():
                print(line)
        else:
            print(f"blocked: {release} is not ready (the server gave no reasons)")
        return EXIT_REFUSED
    print(f"still pending: {release} is ready, waiting for the PM/PO's call")
    return EXIT_PENDING


def verdict(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """`gonogo verdict`: Go → 0; No-Go or blocked → 1; still pending → 3."""
    product = _required(args, "product")
    version = _required(args, "version")
    wait_arg: object = getattr(args, "wait", 0.0)
    wait = wait_arg if isinstance(wait_arg, float) else 0.0
    release = f"{product} {version}"
    interval = env_seconds(environ, "GONOGO_POLL_INTERVAL", DEFAULT_POLL_INTERVAL, zero=False)
    client = Client.from_env(environ)
    path = "/api/v1/releases/{}/{}/verdict".format(
        urllib.parse.quote(product, safe=""), urllib.parse.quote(version, safe="")
    )
    deadline = time.monotonic() + wait
    if wait > 0:
        print(f"waiting up to {wait:g} s for the call on {release}", file=sys.stderr)
    answered = False
    last_state = ""
    while True:
        try:
            reply = client.call("GET", path)
        except Unreachable as error:
            remaining = deadline - time.monotonic()
            # A wrong address fails at once; a server that goes away mid-wait may come back.
            if not answered or remaining <= 0:
                raise
            print(f"gonogo: {error.message}; still waiting", file=sys.stderr)
            time.sleep(min(interval, remaining))
            continue
        answered = True
        if reply.status >= 400:
            print_problem(reply)
            return EXIT_REFUSED
        current = Verdict.from_reply(reply, client.base_url)
        if current.decision == "go":
            print(f"Go: {release}{current.called()}")
            return EXIT_OK
        if current.decision == "no_go":
            print(f"No-Go: {release}{current.called()}")
            if current.reason:
                print(f"reason: {current.reason}")
            for line in current.blocker_lines():
                print(line)
            return EXIT_REFUSED
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return _settle(current, release)
        state = "ready, waiting for the call" if current.ready else f"blocked ({len(current.blockers)})"
        if state != last_state:  # say it when it changes, not at every poll
            print(f"pending: {release} {state}; asking again every {interval:g} s", file=sys.stderr)
            last_state = state
        time.sleep(min(interval, remaining))
