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
from django.utils.safestring import SafeString, mark_safe

from core.panel_cache import CSRF_PLACEHOLDER, cache_get, cache_put
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


@register.tag("panel_cache")
def panel_cache(parser: template.base.Parser, token: template.base.Token) -> PanelCacheNode:
    """`{% panel_cache "gates" %}…{% endpanel_cache %}` around a live panel: its HTML from
    the cache when the view gave a `panel_scope` (core/panel_cache.py), else rendered.
    `{% panel_cache "waivers" per_person %}` for a panel that names the viewer."""
    bits = token.split_contents()
    if len(bits) not in (2, 3) or (len(bits) == 3 and bits[2] != "per_person"):
        raise template.TemplateSyntaxError('usage: {% panel_cache "name" [per_person] %}')
    name = bits[1].strip("\"'")
    if name not in PANELS:
        raise template.TemplateSyntaxError(f"{name!r} is not a live panel: see live.services.PANELS_FOR")
    nodelist = parser.parse(("endpanel_cache",))
    parser.delete_first_token()
    return PanelCacheNode(nodelist, name, per_person=len(bits) == 3)


class PanelCacheNode(template.Node):
    def __init__(self, nodelist: template.NodeList, name: str, *, per_person: bool) -> None:
        self.nodelist, self.name, self.per_person = nodelist, name, per_person

    def render(self, context: template.Context) -> str:
        scope = context.get("panel_scope")
        if scope is None:
            return self.nodelist.render(context)
        key = scope.key(self.name, per_person=self.per_person)
        token = str(context.get("csrf_token") or "")
        if token == "NOTPROVIDED":
            token = ""
        cached = cache_get(key)
        if cached is not None:
            return mark_safe(cached.replace(CSRF_PLACEHOLDER, token))  # noqa: S308 (our own render)
        html = self.nodelist.render(context)
        cache_put(key, html.replace(token, CSRF_PLACEHOLDER) if token else html)
        return html
