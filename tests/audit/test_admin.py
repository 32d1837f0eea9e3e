"""Every change of the rules made in the admin is an audit event with before → after
(issue 11, finding 3): gates, products, roles, tokens, integrations, checklist templates,
channels, on-call contacts; one object, inline rows, list_editable and bulk delete."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.models import Role, RoleMembership
from audit.models import AuditEvent
from checklists.models import ChecklistTemplate, TemplateItem, TemplateSection
from gates.models import Gate
from integrations.models import ApiToken, Integration
from integrations.tokens import token_issue
from notifications.models import Channel
from operations.models import OnCallContact
from releases.models import Product

from .admin_forms import admin_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client: Any) -> Any:
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def product() -> Product:
    return Product.objects.create(
        slug="ios-app", name="iOS app", platform="ios", signoff_roles=["qa", "devops"]
    )


def change_url(obj: Any) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def add_url(model: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")


def only_event(action: str, obj: Any) -> Any:
    events = AuditEvent.objects.filter(
        action=action, object_type=obj._meta.label_lower, object_id=str(obj.pk)
    )
    assert events.count() == 1, list(AuditEvent.objects.values_list("action", "object_type", "object_id"))
    return events.get()


def assert_saved(response: Any) -> None:
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""


def test_unticking_blocks_on_a_gate_is_recorded_with_the_admin_as_actor(admin_client_: Any) -> None:
    gate = Gate.objects.create(key="contract", name="Contract tests", owner_role=Role.BACKEND_LEAD)

    assert_saved(admin_post(admin_client_, change_url(gate), {"blocking": None}))

    event = only_event("admin.change", gate)
    assert event.actor == admin_client_.user and event.actor_label == "root"
    assert event.before["blocking"] is True and event.after["blocking"] is False
    assert event.before["waivable"] == event.after["waivable"] is False
    assert event.after["products"] == []


def test_gate_products_and_list_editable_positions_are_recorded(admin_client_: Any, product: Product) -> None:
    gate = Gate.objects.create(key="contract", name="Contract tests", owner_role=Role.BACKEND_LEAD)
    assert_saved(admin_post(admin_client_, change_url(gate), {"products": [str(product.pk)]}))
    event = only_event("admin.change", gate)
    assert event.before["products"] == [] and event.after["products"] == [product.pk]

    changelist = reverse("admin:gates_gate_changelist")
    response = admin_client_.post(
        changelist,
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(gate.pk),
            "form-0-position": "7",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    moved: Any = (
        AuditEvent.objects.filter(action="admin.change", object_id=str(gate.pk)).order_by("id").last()
    )
    assert moved is not None and moved.before["position"] == 0 and moved.after["position"] == 7


def test_bulk_delete_records_each_gate(admin_client_: Any) -> None:
    gates = [Gate.objects.create(key=f"g{i}", name=f"G{i}", owner_role=Role.QA) for i in range(2)]
    response = admin_client_.post(
        reverse("admin:gates_gate_changelist"),
        {"action": "delete_selected", "_selected_action": [str(g.pk) for g in gates], "post": "yes"},
    )
    assert response.status_code == 302 and not Gate.objects.exists()
    deleted = AuditEvent.objects.filter(action="admin.delete", object_type="gates.gate")
    assert sorted(e.before["key"] for e in deleted if e.before) == ["g0", "g1"]


def test_product_signoff_roles_reduced_and_oncall_inline_are_recorded(
    admin_client_: Any, product: Product
) -> None:
    response = admin_post(
        admin_client_,
        change_url(product),
        {
            "signoff_roles": '["qa"]',
            "oncall_contacts-0-role": "devops",
            "oncall_contacts-0-name": "Dana",
            "oncall_contacts-0-contact": "+82 10 1234",
        },
    )
    assert_saved(response)

    event = only_event("admin.change", product)
    assert event.before["signoff_roles"] == ["qa", "devops"] and event.after["signoff_roles"] == ["qa"]
    contact = OnCallContact.objects.get(product=product)
    created = only_event("admin.create", contact)
    assert created.before is None and created.after["name"] == "Dana" and created.after["role"] == "devops"


def test_oncall_contact_change_is_recorded(admin_client_: Any, product: Product) -> None:
    contact = OnCallContact.objects.create(product=product, role="devops", name="Dana", contact="+82 1")
    assert_saved(admin_post(admin_client_, change_url(contact), {"contact": "+82 2"}))
    event = only_event("admin.change", contact)
    assert (event.before["contact"], event.after["contact"]) == ("+82 1", "+82 2")


def test_granting_a_role_is_recorded_in_both_admin_pages(admin_client_: Any, product: Product) -> None:
    someone = get_user_model().objects.create_user("someone", password="pw")

    response = admin_post(
        admin_client_,
        add_url(RoleMembership),
        {"user": str(someone.pk), "role": "pm", "product": str(product.pk)},
    )
    assert_saved(response)
    grant = RoleMembership.objects.get(user=someone, role="pm")
    event = only_event("admin.create", grant)
    assert event.before is None
    assert (event.after["user_id"], event.after["role"], event.after["product_id"]) == (
        someone.pk,
        "pm",
        product.pk,
    )

    # The people page: a role added in its inline, and the password never written down.
    response = admin_post(
        admin_client_,
        change_url(someone),
        {"role_memberships-1-role": "qa", "role_memberships-1-product": "", "is_staff": "on"},
    )
    assert_saved(response)
    qa = RoleMembership.objects.get(user=someone, role="qa")
    assert only_event("admin.create", qa).after["product_id"] is None
    person = only_event("admin.change", someone)
    assert person.before["is_staff"] is False and person.after["is_staff"] is True
    assert person.before["password"] == person.after["password"] == "(hidden)"
    assert "pbkdf2" not in str(AuditEvent.objects.values_list("before", "after"))


def test_role_removed_in_the_people_inline_is_recorded(admin_client_: Any, product: Product) -> None:
    someone = get_user_model().objects.create_user("someone", password="pw")
    grant = RoleMembership.objects.create(user=someone, role="pm", product=product)
    response = admin_post(admin_client_, change_url(someone), {"role_memberships-0-DELETE": "on"})
    assert_saved(response)
    assert not RoleMembership.objects.filter(pk=grant.pk).exists()
    event = only_event("admin.delete", grant)
    assert event.before["role"] == "pm" and event.after is None


def test_token_unrevoked_is_recorded_without_its_hash(admin_client_: Any, product: Product) -> None:
    token, _raw = token_issue(name="ci", product=product, scopes=["results"])
    response = admin_client_.post(
        reverse("admin:integrations_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [str(token.pk)]},
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    revoked = only_event("token.revoke", token)
    assert revoked.before["revoked_at"] is None and revoked.after["revoked_at"] is not None

    assert_saved(admin_post(admin_client_, change_url(token), {"revoked_at_0": "", "revoked_at_1": ""}))

    token.refresh_from_db()
    assert token.revoked_at is None
    event = only_event("admin.change", token)
    assert event.before["revoked_at"] is not None and event.after["revoked_at"] is None
    assert event.before["token_hash"] == event.after["token_hash"] == "(hidden)"
    assert token.token_hash not in str(AuditEvent.objects.values_list("before", "after"))


def test_integration_change_is_recorded(admin_client_: Any, product: Product) -> None:
    integration = Integration.objects.create(
        slug="gh",
        provider="github",
        product=product,
        secret_env="GONOGO_GH_SECRET",
        gate_patterns={"a*": "x"},
    )
    response = admin_post(
        admin_client_,
        change_url(integration),
        {"secret_env": "GONOGO_GH_NEW", "gate_patterns": '{"b*": "x"}'},
    )
    assert_saved(response)
    event = only_event("admin.change", integration)
    assert (event.before["secret_env"], event.after["secret_env"]) == ("GONOGO_GH_SECRET", "GONOGO_GH_NEW")
    assert (event.before["gate_patterns"], event.after["gate_patterns"]) == ({"a*": "x"}, {"b*": "x"})


def test_checklist_template_and_its_items_are_recorded(admin_client_: Any, product: Product) -> None:
    template = ChecklistTemplate.objects.create(key="qa", name="QA", kind="release")
    section = TemplateSection.objects.create(template=template, title="Main")
    item = TemplateItem.objects.create(section=section, title="Log in", core=True, position=0)

    assert_saved(admin_post(admin_client_, change_url(section), {"items-0-core": None}))
    event = only_event("admin.change", item)
    assert event.before["core"] is True and event.after["core"] is False

    assert_saved(
        admin_post(admin_client_, change_url(template), {"name": "QA full", "products": [str(product.pk)]})
    )
    event = only_event("admin.change", template)
    assert (event.before["name"], event.after["name"]) == ("QA", "QA full")
    assert event.after["products"] == [product.pk]


def test_channel_change_is_recorded(admin_client_: Any) -> None:
    channel = Channel.objects.create(slug="ops", kind="slack", url_env="GONOGO_SLACK_URL")
    assert_saved(admin_post(admin_client_, change_url(channel), {"active": None}))
    event = only_event("admin.change", channel)
    assert event.before["active"] is True and event.after["active"] is False


def test_saving_without_a_change_records_nothing(admin_client_: Any) -> None:
    gate = Gate.objects.create(key="contract", name="Contract tests", owner_role=Role.BACKEND_LEAD)
    before = AuditEvent.objects.count()
    assert_saved(admin_post(admin_client_, change_url(gate), {}))
    assert AuditEvent.objects.count() == before


def test_every_config_model_admin_is_audited() -> None:
    """A new config admin that forgets the mixin fails here."""
    from django.contrib import admin

    from audit.admin import AuditedModelAdmin

    config: list[Any] = [Gate, Product, RoleMembership, get_user_model(), ApiToken, Integration]
    config += [ChecklistTemplate, TemplateSection, Channel, OnCallContact]
    for model in config:
        assert isinstance(admin.site._registry[model], AuditedModelAdmin), model
    token_admin: Any = admin.site._registry[ApiToken]
    assert "token_hash" in token_admin.audit_secret_fields
