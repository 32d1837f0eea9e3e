"""`python manage.py apply_policy FILE.toml [--check]` (CONTRACT §1, §5)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from core.errors import DomainError
from policy.schema import PolicyError, policy_load
from policy.services import policy_apply


class Command(BaseCommand):
    help = (
        "Create or update products, gates, checklist templates, integrations and channels from a policy file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the policy file (TOML)")
        parser.add_argument("--check", action="store_true", help="only validate; change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["file"]
        try:
            policy = policy_load(path)
        except PolicyError as exc:
            self.stderr.write(exc.render())
            raise CommandError(
                f"{path}: refused, nothing was changed ({len(exc.problems)} problem(s))", returncode=1
            ) from exc
        if options["check"]:
            self.stdout.write(f"{path}: valid")
            return
        try:
            changes = policy_apply(policy, actor_label=f"policy:{path}"[:150])
        except (DatabaseError, DomainError) as exc:
            self.stderr.write(f"{path}: {exc}")
            raise CommandError(f"{path}: refused, nothing was changed", returncode=1) from exc
        for line in changes:
            self.stdout.write(line)
        self.stdout.write(f"{path}: {len(changes)} change(s)" if changes else f"{path}: no changes")
