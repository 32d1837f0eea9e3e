"""Checklist templates, checklists, their items and defects, as rows (no service)."""

from __future__ import annotations

import factory
from django.utils import timezone

from accounts.models import Role
from checklists.models import (
    Checklist,
    ChecklistItem,
    ChecklistKind,
    ChecklistTemplate,
    Defect,
    DefectState,
    ItemState,
    Severity,
    TemplateItem,
    TemplateSection,
)

from ..releases.factories import ReleaseFactory


class ChecklistTemplateFactory(factory.django.DjangoModelFactory):
    """A release template, for every product unless `products=[…]`."""

    class Meta:
        model = ChecklistTemplate
        django_get_or_create = ("key",)
        skip_postgeneration_save = True

    key = factory.Sequence(lambda n: f"template-{n}")
    name = factory.LazyAttribute(lambda o: o.key.title())
    kind = ChecklistKind.RELEASE

    @factory.post_generation
    def products(self, create: bool, extracted: list | None, **kwargs: object) -> None:
        if create and extracted:
            self.products.set(extracted)


class TemplateSectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TemplateSection

    template = factory.SubFactory(ChecklistTemplateFactory)
    title = factory.Sequence(lambda n: f"Section {n}")
    position = 0


class TemplateItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TemplateItem

    section = factory.SubFactory(TemplateSectionFactory)
    title = factory.Sequence(lambda n: f"Check {n}")
    core = False
    owner_role = Role.QA
    position = factory.Sequence(int)


class ChecklistFactory(factory.django.DjangoModelFactory):
    """A release's copy of a template; `programme=True` for the programme checklist."""

    class Meta:
        model = Checklist

    class Params:
        programme = factory.Trait(
            template=factory.SubFactory(ChecklistTemplateFactory, kind=ChecklistKind.PROGRAMME),
            release=None,
        )

    template = factory.SubFactory(ChecklistTemplateFactory)
    kind = factory.LazyAttribute(lambda o: o.template.kind)
    release = factory.SubFactory(ReleaseFactory)
    name = factory.LazyAttribute(lambda o: o.template.name)
    created_at = factory.LazyFunction(timezone.now)


class ChecklistItemFactory(factory.django.DjangoModelFactory):
    """An open item; `ticked_by=…` with a state other than open marks it ticked now."""

    class Meta:
        model = ChecklistItem

    checklist = factory.SubFactory(ChecklistFactory)
    section = "Main"
    title = factory.Sequence(lambda n: f"Item {n}")
    core = False
    owner_role = Role.QA
    position = factory.Sequence(int)
    state = ItemState.OPEN
    ticked_by = None
    ticked_at = factory.LazyAttribute(lambda o: None if o.state == ItemState.OPEN else timezone.now())


class DefectFactory(factory.django.DjangoModelFactory):
    """An open major defect, reported by no one in particular."""

    class Meta:
        model = Defect

    release = factory.SubFactory(ReleaseFactory)
    title = factory.Sequence(lambda n: f"Defect {n}")
    severity = Severity.MAJOR
    state = DefectState.OPEN
    reported_at = factory.LazyFunction(timezone.now)
    resolved_at = factory.LazyAttribute(lambda o: timezone.now() if o.state == DefectState.RESOLVED else None)
