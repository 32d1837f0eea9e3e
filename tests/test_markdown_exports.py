"""The Markdown exports (regression report, Go/No-Go meeting minutes, weekly review
minutes) write user text so that a viewer rendering Markdown, HTML included, shows the
text and not markup: hostile titles, notes and names change no structure of the
rendered document, run no script and make no link.

Each export is rendered twice, once with hostile text in every user field it shows and
once with the same text made harmless (punctuation replaced by letters, line breaks
kept): the rendered HTML must have exactly the same tags.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from markdown_it import MarkdownIt

from accounts.models import Role
from board.decisions import signoff_record
from checklists.models import ChecklistItem, Defect
from core.markdown import md_block, md_inline, md_link, md_url
from gates.models import Gate, Waiver
from gates.services import gate_result_record
from operations.models import OnCallContact
from releases.models import Meeting, Product, Release
from reviews.models import ActionItem, WeeklyReview

from .test_views import full_world

HOSTILE = (
    "<script>alert(1)</script> [x](javascript:alert(1)) | a | b |\n"
    "# heading\n"
    "- item\n"
    "> quote\n"
    "```\n"
    "1. one\n"
    "---\n"
    "    indented code\n"
    "![i](http://evil.example/i.png) **bold** _em_ `code` ~~gone~~ &amp; <b>b</b> <!-- c -->"
)
BENIGN = re.sub(r"[^\w\s]", "x", HOSTILE)
VIEWER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def rendered(markdown: str) -> str:
    return VIEWER.render(markdown)


def tags(markdown: str) -> list[str]:
    return re.findall(r"<(/?[a-z0-9]+)", rendered(markdown))


def assert_text_not_markup(hostile: str, benign: str) -> None:
    out = rendered(hostile)
    assert tags(hostile) == tags(benign), (hostile, out)
    assert "<script" not in out and "javascript:" not in out.replace("javascript:alert(1)", "")
    assert "<img" not in out and "<b>" not in out and "<!--" not in out
    assert "<script>alert(1)</script>" in html.unescape(out)  # shown, as text


# --- The helper ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["# heading", "- item", "+ item", "* item", "> quote", "1. one", "2) two", "---", "===", "```", "~~~",
     "    code", "<div>", "| a | b |", "[x](javascript:alert(1))", "![i](http://x/i.png)", "&lt;", "a\\"],
)  # fmt: skip
def test_a_line_of_notes_opens_no_block_and_shows_as_written(text: str) -> None:
    out = rendered(f"Before\n\n{md_block(text)}\n")
    assert re.findall(r"<(/?[a-z0-9]+)", out) == ["p", "/p", "p", "/p"], out
    shown = html.unescape(re.sub(r"<[^>]+>", "", out.split("</p>", 1)[1])).strip()
    assert shown == text.strip()


def test_inline_text_stays_in_its_table_cell_and_line() -> None:
    cell = md_inline("a | b\nc\r\nd\u2028e")
    assert "\n" not in cell and "\r" not in cell
    out = rendered(f"| h | i |\n| --- | --- |\n| {cell} | z |\n")
    assert out.count("<td>") == 2 and "a | b c d e" in html.unescape(out)


def test_notes_keep_their_lines_and_a_quote_stays_a_quote() -> None:
    quote = md_block("first\n# second\n\nthird", prefix="> ")
    out = rendered(quote)
    assert re.findall(r"<(/?[a-z0-9]+)", out) == ["blockquote", "p", "br", "/p", "p", "/p", "/blockquote"]
    assert "# second" in out


def test_only_http_links_are_links() -> None:
    assert md_url("javascript:alert(1)") == "" and md_url("data:text/html,x") == ""
    assert md_url("https://ci.example/run/1?a=(b)") == "https://ci.example/run/1?a=%28b%29"
    out = rendered(md_link("evidence", "https://ci.example/a_(b)"))
    assert 'href="https://ci.example/a_%28b%29"' in out
    out = rendered(md_link("evidence", "javascript:alert(1)"))
    assert "<a" not in out and "javascript:alert(1)" in html.unescape(out)


# --- The three exports -----------------------------------------------------------------


def fill(world: Any, text: str) -> None:
    """Put `text` into every user field the three exports show."""
    line = " ".join(text.split())
    release = world.release
    Release.objects.filter(pk=release.pk).update(branch=line[:255])
    Product.objects.filter(pk=world.product.pk).update(name=line[:100])
    Gate.objects.filter(pk=world.gates[0].pk).update(name=line[:100])
    fill.n = getattr(fill, "n", 0) + 1  # type: ignore[attr-defined]
    gate_result_record(  # results are append-only: a newer one
        release=release,
        gate=world.gates[0],
        status="failed",
        run_id=f"fill-{fill.n}",
        summary=line[:500],  # type: ignore[attr-defined]
    )
    Waiver.objects.filter(release=release).update(reason=text, risk=text, mitigation=text)
    ChecklistItem.objects.filter(checklist__release=release).update(
        title=line[:255], section=line[:150], note=text
    )
    Defect.objects.filter(release=release).update(title=line[:255])
    OnCallContact.objects.filter(product=world.product).update(name=line[:100], contact=line[:200])
    signoff_record(release=release, role=Role.QA, vote="go", comment=text, actor=world.qa)
    Meeting.objects.filter(release=release).update(notes=text, attendees=[line, "pm"])
    ActionItem.objects.update(title=line[:255])
    WeeklyReview.objects.update(notes={q: text for q in ("q1", "q2", "q3", "q4")}, attendees=[line])
    get_user_model().objects.filter(pk=world.qa.pk).update(username=line[:150])


@pytest.fixture
def export_world(make_user: Any) -> Any:
    from checklists.services import checklist_item_tick
    from gates.services import waiver_approve
    from reviews.services import weekly_review_save

    world = full_world(make_user)
    item = ChecklistItem.objects.filter(checklist__release=world.release).first()
    assert item is not None
    checklist_item_tick(
        item=item, state="failed", actor=world.qa, note="n", evidence_url="https://ci.example/e"
    )
    Defect.objects.filter(pk=world.defect.pk).update(tracker_url="https://tracker.example/D-(1)")
    signoff_record(release=world.release, role=Role.QA, vote="go", comment="c", actor=world.qa)
    other_pm = make_user(Role.PM, product=world.product)
    waiver_approve(waiver=world.waiver, actor=other_pm)
    now = timezone.localtime()
    world.year, world.week, _day = now.isocalendar()
    weekly_review_save(
        year=world.year, week=world.week, actor=world.pm, attendees=[world.pm.username], notes={"q1": "n"}
    )
    ActionItem.objects.create(
        title="a",
        created_by=world.pm,
        created_at=now,
        product=world.product,
        due_on=now.date() + timedelta(days=2),
    )
    world.client = Client()
    world.client.force_login(make_user(*Role.values))
    return world


def export(world: Any, name: str) -> str:
    kwargs = {"product": world.product.slug, "version": world.release.version}
    if name == "checklists:report":
        kwargs["fmt"] = "md"
    if name == "reviews:minutes":
        kwargs = {"year": world.year, "week": world.week}
    response = world.client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/markdown")
    return response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["checklists:report", "board:meeting_minutes", "reviews:minutes"])
def test_export_shows_hostile_user_text_as_text(export_world: Any, name: str) -> None:
    fill(export_world, BENIGN)
    benign = export(export_world, name)
    fill(export_world, HOSTILE)
    hostile = export(export_world, name)
    assert "xscriptxalertx1xxxscriptx" in benign  # the fields are really in the export
    assert_text_not_markup(hostile, benign)
