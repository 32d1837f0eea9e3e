"""Where Slack is and the app's secrets, from the environment only (docs/slack.md).

The names are not settings (gonogo/settings.py does not read them): they are secrets for
an integration, read through `core.secrets.secret_from_env` like every other one.
"""

from __future__ import annotations

import os

from core.secrets import secret_from_env

BOT_TOKEN_ENV = "GONOGO_SLACK_BOT_TOKEN"
SIGNING_SECRET_ENV = "GONOGO_SLACK_SIGNING_SECRET"
API_URL_ENV = "GONOGO_SLACK_API_URL"
DEFAULT_API_URL = "https://slack.com/api"


def bot_token() -> str:
    return secret_from_env(BOT_TOKEN_ENV, owner="slack")


def signing_secret() -> str:
    return secret_from_env(SIGNING_SECRET_ENV, owner="slack")


def api_url() -> str:
    return (os.environ.get(API_URL_ENV, "") or DEFAULT_API_URL).rstrip("/")
