"""Every change `apply_policy` makes is an audit event with before → after, by
"policy:<file>" (issue 11, finding 3): products, gates, integrations, checklist
templates and their items, channels, on-call contacts."""

from __future__ import annotations

import textwrap
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from audit.models import AuditEvent
from checklists.models import TemplateItem
from gates.models import Gate
from integrations.models import Integration
from notifications.models import Channel
from operations.models import OnCallContact
from releases.models import Product

pytestmark = pytest.mark.django_db

FIRST = textwrap.dedent(
    """
    [[products]]
    slug = "ios-app"
    name = "iOS app"
    platform = "ios"
    signoff_roles = ["qa", "mobile_lead"]
    [[products.oncall]]
    role = "devops"
    name = "Dana"
    contact = "+82 10 1"

    [[gates]]
    key = "contract"
    name = "Contract tests"
    owner_role = "backend_lead"
    blocking = true

    [[integrations]]
    slug = "gh-ios"
    provider = "github"
    product = "ios-app"
    secret_env = "GONOGO_GH_IOS_SECRET"
    [integrations.gates]
    "pact*" = "contract"

    [[checklists]]
    key = "qa-full"
    name = "QA full"
    kind = "release"
    products = ["ios-app"]
    [[checklists.sections]]
    title = "Login"
    [[checklists.sections.items]]
    title = "Log in with e-mail"
    core = true

    [[channels]]
    slug = "ops"
    kind = "slack"
    url_env = "GONOGO_SLACK_OPS_URL"
    """
)

CHANGES = [
    ('signoff_roles = ["qa", "mobile_lead"]', 'signoff_roles = ["qa"]'),
    ('contact = "+82 10 1"', 'contact = "+82 10 2"'),
    ("blocking = true", "blocking = false"),
    ('"pact*" = "contract"', '"contract*" = "contract"'),
    ("core = true", "core = false"),
    ('url_env = "GONOGO_SLACK_OPS_URL"', 'url_env = "GONOGO_SLACK_OPS_URL_2"'),
]


def apply(tmp_path: Path, text: str) -> str:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    call_command("apply_policy", str(path), stdout=StringIO(), stderr=StringIO())
    return str(path)


def latest(obj: Any, action: str) -> Any:
    event = (
        AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk), action=action)
        .order_by("id")
        .last()
    )
    assert event is not None, (obj, action)
    return event


def test_each_kind_of_change_is_recorded_with_before_and_after(tmp_path: Path) -> None:
    path = apply(tmp_path, FIRST)
    product = Product.objects.get(slug="ios-app")
    assert latest(product, "policy.create").actor_label == f"policy:{path}"

    text = FIRST
    for old, new in CHANGES:
        text = text.replace(old, new)
    apply(tmp_path, text)

    def changed(obj: Any, field: str) -> tuple[Any, Any]:
        event = latest(obj, "policy.update")
        assert event.actor_label == f"policy:{path}" and event.actor is None
        return event.before[field], event.after[field]

    assert changed(product, "signoff_roles") == (["qa", "mobile_lead"], ["qa"])
    assert changed(Gate.objects.get(key="contract"), "blocking") == (True, False)
    assert changed(Integration.objects.get(slug="gh-ios"), "gate_patterns") == (
        {"pact*": "contract"},
        {"contract*": "contract"},
    )
    assert changed(TemplateItem.objects.get(title="Log in with e-mail"), "core") == (True, False)
    assert changed(Channel.objects.get(slug="ops"), "url_env") == (
        "GONOGO_SLACK_OPS_URL",
        "GONOGO_SLACK_OPS_URL_2",
    )
    contact = OnCallContact.objects.get(product=product, role="devops")
    oncall = latest(contact, "oncall.set")
    assert oncall.actor_label == f"policy:{path}"
    assert (oncall.before["contact"], oncall.after["contact"]) == ("+82 10 1", "+82 10 2")


def test_products_of_a_gate_and_a_removed_item_keep_their_before(tmp_path: Path) -> None:
    Product.objects.create(slug="api", name="API", platform="backend")
    text = FIRST.replace('owner_role = "backend_lead"', 'owner_role = "backend_lead"\nproducts = ["ios-app"]')
    apply(tmp_path, text)
    gate = Gate.objects.get(key="contract")
    item = TemplateItem.objects.get(title="Log in with e-mail")

    text = text.replace('products = ["ios-app"]\n', 'products = ["api"]\n', 1)
    without_item = text.replace(
        '[[checklists.sections.items]]\ntitle = "Log in with e-mail"\ncore = true\n', ""
    )
    assert without_item != text
    text = without_item
    apply(tmp_path, text)

    moved = AuditEvent.objects.filter(
        object_type="gates.gate", object_id=str(gate.pk), after__has_key="products"
    )
    event = moved.order_by("id").last()
    assert (
        event is not None
        and event.before == {"products": ["ios-app"]}
        and event.after == {"products": ["api"]}
    )
    removed = latest(item, "policy.remove")
    assert removed.before["title"] == "Log in with e-mail" and removed.before["core"] is True
