"""`python manage.py gate_states_rebuild` refolds every gate's kept state (gates.states) from
the results on record. Never needed in normal use (the writer keeps them); after restoring
results from a backup or importing them around the writer. Running it again changes nothing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from gates.states import states_rebuild


class Command(BaseCommand):
    help = "Refold every gate's current state from its results."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            written = states_rebuild()
        self.stdout.write(f"{written} gate states refolded from their results.")
