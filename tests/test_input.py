"""A NUL (U+0000) anywhere a request carries text is a 400 naming the field, never a 500
(PostgreSQL text cannot hold one): every API operation of the OpenAPI document, every
form of every page (collected from the pages themselves), query strings, URL parameters,
htmx requests. A signed webhook carrying one is accepted and applied without it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from gates.models import GateResult
from integrations.inbox import deliveries_drain
from integrations.models import Delivery

from .api.test_auth import API_ENDPOINTS
from .htmx import swaps
from .test_views import PERMISSIONS, full_world

NUL = "\x00"
GITHUB_SECRET = "It's a Secret to Everybody"  # tests/conftest.py ci_world


def nul_client() -> Client:
    return Client(raise_request_exception=False)  # a 500 is a status to assert, not a crash


def problem_fields(response: Any) -> list[str]:
    assert response["Content-Type"] == "application/problem+json", response.content
    return [e["field"] for e in response.json().get("errors", [])]


# --- The JSON API, from its own OpenAPI document ---------------------------------------


def openapi_operations() -> list[tuple[str, str, dict[str, Any]]]:
    from api.openapi import schema

    return [
        (path, method, operation)
        for path, item in schema()["paths"].items()
        for method, operation in item.items()
    ]


def _resolved(schema_: dict[str, Any]) -> dict[str, Any]:
    from api.openapi import SCHEMAS

    ref = schema_.get("$ref", "")
    return SCHEMAS[ref.rsplit("/", 1)[1]] if ref else schema_


def _is_text(prop: dict[str, Any]) -> bool:
    kinds = prop.get("type")
    if kinds == "string" or (isinstance(kinds, list) and "string" in kinds):
        return True
    return any(_is_text(option) for option in prop.get("anyOf", []) + prop.get("oneOf", []))


def text_fields(operation: dict[str, Any]) -> list[str]:
    """The body's text fields as the document describes them."""
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    if not body:
        return []
    props = _resolved(body["schema"]).get("properties", {})
    return [name for name, prop in props.items() if _is_text(prop)]


def valid_body(operation_id: str) -> dict[str, Any]:
    """A body the operation accepts (the permission tests' own), to put one NUL into."""
    if operation_id.startswith("webhook_"):
        return {"zen": "Keep it logically awesome.", "hook_id": 1}
    return dict(API_ENDPOINTS[f"api:{operation_id}"][2] or {})


def send(
    client: Client, path: str, method: str, body: Any, token: str, headers: dict[str, str] | None = None
) -> Any:
    url = path.replace("{product}", "ios-app").replace("{version}", "2.4.0").replace("{slug}", "gh")
    raw = json.dumps(body)
    return getattr(client, method)(
        url,
        raw,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", **(headers or {})},
    )


@pytest.mark.django_db
def test_every_text_field_of_every_api_operation_refuses_nul(ci_world: Any) -> None:
    token = ci_world.token("results", "verdict", "metrics")
    client = nul_client()
    checked, failures = 0, []
    for path, method, operation in openapi_operations():
        op = operation["operationId"]
        if op.startswith("webhook_"):
            continue  # signed by the sender: accepted without the NUL (below)
        for field in text_fields(operation):
            body = {**valid_body(op), field: f"a{NUL}b"}
            response = send(client, path, method, body, token)
            checked += 1
            if response.status_code != 400 or problem_fields(response) != [field]:
                failures.append((op, field, response.status_code, response.content[:200]))
    assert checked >= 20  # results (9), releases (5), defects (4), health (1), …
    assert not failures, failures


@pytest.mark.django_db
def test_nul_in_nested_fields_and_keys_is_named_by_its_json_path(ci_world: Any) -> None:
    token = ci_world.token("results")
    body = {
        **(API_ENDPOINTS["api:results_create"][2] or {}),
        "items": [{"name": "a"}, {"name": "b"}, {"name": f"c{NUL}"}],
        f"odd{NUL}key": 1,
    }
    response = send(nul_client(), "/api/v1/results", "post", body, token)
    assert response.status_code == 400
    assert problem_fields(response) == ["items[2].name", "odd\\u0000key"]
    assert response.json()["code"] == "nul_character"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/releases/ios-app/2.4.0%00/verdict", "version"),
        ("/api/v1/releases/ios-app/2.4.0%00", "version"),
        ("/api/v1/releases/ios%00app/2.4.0", "product"),
        ("/api/v1/releases/ios-app/2.4.0?x=%00", "x"),
        ("/api/v1/openapi.json?a%00=1", "a\\u0000"),
    ],
)
def test_nul_in_url_parameters_and_query_strings_of_the_api(ci_world: Any, url: str, field: str) -> None:
    token = ci_world.token("verdict")
    response = nul_client().get(url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400, response.content
    assert problem_fields(response) == [field]


def _sign(body: bytes) -> str:
    return "sha256=" + hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha256).hexdigest()


