"""WSGI entry point, for hosts that cannot run ASGI."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gonogo.settings")

application = get_wsgi_application()
