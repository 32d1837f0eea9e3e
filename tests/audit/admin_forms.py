"""Post an admin form as a browser would: read the form's fields from the page (inlines
and their management forms included), change some, post the rest as they were."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any


class _FormFields(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._select_multiple = False
        self._textarea: str | None = None
        self._text = ""
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "").lower() == "post" and "id" in a:
            self._in_form = True
        if not self._in_form:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "file"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.data.setdefault(name, []).append(a.get("value", "on"))
                return
            self.data.setdefault(name, []).append(a.get("value", ""))
        elif tag == "select" and name:
            self._select = name
            self._select_multiple = "multiple" in a
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select].append(a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self._text = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            if self._select and not self.data[self._select] and not self._select_multiple:
                self.data[self._select] = [""]
            self._select = None
        elif tag == "textarea" and self._textarea:
            text = self._text[1:] if self._text.startswith("\n") else self._text
            self.data[self._textarea] = [text]
            self._textarea = None
        elif tag == "form":
            self._in_form = False

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text += data


def admin_form(client: Any, url: str) -> dict[str, Any]:
    """The POST data of the admin form at `url`, as the page shows it."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    parser = _FormFields()
    parser.feed(response.content.decode())
    return {k: (v if len(v) != 1 else v[0]) for k, v in parser.data.items() if k != "csrfmiddlewaretoken"}


def admin_post(client: Any, url: str, changes: dict[str, Any]) -> Any:
    """Post the form at `url` with `changes` (None removes a field: an unticked box)."""
    data = admin_form(client, url)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return client.post(url, data)
