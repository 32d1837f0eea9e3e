"""Filters for the Markdown exports (`{% load md_export %}`): user text escaped so a
viewer rendering Markdown or HTML shows it as text (core.markdown)."""

from __future__ import annotations

from django import template

from core import markdown

register = template.Library()
# The exports are rendered with autoescape off: these filters are their only escaping.


@register.filter
def md(value: object) -> str:
    """Text inside one line or table cell."""
    return markdown.md_inline(value)


@register.filter
def md_block(value: object) -> str:
    """Text on lines of its own (notes)."""
    return markdown.md_block(value)


@register.filter
def md_link(label: object, url: object) -> str:
    """`[label](url)` for an http(s) URL, plain text otherwise."""
    return markdown.md_link(label, url)
