"""Go/No-Go: the project package (settings, urls, the Celery app, ASGI/WSGI)."""

from .celery import app as celery_app

__all__ = ("celery_app",)
