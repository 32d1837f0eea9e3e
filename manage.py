#!/usr/bin/env python
"""Django's command-line utility for administrative tasks.

On a server, run it in the app's environment (`docker compose run --rm web python
manage.py …`). On your machine, `make manage ARGS="…"` runs it as `make run` does. A setting
missing for production (SECRET_KEY while DEBUG is off) stops it with one line saying so,
never a traceback, and never by falling back to a development key.
"""

import os
import sys

LOCAL_HINT = (
    'On your machine, run `make manage ARGS="…"` (manage.py with make run\'s environment: '
    "DEBUG on, the .venv); on a server, run it where the app's variables are set (docs/running.md)."
)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gonogo.settings")
    try:
        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured
        from django.core.management import execute_from_command_line
    except ModuleNotFoundError as error:
        if error.name != "django":
            raise
        sys.exit(f"manage.py: Django is not installed for {sys.executable}. {LOCAL_HINT}")
    try:
        settings.INSTALLED_APPS  # noqa: B018 (reads gonogo/settings.py, which checks the environment)
    except ImproperlyConfigured as error:
        sys.exit(f"manage.py: {error}\n{LOCAL_HINT}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
