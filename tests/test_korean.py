"""Korean that reads as Korean (issue 15 item 8): particles chosen for their word, the
weeks and the admin's title translated, the checklist's words the same on the page, in the
report and in the CSV, and the CSV in the viewer's language."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib import admin
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils.safestring import SafeData, mark_safe
from django.utils.translation import gettext, override

from board.rules import RuleChange, rule_change_message
from checklists.defects import defect_report
from checklists.models import Checklist, ChecklistItem
from checklists.services import checklist_item_tick
from core.korean import PAIRS, final, particle, particles

from .releases.builders import build_world

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "locale" / "ko" / "LC_MESSAGES" / "django.po"


@pytest.mark.parametrize(
    ("word", "pair", "expected"),
    [
        ("계약 테스트", "이(가)", "가"),
        ("스모크", "을(를)", "를"),
        ("모바일 리드", "과(와)", "와"),
        ("게이트", "은(는)", "는"),
        ("결함", "이(가)", "이"),
        ("통과", "(으)로", "로"),
        ("실패", "(으)로", "로"),
        ("서울", "(으)로", "로"),  # ㄹ: 로, not 으로
        ("차단됨", "(으)로", "으로"),
        ("API", "을(를)", "를"),  # 에이피아이
        ("QA", "이(가)", "가"),  # 큐에이
        ("pm", "이(가)", "이"),  # 피엠
        ("URL", "을(를)", "을"),  # 유알엘
        ("1.0.0", "은(는)", "은"),  # 일 점 영 점 영
        ("2.4.1", "(으)로", "로"),  # … 일
        ("1250", "(으)로", "으로"),  # 천이백오십
        ("12", "이(가)", "가"),  # 십이
        ("100", "은(는)", "은"),  # 백
        ("admin", "은(는)", "은"),  # 어드민
        ("backend", "은(는)", "는"),  # 백엔드
        ("mobile", "이(가)", "이"),  # 모바일
        ("Slack", "(으)로", "으로"),  # 슬랙
        ("GitHub", "(으)로", "로"),  # 깃허브
        ("GitLab", "(으)로", "으로"),  # 깃랩
        ("iOS", "을(를)", "를"),  # 아이오에스
        ("No-Go", "(으)로", "로"),
        ("“계약 테스트”", "이(가)", "가"),  # the word inside the quotes counts
        ("(결함)", "을(를)", "을"),
    ],
)
def test_the_particle_fits_the_word(word: str, pair: str, expected: str) -> None:
    assert particle(word, pair) == expected


def test_every_hangul_syllable_by_its_final_consonant() -> None:
    for code in range(0xAC00, 0xD7A4, 7):
        syllable = chr(code)
        jong = (code - 0xAC00) % 28
        assert particle(syllable, "이(가)") == ("이" if jong else "가"), syllable
        assert particle(syllable, "를(을)") == ("을" if jong else "를"), syllable
        assert particle(syllable, "(으)로") == ("으로" if jong not in (0, 8) else "로"), syllable


def test_a_word_that_cannot_be_read_keeps_the_pair() -> None:
    assert final("🚀") is None and final("") is None
    assert particle("🚀", "을(를)") == "을(를)"


def test_particles_in_a_text() -> None:
    assert particles("“결제 API”을(를) 템플릿과 비교") == "“결제 API”를 템플릿과 비교"
    assert particles("2026-11-27 12:48에 qa이(가)") == "2026-11-27 12:48에 qa가"
    text = "Compare “Payments” (with its template)"  # English: nothing to do
    assert particles(text) == text
    assert set(PAIRS) >= {"이(가)", "을(를)", "은(는)", "과(와)", "(으)로"}
    safe = particles(mark_safe("<b>R&amp;D</b>을(를)"))
    assert isinstance(safe, SafeData) and safe == "<b>R&amp;D</b>를"


def test_the_filter_is_in_every_template_and_keeps_escaping() -> None:
    template = Template(
        "{% load i18n %}{% language 'ko' %}{% blocktranslate asvar said with who=who when='11-27 12:48' %}"
        "Go called by {{ who }} at {{ when }}.{% endblocktranslate %}{{ said|particles }}{% endlanguage %}"
    )
    assert template.render(Context({"who": "pm"})) == "11-27 12:48에 pm이 Go를 결정했습니다."
    assert template.render(Context({"who": "qa"})) == "11-27 12:48에 qa가 Go를 결정했습니다."
    assert "&lt;s&gt;가" in template.render(Context({"who": "<s>"}))  # still escaped; ">" is skipped


def test_rule_changes_read_in_korean() -> None:
    with override("ko"):
        said = rule_change_message(
            RuleChange("gate_not_blocking", "gates.gate", "1", (("gate", "E2E 회귀"),))
        )
        token = rule_change_message(
            RuleChange("token_active", "integrations.apitoken", "1", (("token", "ci"),))
        )
    assert "“E2E 회귀”가 더 이상" in said, said
    assert "“ci”가 다시" in token, token


def _po_pairs() -> dict[str, list[str]]:
    """msgid → the files its Korean with a particle pair is used in."""
    found: dict[str, list[str]] = {}
    for block in PO.read_text(encoding="utf-8").split("\n\n"):
        msgstr = "".join(re.findall(r'"(.*)"', block.split("msgstr", 1)[1])) if "msgstr" in block else ""
        if any(pair in msgstr for pair in PAIRS):
            msgid = "".join(re.findall(r'"(.*)"', block.split("msgid", 1)[1].split("msgstr", 1)[0]))
            files = [
                ref.rsplit(":", 1)[0]
                for line in re.findall(r"^#: (.*)$", block, re.M)
                for ref in line.split()
            ]
            found[msgid] = files
    return found


# GLOSSARY.md: words our users already use, and the ones they would not recognise.
NOT_OUR_WORDS = {
    "롤아웃": "staged rollout is 점진적 배포; halt, resume: 배포 중단, 배포 재개",
    "킬 스위치": "kill switch is 원격 OFF",
    "기능 플래그": "feature flag is Feature Flag",
    "플래그가": "feature flag is Feature Flag",
}


def test_the_korean_uses_the_glossarys_words() -> None:
    text = PO.read_text(encoding="utf-8")
    msgstrs = "\n".join(
        "".join(re.findall(r'"(.*)"', block.split("msgstr", 1)[1]))
        for block in text.split("\n\n")
        if "msgstr" in block
    )
    for word, why in NOT_OUR_WORDS.items():
        assert word not in msgstrs, f"{word!r} in the Korean catalogue: {why}"


def test_every_korean_particle_pair_is_resolved_where_it_is_used() -> None:
    """A msgstr written with 이(가)… is only right where its text passes through
    `particles` (Python) or `|particles` (templates) after it is filled in."""
    pairs = _po_pairs()
    assert len(pairs) >= 15
    unresolved = {}
    for msgid, files in pairs.items():
        for name in files:
            text = (ROOT / name).read_text(encoding="utf-8")
            if "|particles" not in text and "particles(" not in text:
                unresolved[msgid] = name
    assert not unresolved, unresolved


def test_the_programme_weeks_and_the_admin_title_are_korean(client: Client, admin_user: Any) -> None:
    with override("ko"):
        weeks = [
            gettext(f"Week {n}: {rest}")
            for n, rest in (
                (1, "fix the gates"),
                (2, "automate and operate"),
                (3, "rehearse and make it a habit"),
            )
        ]
        assert [w.split(":")[0] for w in weeks] == ["1주 차", "2주 차", "3주 차"]
    client.force_login(admin_user)
    client.cookies.load({"django_language": "ko"})
    page = client.get("/admin/").content.decode()
    with override("ko"):  # set by gonogo/urls.py, lazily: in each visitor's language
        assert str(admin.site.site_header) == gettext("Go/No-Go settings")
    assert "Go/No-Go 설정" in page and "Go/No-Go settings" not in page


@pytest.fixture
def world(make_user: Any) -> Any:
    w: Any = build_world(make_user, ready=False)
    w.kwargs = {"product": w.product.slug, "version": w.release.version}
    w.items = list(ChecklistItem.objects.filter(checklist__release=w.release).order_by("position", "id"))
    return w


def test_checklist_report_and_csv_say_what_the_page_says_in_korean(client: Client, world: Any) -> None:
    failed, untouched = world.items[0], world.items[-1]
    checklist_item_tick(item=failed, state="failed", actor=world.qa)
    defect_report(
        release=world.release, title="로그인 실패", severity="critical", actor=world.qa, checklist_item=failed
    )
    client.force_login(world.qa)
    client.cookies.load({"django_language": "ko"})
    page = client.get(reverse("checklists:checklist", kwargs=world.kwargs)).content.decode()
    assert "미확인" in page
    md = client.get(reverse("checklists:report", kwargs={**world.kwargs, "fmt": "md"})).content.decode()
    assert f"| {untouched.title} |  | 미확인 |" in md and "미처리" not in md.split("## 결함")[0]
    raw = client.get(reverse("checklists:report", kwargs={**world.kwargs, "fmt": "csv"})).content.decode(
        "utf-8-sig"
    )
    rows = list(csv.reader(io.StringIO(raw)))
    assert rows[0] == ["섹션", "항목", "핵심", "결과", "담당", "일시", "메모", gettext_ko("Evidence"), "결함"]
    by_item = {row[1]: row for row in rows[1:]}
    assert by_item[failed.title][2:4] == ["예", "실패"]
    assert by_item[failed.title][8] == "치명: 로그인 실패 (미처리)"
    assert by_item[untouched.title][2:4] == ["", "미확인"]


def gettext_ko(msgid: str) -> str:
    with override("ko"):
        return gettext(msgid)


def test_the_checklist_breadcrumb_is_translated(client: Client, world: Any) -> None:
    checklist = Checklist.objects.get(release=world.release)
    Checklist.objects.filter(pk=checklist.pk).update(name="QA full-scenario checklist")
    client.force_login(world.qa)
    client.cookies.load({"django_language": "ko"})
    url = reverse("checklists:template_update", kwargs={**world.kwargs, "pk": checklist.pk})
    page = client.get(url).content.decode()
    crumbs = re.search(r'<p class="crumbs">(.*?)</p>', page, re.S)
    assert crumbs and "릴리스 전수 시나리오 체크리스트" in crumbs.group(1), page[:2000]
    assert "QA full-scenario checklist" not in page
    assert "“릴리스 전수 시나리오 체크리스트”와 템플릿 비교" in page  # 트 ends in a vowel


def test_korean_words_do_not_break_inside() -> None:
    css = (ROOT / "static" / "css" / "app.css").read_text(encoding="utf-8")
    assert re.search(r":lang\(ko\)\s*\{[^}]*word-break:\s*keep-all", css)
