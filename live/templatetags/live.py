"""The attributes of a live panel: the one place its name becomes its id and its event.

    <section {% live_panel "gates" board_url %} class="panel">

A panel is re-fetched (its own fragment, from `url`) when the page's live stream names it:
static/js/live.js turns each name of a `panels` message into the event `panel-<name>` on
the body (as a response's HX-Trigger could), once the panel's refresh in flight, if any,
has landed.
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from live.services import DASHBOARD_PANELS, RELEASE_PANELS, REVIEW_PANELS

register = template.Library()

PANELS = RELEASE_PANELS | frozenset(DASHBOARD_PANELS) | REVIEW_PANELS
PANEL_EVENT = "panel-{}"  # static/js/live.js sends it


@register.simple_tag
def live_panel(name: str, url: str, also: str = "") -> SafeString:
    """`id`, `hx-get` and `hx-trigger` of panel `name`; `also` adds triggers of its own."""
    if name not in PANELS:
        raise template.TemplateSyntaxError(f"{name!r} is not a live panel: see live.services.PANELS_FOR")
    triggers = [f"{PANEL_EVENT.format(name)} from:body"]
    return format_html(
        'id="{}" data-live-panel hx-get="{}" hx-trigger="{}" hx-swap="outerHTML"',
        name,
        url,
        ", ".join([*triggers, also] if also else triggers),
    )
