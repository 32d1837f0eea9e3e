"""User text written into Markdown exports (regression report, meeting minutes, weekly
review minutes) so that a viewer rendering Markdown or HTML shows the text, not markup.

HTML's `<`, `>` and `&` become entities; Markdown's inline punctuation (`` ` * _ [ ] ( )
| ~ \\ ``) is backslash-escaped; a value cannot start a heading, list, quote or rule;
line breaks never leave a table cell or a list line. Only http(s) links are links.
"""

from __future__ import annotations

import re

from .validation import is_http_url

_INLINE = re.compile(r"([\\`*_\[\]()|~])")
# What opens a heading, list item, rule or setext underline at the start of a line (a
# quote or HTML block cannot: `>` and `<` are entities by then; indentation is dropped).
_LEADING = re.compile(r"[#+\-=]")
_ORDERED = re.compile(r"^(\d+)([.)])")
_URL_UNSAFE = {c: f"%{ord(c):02X}" for c in " \"'()<>[]\\^`{|}"}


def _escaped(text: str) -> str:
    text = _INLINE.sub(r"\\\1", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"\\{text}" if _LEADING.match(text) else text


def md_inline(value: object) -> str:
    """`value` as text inside one line or one table cell: every run of whitespace
    (line breaks included) becomes one space."""
    return _escaped(" ".join(str("" if value is None else value).split()))


def md_block(value: object, *, prefix: str = "") -> str:
    """`value` as lines of their own (notes): each line escaped, so it cannot open a
    heading, list, quote, table or code block, and ended with a hard line break so the
    lines stay lines; blank lines stay paragraph breaks. `prefix` starts every line
    (`"> "` keeps a multi-line rationale inside its quote)."""
    lines = [" ".join(raw.split()) for raw in str("" if value is None else value).splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    out = []
    for i, raw in enumerate(lines):
        line = _ORDERED.sub(r"\1\\\2", _escaped(raw))
        if line and i + 1 < len(lines) and lines[i + 1]:
            line += "\\"
        out.append(f"{prefix}{line}" if line else prefix.rstrip())
    return "\n".join(out)


def md_url(value: object) -> str:
    """An http(s) URL as a link destination (characters that would end it percent-
    encoded), or '' for anything else (javascript:, data:, relative…)."""
    url = str(value or "").strip()
    if not url or not is_http_url(url):
        return ""
    return "".join(_URL_UNSAFE.get(c, c) for c in url)


def md_link(label: object, url: object) -> str:
    """`[label](url)` for an http(s) URL; otherwise the label and the URL as plain text."""
    target = md_url(url)
    if target:
        return f"[{md_inline(label)}]({target})"
    text = " ".join(part for part in (str(label or ""), str(url or "")) if part)
    return md_inline(text)


def md_code(value: object) -> str:
    """A short value (a commit) as an inline code span; backticks and line breaks dropped
    (nothing is escaped inside a code span, and nothing there is markup)."""
    text = " ".join(str(value or "").replace("`", "").split())
    return f"`{text}`" if text else "—"
