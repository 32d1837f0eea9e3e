"""API tokens: issued for one product's pipelines, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record
from core.errors import NotAllowed, RuleViolation
from core.rows import columns, fetch_one, instance, width
from releases.models import Product

from .models import ApiToken, TokenScope

TOKEN_PREFIX = "gng_"


def _token_hash(raw: str) -> str:
    # Tokens carry 256 random bits: a plain SHA-256 is enough to make a stolen table useless.
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def token_issue(
    *, name: str, product: Product, scopes: Iterable[str], actor: Any = None
) -> tuple[ApiToken, str]:
    """Create a token for one product's pipelines. Returns the token row and the raw
    token, which is never stored and cannot be shown again."""
    name = (name or "").strip()
    if not name:
        raise RuleViolation("name_required", _("Give the token a name."), field="name")
    scopes = list(dict.fromkeys(s.strip() for s in scopes if s.strip()))
    unknown = [s for s in scopes if s not in TokenScope.values]
    if unknown or not scopes:
        raise RuleViolation(
            "scope_invalid",
            _("Scopes must be some of: %(choices)s.") % {"choices": ", ".join(TokenScope.values)},
            field="scope",
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name[:100],
        product=product,
        scopes=scopes,
        prefix=raw[:12],
        token_hash=_token_hash(raw),
        created_at=timezone.now(),
    )
    audit_record(
        actor=actor, action="api_token.issue", obj=token, after={"scopes": scopes, "product": product.slug}
    )
    return token, raw


def token_product(token: ApiToken, slug: str) -> Product:
    """The token's product, when `slug` names it. Any other slug, another product's or one
    that names no product, gets the same refusal (NotAllowed `token_product`, the same
    words): a token never learns which other products exist."""
    if slug != token.product.slug:
        raise NotAllowed(
            "token_product",
            _("This token is for product %(token)s; ask for a token for the product you named.")
            % {"token": token.product.slug},
            field="product",
        )
    return token.product


def token_authenticate(raw: str) -> ApiToken | None:
    """The live token `raw` stands for, or None. Notes its last use (at most once a minute)."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    # As SQL (core.rows): every API call and every CI result asks it first.
    row = fetch_one(
        f"SELECT {columns(ApiToken, 't')}, {columns(Product, 'p')} FROM {ApiToken._meta.db_table} t "  # noqa: S608 (names from the models)
        f"JOIN {Product._meta.db_table} p ON p.id = t.product_id WHERE t.token_hash = %s AND t.revoked_at IS NULL",
        [_token_hash(raw)],
    )
    if row is None:
        return None
    token = instance(ApiToken, row[: width(ApiToken)])
    token.product = instance(Product, row[width(ApiToken) :])
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
