"""Browser tests: Playwright driving the system Chromium against the live server."""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest

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


def screenshot(page: Any, name: str) -> None:
    """Save a full-page screenshot when GONOGO_SCREENSHOTS names a folder."""
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)
