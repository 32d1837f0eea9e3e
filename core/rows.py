"""Model instances from SQL written by hand, for the few reads on the hottest paths (every
result POST, every board re-fetch; issue 16). The ORM's compiling of a query costs about
three times the query itself there; these reads are fixed, so they are written once as
SQL, and their rows become ordinary instances with every field converted as the ORM
would convert it (JSON, dates), so the code after them cannot tell the difference."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Model


def columns(model: type[Model], alias: str) -> str:
    """The select list of every concrete column of `model`, as `alias`.column."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(field.column or field.name)}" for field in model._meta.concrete_fields)


def width(model: type[Model]) -> int:
    return len(model._meta.concrete_fields)


def instance[M: Model](model: type[M], values: tuple[Any, ...] | list[Any]) -> M:
    """An instance of `model` from the values of `columns(model, …)`, converted as the
    ORM converts them (each field's `from_db_value`, the backend's converters)."""
    fields = model._meta.concrete_fields
    converted = []
    for field, value in zip(fields, values, strict=True):
        column = field.cached_col
        for converter in (*connection.ops.get_db_converters(column), *field.get_db_converters(connection)):
            value = converter(value, column, connection)
        converted.append(value)
    return model.from_db(connection.alias, [field.attname for field in fields], converted)


def fetch_one(sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()
