"""Live-update events for the database bus (used when no Redis is configured).

Short-lived rows: the beat task prunes them. With REDIS_URL set, events go through Redis
pub/sub instead and this table stays empty.
"""

from __future__ import annotations

from django.db import models


class LiveEvent(models.Model):
    topic = models.CharField(max_length=64, db_index=True)
    panels = models.JSONField(default=list)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.topic}: {','.join(self.panels)}"