@pytest.mark.django_db
def test_a_signed_webhook_with_nul_is_stored_as_sent_and_applied_without_it(
    ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """GitHub will not change its payload: the delivery is kept byte for byte, and every
    text read out of it (name, summary, link, run id) loses its NUL instead of failing."""
    from .conftest import DEMO_COMMIT

    payload = {
        "action": "completed",
        "check_run": {
            "id": f"77{NUL}",
            "name": f"pact{NUL}-verify",
            "head_sha": DEMO_COMMIT,
            "status": "completed",
            "conclusion": "failure",
            "html_url": f"https://ci.example/run/{NUL}1",
            "output": {"title": f"1 failed{NUL}"},
            "completed_at": "2026-11-27T08:00:00Z",
            "check_suite": {"head_branch": "release/2.4.0"},
        },
    }
    body = json.dumps(payload).encode()
    assert b"\\u0000" in body
    client = nul_client()
    response = client.post(
        reverse("api:webhook_github", kwargs={"slug": ci_world.github.slug}),
        body,
        content_type="application/json",
        headers={
            "X-Hub-Signature-256": _sign(body),
            "X-GitHub-Event": "check_run",
            "X-GitHub-Delivery": f"nul-1{NUL}",
        },
    )
    assert response.status_code == 202, response.content
    delivery = Delivery.objects.get(pk=response.json()["id"])
    assert bytes(delivery.body) == body and delivery.key == "nul-1"
    deliveries_drain()
    delivery.refresh_from_db()
    assert delivery.state == "applied", delivery.outcome
    result = GateResult.objects.get(release=ci_world.release, gate=ci_world.gates["contract"])
    assert result.status == "failed"
    assert (result.check_name, result.summary, result.run_id) == ("pact-verify", "1 failed", "check_run/77")
    assert result.url == "https://ci.example/run/1"


@pytest.mark.django_db
def test_nul_in_a_webhook_url_is_refused(ci_world: Any) -> None:
    response = nul_client().post("/api/v1/webhooks/github/gh%00", b"{}", content_type="application/json")
    assert response.status_code == 400 and problem_fields(response) == ["slug"]


# --- Forms and pages ------------------------------------------------------------------

TEXT_INPUTS = {"text", "hidden", "search", "email", "url", "password", "tel", "number", "date", ""}


class Forms(HTMLParser):
    """Every <form> of a page: its method, action and the text fields it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            action = a.get("action") or a.get("hx-post") or a.get("hx-get") or ""
            method = "post" if (a.get("method", "get").lower() == "post" or "hx-post" in a) else "get"
            self._form = {"method": method, "action": action, "fields": {}, "text": []}
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "textarea", "select", "button") and a.get("name"):
            name = a["name"]
            kind = a.get("type", "text" if tag == "input" else "").lower()
            if (tag == "input" and kind in ("checkbox", "radio") and "checked" not in a) or tag == "button":
                self._form["fields"].setdefault(name, None)
            else:
                self._form["fields"][name] = a.get("value", "")
            if tag == "textarea" or (tag == "input" and kind in TEXT_INPUTS):
                if name not in self._form["text"] and name != "csrfmiddlewaretoken":
                    self._form["text"].append(name)
            elif tag in ("select", "button") and name not in self._form["text"]:
                self._form["text"].append(name)  # a forged choice is text too

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def page_urls(world: Any) -> list[str]:
    urls = []
    for name, (method, kwargs_for, _data, _roles) in PERMISSIONS.items():
        if method == "get" and not name.endswith(("report", "minutes", "csv")):
            urls.append(reverse(name, kwargs=kwargs_for(world)))
    return urls


def collect_forms(client: Client, world: Any) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Each distinct form (method, action, fields) found on any page of the app."""
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    anonymous = nul_client()
    for url in [reverse("accounts:login"), *page_urls(world)]:
        response = (anonymous if url == reverse("accounts:login") else client).get(url, follow=True)
        assert response.status_code == 200, url
        parser = Forms()
        parser.feed(response.content.decode())
        for form in parser.forms:
            form["action"] = urlsplit(form["action"]).path or url
            key = (form["method"], form["action"], ",".join(sorted(form["fields"])))
            found.setdefault(key, form)
    return found


@pytest.mark.django_db
def test_every_form_of_every_page_refuses_nul_in_each_field(make_user: Any) -> None:
    world = full_world(make_user)
    client = nul_client()
    client.force_login(make_user(*Role.values, product=world.product))
    forms = collect_forms(client, world)
    assert len(forms) >= 15, sorted(forms)
    checked, failures = 0, []
    for form in forms.values():
        base = {k: v for k, v in form["fields"].items() if v is not None}
        for field in form["text"]:
            data = {**base, field: f"a{NUL}b"}
            for htmx in (False, True):
                headers = {"HX-Request": "true"} if htmx else {}
                send_ = client.post if form["method"] == "post" else client.get
                response = send_(form["action"], data, headers=headers)
                checked += 1
                body = response.content.decode()
                ok = response.status_code == 400 and f"“{field}”" in body
                if htmx:
                    # Without HX-Target the refusal goes to the top of the page.
                    ok = ok and swaps(response) and response["HX-Retarget"] == "#main"
                    ok = ok and "<html" not in body
                if not ok:
                    failures.append((form["method"], form["action"], field, htmx, response.status_code))
    assert checked >= 60
    assert not failures, failures


@pytest.mark.django_db
def test_every_post_url_refuses_nul_in_each_field_it_reads(make_user: Any) -> None:
    """The forms a page shows only in some states (rollout steps, starting a meeting):
    every POST URL of the permission matrix, with a NUL in each field it is sent."""
    world = full_world(make_user)
    client = nul_client()
    client.force_login(make_user(*Role.values, product=world.product))
    failures, checked = [], 0
    for name, (method, kwargs_for, data_for, _roles) in sorted(PERMISSIONS.items()):
        if method != "post":
            continue
        data = (data_for(world) if data_for else None) or {"note": ""}
        for field in data:
            response = client.post(reverse(name, kwargs=kwargs_for(world)), {**data, field: f"{NUL}x"})
            checked += 1
            if response.status_code != 400 or f"“{field}”" not in response.content.decode():
                failures.append((name, field, response.status_code))
    assert checked >= 20
    assert not failures, failures


@pytest.mark.django_db
def test_a_nul_in_a_field_name_or_query_string_of_a_page(make_user: Any) -> None:
    world = full_world(make_user)
    client = nul_client()
    client.force_login(world.pm)
    board = reverse("board:release_board", kwargs={"product": world.product.slug, "version": "1.0.0"})
    response = client.get(board + "?panel=%00")
    assert response.status_code == 400 and "“panel”" in response.content.decode()
    response = client.post(
        reverse("checklists:defect_create", kwargs={"product": world.product.slug, "version": "1.0.0"}),
        {"title": "t", f"sev{NUL}": "minor"},
    )
    assert response.status_code == 400 and "“sev\\u0000”" in response.content.decode()
    response = client.get(f"/releases/{world.product.slug}/1.0.0%00/")
    assert response.status_code == 400 and "“version”" in response.content.decode()


@pytest.mark.django_db
def test_the_refusal_page_is_translated(make_user: Any) -> None:
    world = full_world(make_user)
    client = nul_client()
    client.force_login(world.pm)
    response = client.get(reverse("board:dashboard") + "?q=%00", headers={"Accept-Language": "ko"})
    assert response.status_code == 400
    assert '<html lang="ko">' in response.content.decode()


@pytest.mark.django_db
def test_a_session_cookie_holding_nul_is_no_session() -> None:
    client = nul_client()
    client.cookies["sessionid"] = f"abcdefgh{NUL}ijkl"
    response = client.get(reverse("board:dashboard"))
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]


@pytest.mark.django_db
def test_an_htmx_refusal_lands_in_the_panel_that_asked(client: Any, make_user: Any) -> None:
    from accounts.models import Role

    client.force_login(make_user(Role.PM))
    headers = {"HX-Request": "true", "HX-Target": "decision"}
    response = client.post("/i18n/setlang/", {"language": f"k{NUL}o"}, headers=headers)
    assert response.status_code == 400
    assert (response["HX-Retarget"], response["HX-Reswap"]) == ("#decision", "afterbegin")
    hostile = client.post(
        "/i18n/setlang/", {"language": f"k{NUL}o"}, headers={**headers, "HX-Target": "x' onload"}
    )
    assert hostile["HX-Retarget"] == "#main"
