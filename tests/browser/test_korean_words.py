"""Korean on a phone: the board's Owner column breaks between words, never inside one
("모바일 리드", not "모바일 리/드"), and the dashboard's programme weeks are Korean."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from demo.seed import seed_demo

from .conftest import log_in, screenshot

pytestmark = pytest.mark.browser

# For each Hangul word in the gate table's Owner cells: on how many lines it is drawn.
WORD_LINES = """() => {
  const out = [];
  for (const cell of document.querySelectorAll('#gates td:last-child')) {
    const node = [...cell.childNodes].find(n => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
    if (!node) continue;
    const text = node.textContent;
    for (const m of text.matchAll(/[\\uac00-\\ud7a3]+/g)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
      out.push([m[0], tops.size]);
    }
  }
  return out;
}"""


def test_korean_owner_words_stay_whole_at_phone_width(asgi_server: str, browser: Browser) -> None:
    seed_demo()
    phone = log_in(browser, asgi_server, "pm", "ko", width=390)
    phone.goto(f"{asgi_server}/releases/ios-app/2.4.0/")
    expect(phone.locator("#gates")).to_contain_text("모바일 리드")
    words = phone.evaluate(WORD_LINES)
    assert ["리드", 1] in words, words
    split = [word for word, lines in words if lines > 1]
    assert not split, words
    screenshot(phone, "board-ko-phone-words")
    phone.goto(f"{asgi_server}/")
    dashboard = phone.locator("main").inner_text()
    assert "1주 차" in dashboard and "WEEK 1" not in dashboard.upper(), dashboard[:1500]
    assert phone.console_errors == []
