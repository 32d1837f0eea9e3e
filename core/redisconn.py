"""The process's one synchronous Redis connection (REDIS_URL): the live bus, the inbox's
drain mark and the panel cache share it."""

from __future__ import annotations

from typing import Any

from django.conf import settings

_sync_client: Any = None


def redis_client() -> Any:
    global _sync_client
    if _sync_client is None:
        import redis

        _sync_client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
    return _sync_client
