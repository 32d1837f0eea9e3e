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

from core.panel_cache import CSRF_PLACEHOLDER, cache_put, render_once, with_token
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
    the cache when the view gave a `panel_scope` (core/panel_cache.py), else rendered."""
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError('usage: {% panel_cache "name" %}')
    name = bits[1].strip("\"'")
    if name not in PANELS:
        raise template.TemplateSyntaxError(f"{name!r} is not a live panel: see live.services.PANELS_FOR")
    nodelist = parser.parse(("endpanel_cache",))
    parser.delete_first_token()
    return PanelCacheNode(nodelist, name)


class PanelCacheNode(template.Node):
    def __init__(self, nodelist: template.NodeList, name: str) -> None:
        self.nodelist, self.name = nodelist, name

    def render(self, context: template.Context) -> str:
        scope = context.get("panel_scope")
        if scope is None:
            return self.nodelist.render(context)
        key = scope.key(self.name)
        token = str(context.get("csrf_token") or "")
        if token == "NOTPROVIDED":
            token = ""

        def render() -> str:  # the form kept: the viewer's CSRF token taken out
            html = self.nodelist.render(context)
            kept = html.replace(token, CSRF_PLACEHOLDER) if token else html
            cache_put(key, scope.entry(kept))
            return kept

        kept = scope.cached(self.name)
        if kept is None:
            kept = render_once(scope, key, render)
        if kept is None:  # another viewer's render of it took too long: render it here
            return self.nodelist.render(context)
        return mark_safe(with_token(kept, token))  # noqa: S308 (our own render)
