"""The command line: the argument parser and `main()`, the `gonogo` entry point."""

from __future__ import annotations

import argparse
import io
import os
import sys

from gonogo_cli.commands import report, verdict
from gonogo_cli.errors import EXIT_OK, EXIT_USAGE, CliError

STATUSES = ("pending", "running", "passed", "failed", "error", "skipped")


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not 0 <= seconds < float("inf"):
        raise argparse.ArgumentTypeError("must be zero or more seconds")
    return seconds


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gonogo",
        description="Report CI results to Go/No-Go and ask for a release's verdict. "
        "Reads GONOGO_URL (the server's address) and GONOGO_TOKEN (an API token).",
        epilog="Exit codes: 0 accepted / Go; 1 refused / No-Go / blocked; "
        "2 usage error or server unreachable; 3 still pending when the wait ran out.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    send = commands.add_parser(
        "report",
        help="report one gate's result for a release",
        description="Report one gate's result for a release. Give --status, or --junit to read the "
        "status and summary from a JUnit XML report (any failure or error → failed; nothing run "
        "or all skipped → skipped). Exit 0 accepted (also a duplicate), 1 refused, 2 usage or "
        "unreachable.",
        epilog="Without --run-id, the run id comes from the CI: GitHub Actions "
        "github-$GITHUB_RUN_ID-$GITHUB_RUN_ATTEMPT, GitLab CI gitlab-$CI_JOB_ID, Jenkins $BUILD_TAG. "
        "The same run id and status sent twice is recorded once.",
    )
    send.add_argument("--product", required=True, help="product slug, e.g. ios-app")
    send.add_argument("--version", required=True, help="release version, e.g. 2.4.0")
    send.add_argument("--gate", required=True, help="gate key, e.g. contract or e2e-regression")
    source = send.add_mutually_exclusive_group(required=True)
    source.add_argument("--status", choices=STATUSES, metavar="STATUS", help="the result: %(choices)s")
    source.add_argument(
        "--junit", metavar="FILE.xml", help="take status and summary from this JUnit XML report"
    )
    send.add_argument("--summary", help="one line for the board (overrides the one --junit makes)")
    send.add_argument("--url", help="link to the CI run or its report")
    send.add_argument("--commit", metavar="SHA", help="the commit the result is for")
    send.add_argument("--build", help="the build number")
    send.add_argument("--run-id", metavar="ID", help="the CI run's id (default: from the CI's variables)")
    send.add_argument(
        "--finished-at", metavar="TIME", help="when the run finished, ISO 8601, e.g. 2026-11-27T08:00:00Z"
    )

    ask = commands.add_parser(
        "verdict",
        help="ask whether a release may ship",
        description="Ask for a release's verdict. Exit 0 Go; 1 No-Go or blocked (the blockers are "
        "printed); 3 still pending (ready, but nobody has made the call) when the wait ran out; "
        "2 usage or unreachable.",
        epilog="While waiting, the verdict is asked again every GONOGO_POLL_INTERVAL seconds (default 5).",
    )
    ask.add_argument("--product", required=True, help="product slug, e.g. ios-app")
    ask.add_argument("--version", required=True, help="release version, e.g. 2.4.0")
    ask.add_argument(
        "--wait",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="while the verdict is pending, keep asking for up to this long (default: answer at once)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line `argv` (default: the process's arguments); returns the exit code."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            # A CI log may not be UTF-8 (Windows agents): a stray "→" must not crash the report.
            stream.reconfigure(errors="replace")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, or a usage error argparse already explained
        return stop.code if isinstance(stop.code, int) else (EXIT_OK if stop.code is None else EXIT_USAGE)
    try:
        command: object = getattr(args, "command", None)
        if command == "report":
            return report(args, os.environ)
        return verdict(args, os.environ)
    except CliError as error:
        print(f"gonogo: {error.message}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        print("gonogo: interrupted", file=sys.stderr)
        return 130
