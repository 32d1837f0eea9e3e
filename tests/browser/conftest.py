"""Browser tests: Playwright driving the system Chromium against the app served over
ASGI by uvicorn in a background thread (the same application object as production), so
Server-Sent Events stream as they do for users."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from ..conftest import service_missing

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
CHROMIUM = os.environ.get("GONOGO_CHROMIUM", "/usr/bin/chromium")
SHOTS = os.environ.get("GONOGO_SCREENSHOTS", "")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not shutil.which(CHROMIUM):
        service_missing(f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def asgi_server(transactional_db: Any, settings: Any) -> Iterator[str]:
    """The ASGI app on a free port. Needs PostgreSQL: the server's threads and the test
    share the test database, which an in-memory SQLite database cannot do."""
    if connection.vendor != "postgresql":
        service_missing("needs PostgreSQL for the ASGI browser tests: set DATABASE_URL=postgres://…")
    import uvicorn

    from gonogo.asgi import application

    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    config = uvicorn.Config(application, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    server.force_exit = True
    thread.join(timeout=10)
    # The server's threads kept their own connections; end them so the test database can
    # be flushed and dropped.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def screenshot(page: Any, name: str) -> None:
    """Save a full-page screenshot when GONOGO_SCREENSHOTS names a folder."""
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def log_in(
    browser: Any, base: str, username: str, language: str = "en", width: int = 1280, zone: str | None = None
) -> Any:
    """A new browser context, logged in as `username`, on the dashboard (`zone`: the
    browser's time zone, e.g. "Asia/Seoul"; default the machine's)."""
    context = browser.new_context(
        locale=language,
        extra_http_headers={"Accept-Language": language},
        viewport={"width": width, "height": 900},
        **({"timezone_id": zone} if zone else {}),
    )
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => console.error("
        "'CSP violation', e.violatedDirective, e.sourceFile, e.lineNumber, e.columnNumber, e.sample))"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{base}/accounts/login/?next=/")
    page.fill("#id_username", username)
    page.fill("#id_password", "demo")
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base}/")
    page.console_errors = errors
    return page
