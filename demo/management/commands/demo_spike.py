"""`python manage.py demo_spike <version> on|off`: the demo Prometheus (DEBUG only)
answers an error rate of 9 % and a p95 latency of 1,450 ms for that version, or stops."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.monitoring import spike_set


class Command(BaseCommand):
    help = "Make the demo Prometheus answer out of bounds for a version (on), or stop (off)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("version", help="for example 1.12.0")
        parser.add_argument("state", choices=["on", "off"])

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("The demo Prometheus runs only with DEBUG on (make run).")
        spike_set(options["version"], options["state"] == "on")
        self.stdout.write(f"demo Prometheus: {options['version']} spike {options['state']}")
