"""htmx plumbing shared by every page.

A page is made of panels, each a named fragment of the page's template whose id is the
panel's name. An htmx request names the panel it will replace (its HX-Target); the view
then renders only that fragment, from the same template and context as the whole page.

A refused action answers with the panel and its reason and a 4xx status (400, 403, 409):
the `responseHandling` in templates/base.html has htmx swap those in. Django's own error
pages (a 400, a 403, a failed CSRF check) are not swapped into the panel that asked.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .http import HtmxHttpRequest

# The statuses of a refused action (core.errors): htmx swaps them in. templates/base.html's
# htmx-config lists the same statuses: change both together (tests/test_htmx.py checks).
REFUSAL_STATUSES = (400, 403, 409)
# HX-Reswap for an error page answering htmx: nothing is swapped, the title is kept.
NO_SWAP = "none ignoreTitle:true"


def htmx_target(request: HtmxHttpRequest) -> str | None:
    """The id of the element an htmx request will replace (its HX-Target), if any."""
    return request.htmx.target if request.htmx else None


def target_panel(request: HtmxHttpRequest, panels: Collection[str]) -> str | None:
    """The panel an htmx request targets, when it is one of `panels`."""
    target = htmx_target(request)
    return target if target is not None and target in panels else None


def panel_template(
    request: HtmxHttpRequest, template: str, panels: Collection[str] | Mapping[str, str]
) -> str:
    """`template`, or for htmx the fragment of the panel the request targets: `template#panel`,
    or `panels[panel]#panel` when `panels` maps each panel to the template that holds it."""
    panel = target_panel(request, panels)
    if panel is None:
        return template
    holder = panels[panel] if isinstance(panels, Mapping) else template
    return f"{holder}#{panel}"


def render_panel(
    request: HtmxHttpRequest,
    template: str,
    panels: Collection[str] | Mapping[str, str],
    context: dict[str, Any],
    *,
    status: int = 200,
) -> HttpResponse:
    """The whole page, or for htmx the one panel the request targets (see `panel_template`)."""
    return render(request, panel_template(request, template, panels), context, status=status)


def not_swapped(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """An error page answering htmx leaves the page as it is (a refusal's panel is swapped in
    with the same status, see the module docstring)."""
    if request.headers.get("HX-Request"):
        response["HX-Reswap"] = NO_SWAP
    return response
