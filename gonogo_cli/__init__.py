"""`gonogo`: the command-line tool for CI pipelines.

Reports a gate's result to Go/No-Go and asks for a release's verdict, over the HTTP API
(`/api/v1/`). It needs only the standard library (Python 3.9 or later), so a pipeline can
run it from a checkout (`python -m gonogo_cli`), from the single file `make cli` builds
(`python3 var/gonogo-cli.pyz`) and from an installed project (`gonogo`).

Modules: `errors` (exit codes, the error that stops a command), `client` (HTTP, retries,
problem documents), `junit` (counting a JUnit XML report), `commands` (`report` and
`verdict`), `main` (the argument parser and `main()`).

Environment:
  GONOGO_URL            base address of the server, e.g. https://gonogo.example.com
  GONOGO_TOKEN          an API token (`python manage.py issue_token`)
  GONOGO_POLL_INTERVAL  seconds between verdict polls while waiting (default 5)
  GONOGO_RETRY_BACKOFF  first pause before a retry, in seconds, doubled each time (default 1)

Exit codes:
  0  report: accepted (a duplicate too); verdict: Go
  1  report: refused by the server (the problem is printed);
     verdict: No-Go, blocked (the blockers are printed) or the release is unknown
  2  usage error, missing configuration, unreadable JUnit file, or the server could not be
     reached (connection error, timeout, 5xx or 429 after retries)
  3  verdict: still pending when the wait ran out (ready, waiting for the PM/PO's call)
"""
