"""The QA checklist page: ticking items (one click or one key), defects, the regression
report, updating from the template, and approving programme checks.

Small function views: permission, parse, service, render. An htmx tick returns the item
it changed (and tells the progress panel to refresh); a refused tick returns the item
with the reason and the current value; a plain form POST redirects back to the item.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.capabilities import Capability, acting_roles, can, ensure_can, may_do
from accounts.permissions import viewer_required
from audit.models import AuditEvent
from core.errors import DomainError
from core.htmx import htmx_target, render_panel
from core.http import HtmxHttpRequest, csv_download, int_or_none
from core.korean import particles
from core.rows import columns, fetch_one, instance, width
from core.status import STATUS, status_word
from releases.models import Product, Release
from releases.selectors import release_get

from .defects import defect_reopen, defect_report, defect_resolve
from .models import Checklist, ChecklistItem, Defect, DefectState, ItemState, Severity
from .selectors import (
    ReleaseChecklist,
    checklist_section_count,
    checklist_section_of,
    checklist_template_changes,
    programme_approver_roles,
    release_checklist,
)
from .services import checklist_item_tick, checklist_tick_undo, checklist_update_from_template

PAGE_PANELS = frozenset({"checklist", "defects"})
# The outcome buttons: state, keyboard key, and the symbol the board uses for it.
OUTCOMES = [
    (state, key, STATUS[state][0])
    for state, key in (("passed", "p"), ("failed", "f"), ("blocked", "b"), ("n/a", "n"))
]


def checklist_url(release: Release, anchor: str = "") -> str:
    url = reverse(
        "checklists:checklist", kwargs={"product": release.product.slug, "version": release.version}
    )
    return f"{url}#{anchor}" if anchor else url


def _annotate(page: ReleaseChecklist, request: HtmxHttpRequest, release: Release) -> dict[str, bool]:
    """Give each item of `page` what its row shows: its defects, and whether the viewer may
    tick it (QA, or the item's owner role). Returns the viewer's `may` mapping."""
    return _mark(page.items, page.defects_for, request, release)


def _mark(
    items: list[ChecklistItem], defects_for: Any, request: HtmxHttpRequest, release: Release
) -> dict[str, bool]:
    """`_annotate` for `items`, each item's defects from `defects_for(item)`."""
    may = may_do(request.user, release.product)
    # `can(user, TICK_OWN_ITEM, product, role=item.owner_role)`, asked once for all items.
    own_roles = acting_roles(request.user, Capability.TICK_OWN_ITEM, release.product)
    for item in items:
        item.found_defects = defects_for(item)  # type: ignore[attr-defined]
        item.may_tick = may[Capability.TICK_ANY_ITEM] or item.owner_role in own_roles  # type: ignore[attr-defined]
    return may


def page_context(request: HtmxHttpRequest, release: Release, **extra: Any) -> dict[str, Any]:
    page = release_checklist(release)
    may = _annotate(page, request, release)
    last_tick = (
        AuditEvent.objects.filter(
            release_id=release.pk,
            actor_id=request.user.pk,
            action__in=("checklist_item.tick", "checklist_item.undo"),
        )
        .order_by("-at", "-id")
        .first()
    )
    return {
        "release": release,
        "page": page,
        "checklist_url": checklist_url(release),
        "board_url": reverse(
            "board:release_board", kwargs={"product": release.product.slug, "version": release.version}
        ),
        "outcomes": OUTCOMES,
        "severities": Severity.choices,
        "may": may,
        "undoable": last_tick if last_tick and last_tick.action == "checklist_item.tick" else None,
        **extra,
    }


def render_page(
    request: HtmxHttpRequest, release: Release, *, status: int = 200, **extra: Any
) -> HttpResponse:
    context = page_context(request, release, **extra)
    return render_panel(request, "checklists/checklist.html", PAGE_PANELS, context, status=status)


def item_context(request: HtmxHttpRequest, release: Release, item: ChecklistItem) -> dict[str, Any]:
    """What one item's row needs: its section (for the count), its defects, the roles."""
    part = checklist_section_of(item)
    may = _annotate(part, request, release)
    return {
        "release": release,
        "section": part.sections[0],
        "outcomes": OUTCOMES,
        "severities": Severity.choices,
        "may": may,
    }


def render_item(
    request: HtmxHttpRequest, release: Release, item: ChecklistItem, *, status: int = 200, **extra: Any
) -> HttpResponse:
    """One item, re-read from the database with its section (`item`: the row as read
    before, for where it sits), as its row on the page, with its section's count swapped
    in out of band. Reads only that section, however long the checklist."""
    context = {**item_context(request, release, item), **extra}
    row = next((i for i in context["section"].items if i.pk == item.pk), None)
    if row is None:  # moved to another section meanwhile (a template update): read it again
        item = _item_of(release, item.pk)
        context = {**item_context(request, release, item), **extra}
        row = next(i for i in context["section"].items if i.pk == item.pk)
    html = render(request, "checklists/checklist.html#item", {**context, "item": row}).content
    html += render(request, "checklists/checklist.html#section-count", {**context, "oob": True}).content
    response = HttpResponse(html, status=status)
    response["HX-Trigger"] = "checklist-changed"
    return response


@require_GET
@viewer_required
def checklist_view(request: HtmxHttpRequest, product: str, version: str) -> HttpResponse:
    release = release_get(product, version)
    ensure_can(request.user, Capability.VIEW, release.product)
    target = htmx_target(request)
    if target and target.startswith("item-") and target[5:].isascii() and target[5:].isdigit():
        item = _item_of(release, int(target[5:]))
        response = render_item(request, release, item)
        del response["HX-Trigger"]
        return response
    return render_page(request, release)


def _item_of(release: Release, pk: int) -> ChecklistItem:
    return get_object_or_404(
        ChecklistItem.objects.select_related("checklist__release__product"), pk=pk, checklist__release=release
    )


def _item_in(product: str, version: str, pk: int) -> tuple[ChecklistItem, Release]:
    """Item `pk` of release `version` of product `product`, and that release, in one
    query (404 when any of them is not there)."""
    # As SQL (core.rows): every tick asks it first.
    row = fetch_one(
        f"SELECT {columns(ChecklistItem, 'i')}, {columns(Checklist, 'c')}, {columns(Release, 'r')},"  # noqa: S608 (names from the models)
        f" {columns(Product, 'p')} FROM {ChecklistItem._meta.db_table} i"
        f" JOIN {Checklist._meta.db_table} c ON c.id = i.checklist_id"
        f" JOIN {Release._meta.db_table} r ON r.id = c.release_id"
        f" JOIN {Product._meta.db_table} p ON p.id = r.product_id"
        " WHERE i.id = %s AND p.slug = %s AND r.version = %s",
        [pk, product, version],
    )
    if row is None:
        raise Http404("No such checklist item.")
    a = width(ChecklistItem)
    b = a + width(Checklist)
    c = b + width(Release)
    item = instance(ChecklistItem, row[:a])
    item.checklist = instance(Checklist, row[a:b])
    release = item.checklist.release = instance(Release, row[b:c])
    release.product = instance(Product, row[c:])
    return item, release


def render_ticked(request: HtmxHttpRequest, release: Release, item: ChecklistItem) -> HttpResponse:
    """The row of an item just ticked (`item`: as the tick saved it, under its lock) and
    its section's count, out of band: one light query for the count and one for the
    item's defects, not the section's rows (issue 16: a tick is one small partial)."""
    defects = list(Defect.objects.filter(checklist_item_id=item.pk))
    may = _mark([item], lambda _item: defects, request, release)
    context = {
        "release": release,
        "item": item,
        "section": checklist_section_count(item),
        "outcomes": OUTCOMES,
        "severities": Severity.choices,
        "may": may,
        "oob": True,
    }
    html = render_to_string("checklists/checklist.html#item-and-count", context, request)
    response = HttpResponse(html)
    response["HX-Trigger"] = "checklist-changed"
    return response


@require_POST
@viewer_required
def checklist_item_tick_view(request: HtmxHttpRequest, product: str, version: str, pk: int) -> HttpResponse:
    item, release = _item_in(product, version, pk)
    if not can(request.user, Capability.TICK_ANY_ITEM, release.product):
        ensure_can(request.user, Capability.TICK_OWN_ITEM, release.product, role=item.owner_role)
    state = request.POST.get("state", "")
    try:
        ticked = checklist_item_tick(
            item=item,
            state=state,
            actor=request.user,
            note=request.POST.get("note", ""),
            evidence_url=request.POST.get("evidence_url", ""),
            expected_revision=int_or_none(request.POST.get("revision")),
        )
    except DomainError as error:
        if request.htmx:
            return render_item(request, release, item, status=error.status, error=error)
        messages.error(request, error.message)
        return redirect(checklist_url(release, f"item-{item.pk}"))
    if request.htmx:
        return render_ticked(request, release, ticked)
    messages.success(
        request,
        particles(_("“%(item)s” is marked %(state)s.") % {"item": item.title, "state": status_word(state)}),
    )
    return redirect(checklist_url(release, f"item-{item.pk}"))


@require_POST
@viewer_required
def checklist_undo_view(request: HtmxHttpRequest, product: str, version: str) -> HttpResponse:
    release = release_get(product, version)
    ensure_can(request.user, Capability.UNDO_TICK, release.product)
    try:
        item = checklist_tick_undo(release=release, actor=request.user)
    except DomainError as error:
        if request.htmx:
            return render_page(request, release, status=error.status, error=error)
        messages.error(request, error.message)
        return redirect(checklist_url(release))
    done = _("Your last tick is undone: “%(item)s” is %(state)s again.") % {
        "item": item.title,
        "state": status_word(item.state),
    }
    if request.htmx:
        response = render_page(request, release, notice=done)
        response["HX-Trigger"] = f'{{"checklist-undone": {{"item": "item-{item.pk}"}}}}'
        return response
    messages.success(request, done)
    return redirect(checklist_url(release, f"item-{item.pk}"))


@require_POST
@viewer_required
def defect_create_view(request: HtmxHttpRequest, product: str, version: str) -> HttpResponse:
    release = release_get(product, version)
    ensure_can(request.user, Capability.REPORT_DEFECT, release.product)
    item_id = int_or_none(request.POST.get("item"))
    item = _item_of(release, item_id) if item_id else None
    try:
        defect = defect_report(
            release=release,
            title=request.POST.get("title", ""),
            severity=request.POST.get("severity", ""),
            tracker_url=request.POST.get("tracker_url", ""),
            checklist_item=item,
            actor=request.user,
        )
    except DomainError as error:
        if request.htmx and item is not None:
            return render_item(request, release, item, status=error.status, error=error)
        messages.error(request, error.message)
        return redirect(checklist_url(release, f"item-{item.pk}" if item else "defects"))
    done = _("Defect recorded: %(title)s (%(severity)s).") % {
        "title": defect.title,
        "severity": Severity(defect.severity).label,
    }
    if request.htmx and item is not None:
        return render_item(request, release, item, notice=done)
    messages.success(request, done)
    return redirect(checklist_url(release, f"item-{item.pk}" if item else "defects"))


def _defect_action(request: HtmxHttpRequest, pk: int, action: Any, done: str, **fields: str) -> HttpResponse:
    defect = get_object_or_404(Defect.objects.select_related("release__product"), pk=pk)
    release = defect.release
    ensure_can(request.user, Capability.RESOLVE_DEFECT, release.product)
    try:
        action(defect=defect, actor=request.user, **fields)
    except DomainError as error:
        if request.htmx:
            return render_page(request, release, status=error.status, error=error)
        messages.error(request, error.message)
        return redirect(checklist_url(release, "defects"))
    if request.htmx:
        response = render_page(request, release, notice=done % {"title": defect.title})
        response["HX-Trigger"] = "checklist-changed"
        return response
    messages.success(request, done % {"title": defect.title})
    return redirect(checklist_url(release, "defects"))


@require_POST
@viewer_required
def defect_resolve_view(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Resolve with how it was resolved (`resolution`: required for a critical defect)."""
    return _defect_action(
        request, pk, defect_resolve, _("Resolved: %(title)s."), resolution=request.POST.get("resolution", "")
    )


@require_POST
@viewer_required
def defect_reopen_view(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _defect_action(request, pk, defect_reopen, _("Reopened: %(title)s."))


def report_columns() -> list[str]:
    """The CSV's headings, in the viewer's language (as the Markdown report's)."""
    return [
        _("Section"),
        _("Item"),
        _("Core"),
        _("Outcome"),
        _("By"),
        _("When"),
        _("Note"),
        _("Evidence"),
        _("Defects"),
    ]


def report_rows(page: ReleaseChecklist) -> list[dict[str, str]]:
    """One row per item, in the viewer's language: the words the checklist page shows."""
    columns = report_columns()
    rows = []
    for section in page.sections:
        for item in section.items:
            defects = page.defects_for(item)
            values = [
                _(section.title) if section.title else "",
                _(item.title) if item.title else "",
                _("yes") if item.core else "",
                status_word(item.state),
                item.ticked_by.get_username() if item.ticked_by else "",
                timezone.localtime(item.ticked_at).strftime("%Y-%m-%d %H:%M") if item.ticked_at else "",
                item.note,
                item.evidence_url,
                "; ".join(
                    f"{Severity(d.severity).label}: {d.title} ({DefectState(d.state).label})" for d in defects
                ),
            ]
            rows.append(dict(zip(columns, values, strict=True)))
    return rows


@require_GET
@viewer_required
def checklist_report(request: HtmxHttpRequest, product: str, version: str, fmt: str) -> HttpResponse:
    """The regression report: each item's outcome, who and when, by section, and the
    defects, as Markdown or CSV."""
    release = release_get(product, version)
    ensure_can(request.user, Capability.VIEW, release.product)
    page = release_checklist(release)
    rows = report_rows(page)
    filename = f"regression-{release.product.slug}-{release.version}.{fmt}"
    if fmt == "csv":
        return csv_download(rows, report_columns(), filename)
    text = render(
        request,
        "checklists/report.md",
        {"release": release, "page": page, "rows": rows, "now": timezone.localtime()},
    ).content
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_http_methods(["GET", "POST"])
@viewer_required
def checklist_template_update_view(
    request: HtmxHttpRequest, product: str, version: str, pk: int
) -> HttpResponse:
    """What the template changed since the copy was made; applying it needs QA or PM/PO."""
    release = release_get(product, version)
    ensure_can(request.user, Capability.VIEW, release.product)
    checklist = get_object_or_404(Checklist.objects.select_related("template"), pk=pk, release=release)
    if request.method == "POST":
        ensure_can(request.user, Capability.UPDATE_CHECKLIST_FROM_TEMPLATE, release.product)
        try:
            checklist_update_from_template(checklist=checklist, actor=request.user)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The checklist now follows its template; outcomes are unchanged."))
        return redirect(checklist_url(release))
    changes = checklist_template_changes(checklist)
    return render(
        request,
        "checklists/template_update.html",
        {
            "release": release,
            "checklist": checklist,
            "changes": changes,
            "checklist_url": checklist_url(release),
            "may": may_do(request.user, release.product),
        },
    )


@require_POST
@viewer_required
def programme_item_approve_view(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Approve (or take back) one programme setup check: only its approving role, held for
    every product the programme covers."""
    item = get_object_or_404(
        ChecklistItem.objects.select_related("checklist__template"), pk=pk, checklist__release__isnull=True
    )
    if item.owner_role not in programme_approver_roles(request.user, item.checklist):
        raise PermissionDenied("This check needs its role for every product the programme covers.")
    state = ItemState.PASSED if request.POST.get("state", "passed") == "passed" else ItemState.OPEN
    try:
        checklist_item_tick(
            item=item,
            state=state,
            actor=request.user,
            expected_revision=int_or_none(request.POST.get("revision")),
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("“%(item)s” is approved.") % {"item": item.title}
            if state == ItemState.PASSED
            else _("Approval taken back."),
        )
    return redirect(reverse("board:dashboard") + "#programme")
