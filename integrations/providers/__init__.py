"""CI providers, one module each, behind the interface in `base.py`.

`WEBHOOKS` lists the providers that push deliveries; `POLLERS` those the beat task asks.
"""

from __future__ import annotations

from . import github, gitlab, jenkins
from .base import PollingProvider, WebhookProvider

WEBHOOKS: dict[str, WebhookProvider] = {"github": github, "gitlab": gitlab}
POLLERS: dict[str, PollingProvider] = {"github": github, "gitlab": gitlab, "jenkins": jenkins}
