"""Build a release whose verdict is ready, through the real services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts.models import Role
from board.decisions import signoff_record
from board.lifecycle import release_create
from checklists.models import ChecklistItem
from checklists.services import checklist_item_tick
from gates.models import Gate
from gates.services import gate_result_record
from operations.services import oncall_set, rehearsal_record
from releases.models import Product, Release

from ..checklists.factories import ChecklistTemplateFactory, TemplateItemFactory, TemplateSectionFactory
from ..gates.factories import GateFactory
from .factories import ProductFactory

SIGNOFF_ROLES = [Role.QA, Role.BACKEND_LEAD]


@dataclass
class World:
    product: Product
    release: Release
    gates: list[Gate]
    pm: Any
    qa: Any
    lead: Any
    devops: Any = None  # DevOps of the product: keeps its on-call contacts and rehearsals

    def refresh(self) -> Release:
        self.release.refresh_from_db()
        return self.release


def build_world(
    make_user: Callable[..., Any], *, gates: int = 2, core_items: int = 2, ready: bool = True
) -> World:
    product = ProductFactory(
        slug=f"p{Product.objects.count() + 1}",
        name="Product",
        platform="backend",
        signoff_roles=list(SIGNOFF_ROLES),
        runbook_url="https://wiki.example.com/rb",
    )
    pm = make_user(Role.PM, product=product)
    qa = make_user(Role.QA, product=product)
    lead = make_user(Role.BACKEND_LEAD, product=product)
    devops = make_user(Role.DEVOPS, product=product)
    gate_objs = [
        GateFactory(
            key=f"{product.slug}-g{i}",
            name=f"Gate {i}",
            owner_role=Role.BACKEND_LEAD,
            waivable=True,
        )
        for i in range(gates)
    ]
    for g in gate_objs:
        g.products.set([product])
    template = ChecklistTemplateFactory(
        key=f"{product.slug}-qa", name="QA", kind="release", products=[product]
    )
    section = TemplateSectionFactory(template=template, title="Main", position=0)
    for i in range(core_items):
        TemplateItemFactory(section=section, title=f"Core {i}", core=True, position=i)
    TemplateItemFactory(section=section, title="Extra", core=False, position=99)
    for role in (*SIGNOFF_ROLES, Role.DEVOPS):
        oncall_set(product=product, role=role, name=f"{role} person", contact="+82 10", actor=devops)
    rehearsal_record(
        product=product,
        kind="rollback",
        performed_on=timezone.localdate() - timedelta(days=3),
        minutes=9,
        outcome="passed",
        actor=devops,
    )
    release = release_create(
        product=product, version="1.0.0", build=10, commit="a" * 40, branch="release/1.0.0", state="candidate"
    )
    world = World(product, release, gate_objs, pm, qa, lead, devops)
    if ready:
        make_ready(world)
    return world


def make_ready(world: World) -> None:
    for i, g in enumerate(world.gates):
        gate_result_record(release=world.release, gate=g, status="passed", run_id=f"run-{g.key}-{i}")
    for item in ChecklistItem.objects.filter(checklist__release=world.release, core=True):
        checklist_item_tick(item=item, state="passed", actor=world.qa)
    sign_all(world)


def sign_all(world: World) -> None:
    # A test's world may sign while a gate fails (a waiver, a state machine): knowingly.
    signoff_record(release=world.release, role=Role.QA, vote="go", actor=world.qa, confirm_failing=True)
    signoff_record(
        release=world.release, role=Role.BACKEND_LEAD, vote="go", actor=world.lead, confirm_failing=True
    )


def healthy(release: Release) -> None:
    """A health sample within the default bounds, pushed now: the stage may advance."""
    from operations.services import health_sample_record

    health_sample_record(release=release, error_rate=0.001, p95_latency_ms=200, rate_429=0.0)


def roll_out_fully(release: Release, actor: Any) -> Release:
    """Advance a release rolling out through its stages until it is fully rolled out."""
    from board.rollout import release_rollout_advance

    for _stage in range(10):
        healthy(release)
        release = release_rollout_advance(release=release, actor=actor)
        if release.state == "released":
            return release
    raise AssertionError("the rollout never reached 100 %")
