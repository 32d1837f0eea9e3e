"""POST /api/v1/results: a token's result for its product's gate, applied at once, or
kept in the inbox when its release does not exist yet."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from core.errors import NotFound
from integrations.apply import gate_of
from integrations.inbox import delivery_receive
from integrations.models import ApiToken, DeliverySource, DeliveryState
from integrations.results import Reported, apply_result, release_by_version, result_fields
from integrations.tokens import token_product
from releases.lifecycle import version_validate
from releases.models import Product


def result_report(*, token: ApiToken, data: Mapping[str, Any], raw_body: bytes) -> Reported:
    """POST /api/v1/results. A product other than the token's (known or not) → NotAllowed
    `token_product`; an unknown gate → NotFound; an unknown release → NotFound `unknown_release`, with the body
    kept and applied once the release is created."""
    clean = result_fields(data)
    product = token_product(token, clean["product"])
    gate = gate_of(product, clean["gate"])
    if gate is None:
        raise NotFound(
            "unknown_gate",
            _("%(p)s has no gate “%(g)s”.") % {"p": product.slug, "g": clean["gate"]},
            field="gate",
        )
    label = f"token:{token.name}"
    release = release_by_version(product, clean["version"])
    if release is None:
        version_validate(clean["version"])  # a version that can never exist is refused, not kept
        with transaction.atomic():
            # Serialise with release_create (it locks the product): either the release is
            # visible now, or its replay will see this result waiting.
            Product.objects.select_for_update().filter(pk=product.pk).values_list("pk").get()
            release = release_by_version(product, clean["version"])
            if release is None:
                delivery_receive(
                    source=DeliverySource.API,
                    product=product,
                    body=raw_body,
                    event="result",
                    headers={"token": label, "token_id": str(token.pk)},
                    state=DeliveryState.WAITING,
                    version=clean["version"],
                )
        if release is None:
            raise NotFound(
                "unknown_release",
                _(
                    "%(p)s has no release %(v)s yet. The result is kept and applied when the release is created."
                )
                % {"p": product.slug, "v": clean["version"]},
                field="version",
            )
    return apply_result(release=release, gate=gate, clean=clean, label=label)
