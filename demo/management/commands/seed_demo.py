"""`python manage.py seed_demo`: idempotent demo data (CONTRACT §2)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from demo.seed import seed_demo


class Command(BaseCommand):
    help = "Create the demo users, products, gates, checklists and releases (safe to run twice)."

    def handle(self, *args: Any, **options: Any) -> None:
        done = seed_demo()
        for line in done:
            self.stdout.write(line)
        self.stdout.write(f"seed_demo: {len(done)} change(s)" if done else "seed_demo: no changes")
