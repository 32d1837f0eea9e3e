"""Request types and responses shared by the views."""

import csv
import io
from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse
from django_htmx.middleware import HtmxDetails

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class HtmxHttpRequest(HttpRequest):
    """A request that went through django-htmx's middleware (every request does), from a
    signed-in user: the views that take one are behind `viewer_required`."""

    htmx: HtmxDetails
    user: "User"


def csv_download(rows: list[dict[str, str]], fieldnames: list[str], filename: str) -> HttpResponse:
    """Rows as a CSV attachment a spreadsheet opens in UTF-8 (with a byte-order mark). A
    cell a spreadsheet would run as a formula is written as text."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fieldnames)
    writer.writeheader()
    writer.writerows(
        {k: "'" + v if v[:1] in ("=", "+", "-", "@", "\t", "\r") else v for k, v in row.items()}
        for row in rows
    )
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def int_or_none(raw: str | None) -> int | None:
    """A form field's whole number, or None when it is empty or not one."""
    try:
        return int(raw) if raw not in (None, "") else None
    except ValueError:
        return None
