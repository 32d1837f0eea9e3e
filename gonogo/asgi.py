"""ASGI entry point: the production and `make run` server (uvicorn / gunicorn)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gonogo.settings")

application = get_asgi_application()
