"""`python manage.py issue_token NAME --product SLUG [--scope results,verdict,metrics]`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import DomainError
from integrations.tokens import token_issue
from releases.models import Product


class Command(BaseCommand):
    help = (
        "Create an API token for one product's pipelines and print it once. Only its hash is "
        "stored; revoke it in the admin (API tokens)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="What the token is for, e.g. 'github-actions ios'.")
        parser.add_argument("--product", required=True, help="Product slug, e.g. ios-app.")
        parser.add_argument(
            "--scope",
            default="results,verdict",
            help="Comma-separated: results (report results and releases), verdict (read releases "
            "and verdicts), metrics (post rollout health). Default: results,verdict.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        product = Product.objects.filter(slug=options["product"]).first()
        if product is None:
            known = ", ".join(Product.objects.values_list("slug", flat=True)) or "none yet"
            raise CommandError(f"No product “{options['product']}”. Known products: {known}.")
        try:
            token, raw = token_issue(
                name=options["name"], product=product, scopes=options["scope"].split(","), actor=None
            )
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stderr.write(
            f"Token “{token.name}” for {product.slug} with scopes {', '.join(token.scopes)}. "
            "It is shown only now; store it as a CI secret (GONOGO_TOKEN)."
        )
        self.stdout.write(raw)
