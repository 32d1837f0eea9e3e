"""The docs agree with the product (issue 15 item 10): every picture and file they link
exists, the defaults they give are the settings' own, and they send people to the page
where a thing is actually done."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def test_every_local_link_and_picture_exists() -> None:
    missing = []
    for doc in DOCS:
        for target in LINK.findall(doc.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue
            path = target.split("#", 1)[0]
            if not (doc.parent / path).exists():
                missing.append(f"{doc.relative_to(ROOT)}: {target}")
    assert not missing, missing


def test_every_anchor_to_a_heading_exists() -> None:
    """`running.md#managepy-commands`: GitHub's slug of a heading in that file."""

    def slugs(doc: Path) -> set[str]:
        heads = re.findall(r"^#+ (.+)$", doc.read_text(encoding="utf-8"), re.M)
        return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in heads}

    broken = []
    for doc in DOCS:
        for target in LINK.findall(doc.read_text(encoding="utf-8")):
            if "#" not in target or re.match(r"^[a-z]+:", target):
                continue
            path, anchor = target.split("#", 1)
            linked = (doc.parent / path) if path else doc
            if linked.suffix == ".md" and anchor not in slugs(linked):
                broken.append(f"{doc.relative_to(ROOT)}: {target}")
    assert not broken, broken


def _pool_max(**env: str) -> int:
    code = "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS']['pool']['max_size'])"
    clean = {k: v for k, v in os.environ.items() if k not in ("DB_POOL", "DB_POOL_MAX", "WEB_THREADS")}
    done = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "gonogo.settings",
            "DEBUG": "1",
            "DATABASE_URL": "postgres://u@127.0.0.1:1/none",  # the pool is configured, never opened
            **env,
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.strip())


def test_db_pool_max_has_one_default_the_settings_one() -> None:
    assert _pool_max() == 12 and _pool_max(WEB_THREADS="4") == 8  # WEB_THREADS + 4
    text = (ROOT / "docs" / "running.md").read_text(encoding="utf-8")
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if "DB_POOL_MAX" in p]
    assert len(paragraphs) >= 2
    for paragraph in paragraphs:
        if "default" in paragraph or "|" in paragraph:
            assert "`WEB_THREADS` + 4" in paragraph, paragraph
            assert not re.search(r"default[^.|]*\b(10)\b", paragraph), paragraph


def test_defects_are_said_to_be_resolved_where_the_resolve_button_is() -> None:
    checklists = (ROOT / "docs" / "checklists.md").read_text(encoding="utf-8")
    board = (ROOT / "board" / "templates" / "board" / "board.html").read_text(encoding="utf-8")
    page = (ROOT / "templates" / "checklists" / "checklist.html").read_text(encoding="utf-8")
    assert "checklists:defect_resolve" in page and "checklists:defect_resolve" not in board
    said = " ".join(checklists.split())
    assert "checklist page, where QA or a lead resolves or reopens them" in said
    assert not re.search(r"on the board, and resolved", said)
